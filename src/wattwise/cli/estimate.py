"""``wattwise estimate``: train | finetune | infer | hardware list | hardware show NAME.

Registered on the main parser by :func:`register`. Each handler returns an exit code: 0 on
success, 2 on bad input (one line on stderr, never a traceback), 1 on a data error.
Sizes accept SI suffixes: ``7B`` = 7e9, ``1.4T`` = 1.4e12, ``500M``, ``8k``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wattwise import jsonsafe
from wattwise.argtypes import number, whole
from wattwise.errors import ConfigError, WattwiseError
from wattwise.estimate.types import Assumption, Band, EstimateContext, context_from_numbers

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

#: Site flags resolved through wattwise.accounting (argparse dest -> accounting setting name).
_SITE_FLAGS = {
    "country": "country",
    "region": "region",
    "cloud": "cloud",
    "cloud_region": "cloud_region",
    "cooling": "cooling",
    "cfe": "cfe",
    "year": "year",
    "pue": "pue",
    "grid_intensity": "intensity_g_per_kwh",
    "market_intensity": "supplier_factor_g_per_kwh",
    "price": "price_per_kwh",
    "currency": "currency",
}
_PLACE_FLAGS = ("country", "region", "cloud", "cloud_region", "cooling", "cfe", "year")


def quantity(text: str) -> float:
    """A number with an optional SI suffix (k, M, B/G, T, P): ``7B`` -> 7e9 (finite, >= 0)."""
    return _QUANTITY(text)


_QUANTITY = number(low=0.0, si=True)


def _size(high: float, *, positive: bool = True) -> Any:
    """A size flag (SI suffixes) within (0, ``high``] (``positive=False``: [0, ``high``])."""
    return number(low=0.0, low_inclusive=not positive, high=high, si=True)


def _fraction() -> Any:
    """A fraction flag within (0, 1]."""
    return number(low=0.0, low_inclusive=False, high=1.0)


# Plausible bounds per quantity: far beyond any real run, far below overflow.
MAX_PARAMS = 1e15  # 1,000 x the largest published dense models
MAX_TOKENS = 1e17  # ~1,000 x the largest published pre-training corpora
MAX_FLOPS = 1e30
MAX_CHIPS = 10_000_000
MAX_POWER_W = 5_000.0  # per accelerator: a GB200 superchip draws ~2.7 kW
MAX_PRICE = 100_000.0  # per kWh, in any currency (KRW, IDR included)

def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``estimate`` with its sub-commands to the main parser's sub-parsers."""
    p = subparsers.add_parser(
        "estimate",
        help="estimate training, fine-tuning or serving energy, carbon and cost before running",
        description="Estimate energy, carbon and cost before a run. Sizes accept 7B, 1.4T, 500M.",
    )
    sub = p.add_subparsers(dest="estimate_command", metavar="WHAT")
    p.set_defaults(handler=lambda a: _usage(p))

    train = sub.add_parser("train", help="pre-training from params x tokens, FLOPs or chip-hours")
    _common(train)
    _training_opts(train)
    train.set_defaults(handler=handle_train)

    ft = sub.add_parser("finetune", help="full, LoRA or QLoRA fine-tuning, and its saving")
    _common(ft)
    _training_opts(ft)
    ft.add_argument(
        "--method",
        choices=("full", "lora", "qlora"),
        default=None,
        help="fine-tuning method (default lora, recorded as assumed)",
    )
    ft.add_argument(
        "--scratch-tokens",
        type=_size(MAX_TOKENS),
        metavar="N",
        help="tokens of the from-scratch comparison (default 20 x params)",
    )
    ft.set_defaults(handler=handle_finetune)

    inf = sub.add_parser("infer", help="serving: per request, per 1k tokens, per day and year")
    _common(inf)
    inf.add_argument("--input-tokens", type=_size(1e9, positive=False), required=True, metavar="N")
    inf.add_argument("--output-tokens", type=_size(1e9, positive=False), required=True, metavar="N")
    inf.add_argument(
        "--requests-per-day", type=_size(1e13, positive=False), default=0.0, metavar="N"
    )
    inf.add_argument(
        "--batch-size",
        type=whole(low=1, high=1_000_000, si=True),
        default=None,
        metavar="N",
        help="sequences decoded together (default 16)",
    )
    inf.add_argument("--mfu", type=_fraction(), help="prefill MFU in (0, 1] (default 0.45)")
    inf.add_argument(
        "--bandwidth-efficiency",
        type=_fraction(),
        metavar="F",
        help="achieved fraction of peak memory bandwidth in decode (default 0.3)",
    )
    inf.add_argument("--kv-bytes-per-token", type=_size(1e10), metavar="B")
    inf.add_argument(
        "--weight-bytes-per-param",
        type=number(low=0.0, low_inclusive=False, high=16.0),
        metavar="B",
        help="e.g. 0.5 for 4-bit weights (default from --precision)",
    )
    inf.add_argument(
        "--always-on", action="store_true", help="replicas run 24 h/day: count their idle power"
    )
    inf.add_argument(
        "--training-tokens",
        type=_size(MAX_TOKENS),
        metavar="N",
        help="estimate training on these tokens for the break-even day",
    )
    inf.add_argument(
        "--training-energy-kwh",
        type=_size(1e12, positive=False),
        metavar="KWH",
        help="known training facility energy for the break-even day",
    )
    inf.set_defaults(handler=handle_infer)

    hw = sub.add_parser("hardware", help="the accelerator catalog")
    hws = hw.add_subparsers(dest="hardware_command", metavar="list|show")
    hw.set_defaults(handler=lambda a: _usage(hw))
    ls = hws.add_parser("list", help="list accelerators")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=handle_hardware_list)
    show = hws.add_parser("show", help="show one accelerator")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=handle_hardware_show)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return EXIT_USAGE


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", required=True, help="accelerator (see 'estimate hardware list')")
    p.add_argument(
        "--chips",
        type=whole(low=1, high=MAX_CHIPS, si=True),
        metavar="N",
        help="number of accelerators",
    )
    p.add_argument(
        "--params", type=_size(MAX_PARAMS), metavar="N", help="total parameters (7B, 70e9)"
    )
    p.add_argument(
        "--active-params",
        type=_size(MAX_PARAMS),
        metavar="N",
        help="parameters active per token (mixture-of-experts)",
    )
    p.add_argument(
        "--precision", default="bf16", choices=("fp32", "tf32", "bf16", "fp16", "fp8", "int8")
    )
    p.add_argument(
        "--power-basis",
        choices=("tdp", "measured", "utilisation"),
        help="per-chip power: TDP, a measured average (--power-w) or the "
        "utilisation model (default)",
    )
    p.add_argument(
        "--power-w",
        type=number(low=0.0, low_inclusive=False, high=MAX_POWER_W),
        metavar="W",
        help="measured average power per chip (implies --power-basis measured)",
    )
    site = p.add_argument_group("site (PUE, grid, price)")
    site.add_argument("--pue", type=number(low=1.0, high=3.0), help="facility PUE (1.0-3.0)")
    site.add_argument(
        "--grid-intensity",
        type=number(low=0.0, high=1200.0),
        metavar="G",
        help="location-based grid intensity, gCO2e/kWh",
    )
    site.add_argument(
        "--market-intensity",
        type=number(low=0.0, high=1200.0),
        metavar="G",
        help="market-based (supplier) intensity, gCO2e/kWh",
    )
    site.add_argument(
        "--price", type=number(low=0.0, high=MAX_PRICE), help="electricity price per kWh"
    )
    site.add_argument("--currency", help="ISO 4217 currency of --price (default USD)")
    site.add_argument("--country", help="country code or name (grid, price)")
    site.add_argument("--region", help="sub-national grid: US-CA, SE3, ...")
    site.add_argument("--cloud", help="aws, azure or gcp")
    site.add_argument("--cloud-region", help="provider's region name, e.g. us-central1")
    site.add_argument("--cooling", help="PUE preset by cooling type")
    site.add_argument(
        "--cfe",
        type=number(low=0.0, high=1.0),
        help="contracted carbon-free fraction 0-1 (market)",
    )
    site.add_argument("--year", type=whole(low=1990, high=2100), help="data year to prefer")
    p.add_argument("--json", action="store_true", help="print JSON")


def _training_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokens", type=_size(MAX_TOKENS), metavar="N", help="training tokens (1.4T)")
    p.add_argument("--flops", type=_size(MAX_FLOPS), metavar="F", help="total training FLOPs")
    p.add_argument(
        "--chip-hours", type=_size(1e10), metavar="H", help="known accelerator-hours"
    )
    p.add_argument("--mfu", type=_fraction(), help="model FLOPs utilisation in (0, 1]")
    p.add_argument(
        "--cost-per-chip-hour",
        type=number(low=0.0, high=1e6),
        metavar="X",
        help="rental price per accelerator-hour, added to the cost",
    )


def site_context(args: argparse.Namespace) -> EstimateContext:
    """The site factors from the flags: through wattwise.accounting when it is installed."""
    flags = {dest: getattr(args, dest, None) for dest in _SITE_FLAGS}
    try:
        from wattwise.accounting.context import default_config_paths
        from wattwise.estimate.site import resolve_estimate_context
    except ImportError:
        used = [f"--{d.replace('_', '-')}" for d in _PLACE_FLAGS if flags[d] is not None]
        if used:
            raise ConfigError(
                f"{', '.join(used)} need wattwise.accounting, which is not available; "
                "give --pue, --grid-intensity and --price instead"
            ) from None
        return context_from_numbers(
            pue=flags["pue"],
            intensity_location_g_per_kwh=flags["grid_intensity"],
            intensity_market_g_per_kwh=flags["market_intensity"],
            price_per_kwh=flags["price"],
            currency=flags["currency"] or "USD",
        )
    mapped = {_SITE_FLAGS[k]: v for k, v in flags.items() if v is not None}
    return resolve_estimate_context(mapped, os.environ, default_config_paths(Path.cwd()))


def _run(args: argparse.Namespace, fn: Any) -> int:
    try:
        result = fn(args)
    except ConfigError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_USAGE
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_ERROR
    data = result.to_dict()
    if getattr(args, "json", False):
        jsonsafe.write(data)
    else:
        sys.stdout.write(render(data) + "\n")
    return EXIT_OK


def handle_train(args: argparse.Namespace) -> int:
    """``estimate train``."""
    from wattwise.estimate.training import estimate_training

    return _run(
        args,
        lambda a: estimate_training(
            hardware=a.hardware,
            params=a.params,
            active_params=a.active_params,
            tokens=a.tokens,
            flops=a.flops,
            chip_hours=a.chip_hours,
            chips=a.chips,
            mfu=a.mfu,
            precision=a.precision,
            power_basis=a.power_basis,
            power_w=a.power_w,
            context=site_context(a),
            cost_per_chip_hour=a.cost_per_chip_hour,
        ),
    )


def handle_finetune(args: argparse.Namespace) -> int:
    """``estimate finetune``."""
    from wattwise.estimate.training import estimate_finetune

    def go(a: argparse.Namespace) -> Any:
        if a.params is None:
            raise ConfigError("fine-tuning needs --params")
        return estimate_finetune(
            hardware=a.hardware,
            params=a.params,
            active_params=a.active_params,
            tokens=a.tokens,
            method=a.method,
            flops=a.flops,
            chip_hours=a.chip_hours,
            chips=a.chips,
            mfu=a.mfu,
            precision=a.precision,
            power_basis=a.power_basis,
            power_w=a.power_w,
            context=site_context(a),
            cost_per_chip_hour=a.cost_per_chip_hour,
            scratch_tokens=a.scratch_tokens,
        )

    return _run(args, go)


def handle_infer(args: argparse.Namespace) -> int:
    """``estimate infer``."""
    from wattwise.estimate.inference import estimate_inference
    from wattwise.estimate.training import estimate_training

    def go(a: argparse.Namespace) -> Any:
        if a.params is None:
            raise ConfigError("inference needs --params")
        ctx = site_context(a)
        training = None
        if a.training_tokens is not None:
            training = estimate_training(
                hardware=a.hardware,
                params=a.params,
                active_params=a.active_params,
                tokens=a.training_tokens,
                precision=a.precision,
                context=ctx,
            )
        return estimate_inference(
            hardware=a.hardware,
            params=a.params,
            active_params=a.active_params,
            input_tokens=a.input_tokens,
            output_tokens=a.output_tokens,
            requests_per_day=a.requests_per_day,
            chips=a.chips,
            batch_size=a.batch_size,  # None: the default, recorded as assumed
            precision=a.precision,
            weight_bytes_per_param=a.weight_bytes_per_param,
            kv_bytes_per_token=a.kv_bytes_per_token,
            mfu_prefill=a.mfu,
            bandwidth_efficiency=a.bandwidth_efficiency,
            power_basis=a.power_basis,
            power_w=a.power_w,
            context=ctx,
            always_on=a.always_on,
            training=training,
            training_energy_kwh=a.training_energy_kwh,
        )

    return _run(args, go)


def handle_hardware_list(args: argparse.Namespace) -> int:
    """``estimate hardware list``."""
    from wattwise.estimate.hardware import list_hardware

    accs = list_hardware()
    if args.json:
        jsonsafe.write([a.to_dict() for a in accs])
        return EXIT_OK
    head = f"{'name':<17} {'TDP W':>6} {'bf16 TF':>8} {'fp8 TF':>8} {'mem GB':>7} {'BW GB/s':>8}"
    lines = [head, "-" * len(head)]
    for a in accs:
        tdp = f"{a.tdp_w:g}" if a.tdp_w is not None else "-"
        fp8 = f"{a.peak_tflops['fp8']:g}" if "fp8" in a.peak_tflops else "-"
        bf16 = f"{a.peak_tflops['bf16']:g}" if "bf16" in a.peak_tflops else "-"
        lines.append(
            f"{a.name:<17} {tdp:>6} {bf16:>8} {fp8:>8} {a.memory_gb:>7g} {a.memory_bw_gb_s:>8g}"
        )
    lines.append("peaks are dense (no sparsity); 'estimate hardware show NAME' for sources")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def handle_hardware_show(args: argparse.Namespace) -> int:
    """``estimate hardware show NAME``."""
    from wattwise.estimate.hardware import get_hardware

    try:
        acc = get_hardware(args.name)
    except ConfigError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_USAGE
    data = acc.to_dict()
    if args.json:
        jsonsafe.write(data)
        return EXIT_OK
    lines = [f"{k:<20} {v}" for k, v in data.items()]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _fmt(b: dict[str, Any]) -> str:
    return f"{b['value']:.4g}  ({b['low']:.3g} - {b['high']:.3g})"


def render(data: dict[str, Any]) -> str:
    """Human-readable rendering of an estimate's dict."""
    lines = [f"{data['kind']} estimate: {data['chips']} x {data['hardware']}"]
    for key, val in data.items():
        if isinstance(val, dict) and {"value", "low", "high"} <= set(val):
            unit = f" {val['currency']}" if "currency" in val else ""
            lines.append(f"  {key:<28} {_fmt(val)}{unit}")
        elif isinstance(val, dict) and key in ("wh_per_request", "wh_per_1k_output_tokens"):
            for boundary, band in val.items():
                lines.append(f"  {key + ' [' + boundary + ']':<28} {_fmt(band)}")
        elif isinstance(val, dict) and key in ("daily", "yearly"):
            for name, band in val.items():
                unit = f" {band['currency']}" if band.get("currency") else ""  # money: currency
                lines.append(f"  {key + ' ' + name:<28} {_fmt(band)}{unit}")
    if data.get("breakeven_day") is not None:
        lines.append(f"  serving passes training energy on day {data['breakeven_day']}")
    lines.append("assumptions:")
    for a in data.get("assumptions", []):
        lines.append(f"  {a['name']} = {a['value']} {a['unit']} [{a['provenance']}] {a['source']}")
    return "\n".join(lines)


__all__ = [
    "Assumption",
    "Band",
    "handle_finetune",
    "handle_hardware_list",
    "handle_hardware_show",
    "handle_infer",
    "handle_train",
    "quantity",
    "register",
    "render",
    "site_context",
]
