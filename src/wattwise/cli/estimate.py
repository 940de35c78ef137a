"""``wattwise estimate``: train | finetune | infer | settings | hardware list | hardware show NAME.

Registered on the main parser by :func:`register`. The flags of ``train``, ``finetune`` and
``infer`` come from the one declarative table :data:`wattwise.estimate.settings.SETTINGS` (one
flag per entry, its dest the field it fills), and the handler builds the parameter objects from
it: nothing here names or renames a flag. Each handler returns an exit code: 0 on success, 2 on
bad input (one line on stderr, never a traceback), 1 on a data error. Sizes accept SI suffixes:
``7B`` = 7e9, ``1.4T`` = 1.4e12, ``500M``, ``8k``. Human output is formatted by
:mod:`wattwise.cli.estimate_render` (SI prefixes, grouped digits); ``--json`` keeps raw numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattwise import jsonsafe
from wattwise.argtypes import number
from wattwise.cli.estimate_compare import register_compare
from wattwise.cli.estimate_render import render
from wattwise.errors import ConfigError, WattwiseError

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.estimate.settings import EstimateSetting

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

#: The estimate sub-commands the settings table serves, with their one-line help.
COMMANDS: dict[str, str] = {
    "train": "pre-training from params x tokens, FLOPs or chip-hours",
    "finetune": "full, LoRA or QLoRA fine-tuning, and its saving",
    "infer": "serving: per request, per 1k tokens, per day and year",
    "image": "image generation (diffusion): Wh per image, FLOPs by term",
    "video": "video generation (diffusion): Wh per video, FLOPs by term",
}
_GROUPS = {"site": "site (PUE, grid, price)"}

_QUANTITY = number(low=0.0, si=True)


def quantity(text: str) -> float:
    """A number with an optional SI suffix (k, M, B/G, T, P): ``7B`` -> 7e9 (finite, >= 0)."""
    return _QUANTITY(text)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``estimate`` with its sub-commands to the main parser's sub-parsers."""
    p = subparsers.add_parser(
        "estimate",
        help="estimate training, fine-tuning or serving energy, carbon and cost before running",
        description="Estimate energy, carbon and cost before a run. Sizes accept 7B, 1.4T, 500M.",
    )
    sub = p.add_subparsers(dest="estimate_command", metavar="WHAT")
    p.set_defaults(handler=lambda a: _usage(p))
    for command, help_text in COMMANDS.items():
        cp = sub.add_parser(command, help=help_text, description=help_text)
        add_settings(cp, command)
        cp.add_argument("--json", action="store_true", help="print JSON (raw numbers)")
        cp.set_defaults(handler=handle_estimate)

    register_compare(sub)

    st = sub.add_parser("settings", help="every estimate flag: command, unit, default, help")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=handle_settings)

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
    from wattwise.cli.estimate_transfer import register as register_transfer  # issue 17

    register_transfer(sub)


def add_settings(p: argparse.ArgumentParser, command: str) -> None:
    """One option per entry of the settings table that ``command`` has (dest = its field)."""
    from wattwise.estimate.settings import settings_for

    groups: dict[str, Any] = {}
    for s in settings_for(command):
        target = p
        if s.group in _GROUPS:
            if s.group not in groups:
                groups[s.group] = p.add_argument_group(_GROUPS[s.group])
            target = groups[s.group]
        target.add_argument(*s.flags, dest=s.name, help=s.help_text, **_argument_kwargs(s, command))


def _argument_kwargs(s: EstimateSetting, command: str) -> dict[str, Any]:
    """argparse keywords of a setting: a switch, a choice, or a value with its converter."""
    if s.switch:  # a switch with no default is tri-state: --cfg / --no-cfg / not given
        action = argparse.BooleanOptionalAction if s.default is None else "store_true"
        return {"action": action, "default": s.default}
    kw: dict[str, Any] = {"default": s.default}
    if command in s.required:
        kw["required"] = True
    if s.choices:
        kw["choices"] = s.choices
    else:
        kw["metavar"] = s.metavar
    if s.parse is not None:
        kw["type"] = s.parse
    return kw


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return EXIT_USAGE


def run_estimate(args: argparse.Namespace) -> Any:
    """The estimate of ``args.estimate_command`` from its settings and the resolved site."""
    from wattwise.accounting.context import default_config_paths
    from wattwise.estimate.diffusion import diffusion_estimate
    from wattwise.estimate.load import serving_with_load
    from wattwise.estimate.settings import inputs_from, settings_for
    from wattwise.estimate.training import finetune_estimate, training_estimate

    command = args.estimate_command
    values = {s.name: getattr(args, s.name) for s in settings_for(command)}
    inputs, site = inputs_from(command, values)
    context = site.context(os.environ, default_config_paths(Path.cwd()))
    estimators: dict[str, Any] = {
        "train": training_estimate,
        "finetune": finetune_estimate,
        "infer": serving_with_load,
        "image": diffusion_estimate,
        "video": diffusion_estimate,
    }
    return estimators[command](inputs, context)


def handle_estimate(args: argparse.Namespace) -> int:
    """``estimate train | finetune | infer``: JSON (raw numbers) or the human rendering."""
    try:
        result = run_estimate(args)
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


def handle_settings(args: argparse.Namespace) -> int:
    """``estimate settings``: the settings table, as the flags of every command read it."""
    from wattwise.cli.estimate_render import settings_table
    from wattwise.estimate.settings import SETTINGS

    if args.json:
        jsonsafe.write([s.to_dict() for s in SETTINGS])
    else:
        sys.stdout.write(settings_table(SETTINGS) + "\n")
    return EXIT_OK


def handle_hardware_list(args: argparse.Namespace) -> int:
    """``estimate hardware list``."""
    from wattwise.cli.estimate_render import hardware_table
    from wattwise.estimate.hardware import list_hardware

    accs = list_hardware()
    if args.json:
        jsonsafe.write([a.to_dict() for a in accs])
        return EXIT_OK
    sys.stdout.write(hardware_table(accs) + "\n")
    return EXIT_OK


def handle_hardware_show(args: argparse.Namespace) -> int:
    """``estimate hardware show NAME``."""
    from wattwise.cli.estimate_render import hardware_detail
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
    sys.stdout.write(hardware_detail(data) + "\n")
    return EXIT_OK


__all__ = [
    "COMMANDS",
    "add_settings",
    "handle_estimate",
    "handle_hardware_list",
    "handle_hardware_show",
    "handle_settings",
    "quantity",
    "register",
    "render",
    "run_estimate",
]
