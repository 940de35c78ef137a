"""``wattwise estimate transfer`` and ``wattwise estimate federated``: the energy of moving data,
and federated learning against centralised training (:mod:`wattwise.estimate.transfer`).

Registered on ``wattwise estimate``'s sub-parsers by :func:`register` (one line in
:mod:`wattwise.cli.estimate`). Human output or ``--json``; bad input is one line, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattwise import jsonsafe
from wattwise.argtypes import number, whole
from wattwise.validate import MAX_COUNT


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``transfer`` and ``federated`` to the ``estimate`` sub-parsers ``sub``."""
    from wattwise.estimate.transfer import DEVICES, NETWORKS

    t = sub.add_parser(
        "transfer",
        help="energy of moving data over a network (kWh/GB presets with year and range)",
        description="Energy of transferring --gb gigabytes (10^9 bytes) over a network "
        "boundary, from published kWh/GB figures; --year applies the source's trend where it "
        "has one (see 'wattwise data show network_energy').",
    )
    t.add_argument("--gb", type=number(low=0.0, si=True), required=True, help="gigabytes moved")
    t.add_argument(
        "--network",
        choices=NETWORKS,
        default="access-fixed",
        help="network boundary (default access-fixed: core + fixed access)",
    )
    t.add_argument(
        "--year",
        type=whole(low=1990, high=2100),
        help="year of the transfer (default: the source's year)",
    )
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(handler=handle_transfer)

    f = sub.add_parser(
        "federated",
        help="federated learning (network + client compute) against centralised training",
        description="Energy of federated training — each round every client downloads the "
        "model and uploads an update of the same size, and trains --local-steps steps — "
        "against centralised training with each client's data uploaded once (plus "
        "--central-kwh of training), and the break-even number of rounds.",
    )
    f.add_argument("--clients", type=whole(low=1, high=int(MAX_COUNT)), required=True)
    f.add_argument("--rounds", type=whole(low=1, high=int(MAX_COUNT)), required=True)
    f.add_argument(
        "--model-mb",
        type=number(low=0.0, si=True),
        required=True,
        help="model (and update) size, MB (10^6 bytes)",
    )
    f.add_argument(
        "--client-device",
        choices=DEVICES,
        default="phone",
        help="client device power preset (default phone)",
    )
    f.add_argument(
        "--local-steps",
        type=whole(low=1, high=int(MAX_COUNT)),
        default=1,
        help="training steps per client per round (default 1)",
    )
    f.add_argument(
        "--step-s",
        type=number(low=0.0),
        default=1.0,
        help="seconds per local step on the client (default 1, assumed)",
    )
    f.add_argument(
        "--client-power-w",
        type=number(low=0.0),
        help="measured client power while training, W (instead of the preset)",
    )
    f.add_argument(
        "--network",
        choices=NETWORKS,
        help="clients' network (default mobile for phone, access-fixed for laptop)",
    )
    f.add_argument("--year", type=whole(low=1990, high=2100), help="year (default: source's)")
    f.add_argument(
        "--data-mb",
        type=number(low=0.0, si=True),
        help="training data per client, MB: uploaded once when centralised",
    )
    f.add_argument(
        "--central-kwh",
        type=number(low=0.0, si=True),
        help="energy of the centralised training itself, kWh",
    )
    f.add_argument("--json", action="store_true", help="print JSON")
    f.set_defaults(handler=handle_federated)


def _band(b: Any, digits: int = 4) -> str:
    return f"{b.value:.{digits}g} kWh (range {b.low:.{digits}g}-{b.high:.{digits}g})"


def handle_transfer(args: argparse.Namespace) -> int:
    from wattwise.estimate.transfer import transfer

    t = transfer(args.gb, args.network, args.year)
    i = t.intensity
    if args.json:
        jsonsafe.write(
            {
                "kind": "transfer",
                "gb": t.gb,
                "network": i.network,
                "year": i.year,
                "kwh_per_gb": i.kwh_per_gb.to_dict(),
                "energy_kwh": t.energy_kwh.to_dict(),
                "year_note": i.year_note,
                "boundary": i.boundary,
                "source": i.source,
            }
        )
        return 0
    sys.stdout.write(
        f"transfer of {t.gb:g} GB over {i.network} ({i.year}): {_band(t.energy_kwh)}\n"
        f"  intensity {i.kwh_per_gb.value:.4g} kWh/GB (range {i.kwh_per_gb.low:.4g}-"
        f"{i.kwh_per_gb.high:.4g}); {i.year_note}\n"
        f"  boundary: {i.boundary}\n  source: {i.source}\n"
    )
    return 0


def handle_federated(args: argparse.Namespace) -> int:
    from wattwise.estimate.transfer import federated

    r = federated(
        args.clients,
        args.rounds,
        args.model_mb,
        device=args.client_device,
        local_steps=args.local_steps,
        step_s=args.step_s,
        client_power_w=args.client_power_w,
        network=args.network,
        year=args.year,
        data_mb=args.data_mb,
        central_kwh=args.central_kwh,
    )
    saves = r.federated_kwh.value < r.centralised_kwh.value
    if args.json:
        jsonsafe.write(
            {
                "kind": "federated",
                "network": r.network.network,
                "year": r.network.year,
                "kwh_per_gb": r.network.kwh_per_gb.to_dict(),
                "device": r.device,
                "client_power_w": r.client_power_w.to_dict(),
                "power_source": r.power_source,
                "traffic_gb": r.traffic_gb,
                "network_kwh": r.network_kwh.to_dict(),
                "client_compute_kwh": r.client_compute_kwh.to_dict(),
                "federated_kwh": r.federated_kwh.to_dict(),
                "upload_gb": r.upload_gb,
                "upload_kwh": r.upload_kwh.to_dict(),
                "central_kwh": r.central_kwh,
                "centralised_kwh": r.centralised_kwh.to_dict(),
                "per_round_kwh": r.per_round_kwh,
                "break_even_rounds": r.break_even_rounds,
                "federated_saves_energy": saves,
                "notes": list(r.notes),
                "source": r.network.source,
            }
        )
        return 0
    even = "n/a" if r.break_even_rounds is None else f"{r.break_even_rounds:.4g}"
    lines = [
        f"federated: {_band(r.federated_kwh)} = network {_band(r.network_kwh)} "
        f"({r.traffic_gb:.4g} GB) + client compute {_band(r.client_compute_kwh)}",
        f"centralised: {_band(r.centralised_kwh)} = data upload {_band(r.upload_kwh)} "
        f"({r.upload_gb:.4g} GB) + central training {r.central_kwh or 0:g} kWh",
        f"  federated {'saves' if saves else 'costs more'} energy at these settings; break-even "
        f"at {even} rounds ({r.per_round_kwh:.4g} kWh per round)",
        f"  client power {r.client_power_w.value:g} W ({r.power_source})",
        *(f"  note: {n}" for n in r.notes),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
