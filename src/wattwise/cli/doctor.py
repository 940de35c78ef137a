"""``wattwise doctor``: every reader, available or not and why; the CPU model and TDP; GPUs;
the CPU frequency settings (cpufreq, :mod:`wattwise.power.cpufreq`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from wattwise import jsonsafe

if TYPE_CHECKING:
    from wattwise.power.cpufreq import CpuFreqState


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.cli import add_db_option

    p = sub.add_parser("doctor", help="show which energy readers work here, and why not")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_db_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from wattwise.power.cpufreq import read_cpufreq
    from wattwise.power.state import pending_changes
    from wattwise.readers.registry import default_readers, probe_all

    probes = probe_all()
    notes: list[str] = []
    chosen = [getattr(r, "name", "?") for r in default_readers(notes)]
    ledger = _ledger_status(args.db)
    # GPU settings a wattwise tune changed and did not restore (killed): say so first.
    notes = [f"warning: {line}" for line in pending_changes()] + notes
    cpufreq = read_cpufreq()
    if args.json:
        doc = {
            "readers": [
                {
                    "reader": p.reader,
                    "available": p.available,
                    "reason": p.reason,
                    "devices": [
                        {
                            "device": d.device_id,
                            "kind": d.kind,
                            "name": d.name,
                            "provenance": d.provenance.value,
                            "source": d.source,
                            "params": dict(d.params),
                        }
                        for d in p.devices
                    ],
                    "details": dict(p.details),
                }
                for p in probes
            ],
            "used": chosen,
            "notes": notes,
            "ledger": ledger,
            "cpufreq": _cpufreq_doc(cpufreq),
        }
        jsonsafe.write(doc)
        return 0
    lines = human_lines(probes, chosen, notes, ledger) + cpufreq_lines(cpufreq)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def human_lines(probes: list[Any], chosen: list[str], notes: list[str], ledger: str) -> list[str]:
    """The findings for people: numbers with grouped digits and SI prefixes, never e-notation
    (``--json`` keeps the values as the readers give them); control characters escaped."""
    from wattwise.cli.render import human_text, human_value, printable

    out = ["wattwise doctor"]
    for p in probes:
        mark = "yes" if p.available else "no "
        out.append(f"  [{mark}] {p.reader:<13} {human_text(p.reason)}")
        for d in p.devices:
            out.append(
                f"          {printable(d.device_id)}: {printable(d.name)} "
                f"({d.kind}, {d.provenance.value})"
            )
            for k, v in d.params.items():
                out.append(f"              {k}: {human_value(v)}")
        shown = {(k, v) for d in p.devices for k, v in d.params.items()}
        for k, v in p.details.items():
            if (k, v) not in shown:
                out.append(f"          {k}: {human_value(v)}")
    out.append(f"  readers a run would use: {', '.join(chosen) or 'none'}")
    out.extend(f"  note: {human_text(n)}" for n in notes)
    out.append(f"  ledger: {human_text(ledger)}")
    return out


def _cpufreq_doc(state: CpuFreqState) -> dict[str, Any]:
    from wattwise.power.cpuadvice import advise

    return {**state.to_dict(), "advice": [a.to_dict() for a in advise(state)]}


def cpufreq_lines(state: CpuFreqState) -> list[str]:
    """The CPU frequency settings: one line per group of alike policies, then the advice."""
    from wattwise.cli.render import human_text
    from wattwise.power.cpuadvice import advise
    from wattwise.power.cpufreq import summary_lines

    out = [f"  cpu frequency: {human_text(line)}" for line in summary_lines(state)]
    out += [f"    advice: {human_text(a.title)}: {human_text(a.action)}" for a in advise(state)]
    return out


def _ledger_status(url: str | None) -> str:
    from wattwise.errors import WattwiseError

    try:
        from wattwise.ledger import Ledger

        led = Ledger.open(url)
    except WattwiseError as exc:
        return f"unusable: {exc}"
    try:
        return f"ok ({led.url_display})" if hasattr(led, "url_display") else "ok"
    finally:
        led.close()
