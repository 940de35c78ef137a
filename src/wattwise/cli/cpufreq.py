"""The CPU options of ``wattwise tune``: ``--cpu-governor G``, ``--cpu-epp P``, ``--cpu-reset``.

:func:`add_cpu_arguments` adds them to a parser; :func:`handle_cpu` applies them
(:mod:`wattwise.power.cpufreq`: validated against what each cpufreq policy offers, refused in
one line where not permitted, the previous values recorded so ``--cpu-reset`` restores them).
A refusal is a :class:`~wattwise.errors.ConfigError`, which the CLI prints as one line.
"""

from __future__ import annotations

import argparse
import sys


def add_cpu_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--cpu-governor``, ``--cpu-epp`` and ``--cpu-reset`` to ``parser``."""
    g = parser.add_argument_group("CPU frequency (Linux cpufreq; needs root)")
    g.add_argument(
        "--cpu-governor", metavar="G",
        help="set the cpufreq governor of every CPU policy (one the driver offers: see "
        "`wattwise doctor`), e.g. powersave with intel_pstate / amd-pstate-epp, schedutil",
    )  # fmt: skip
    g.add_argument(
        "--cpu-epp", metavar="P",
        help="set the energy-performance preference (intel_pstate, amd-pstate-epp), e.g. "
        "balance_performance",
    )  # fmt: skip
    g.add_argument(
        "--cpu-reset", action="store_true",
        help="restore the CPU governors and preferences wattwise recorded before changing them",
    )  # fmt: skip


def handle_cpu(args: argparse.Namespace) -> int | None:
    """Apply the CPU options in ``args``: None when none was given (the caller goes on), else
    0 once done (each change said on stderr). Raises ConfigError (one line) when refused."""
    from wattwise.errors import ConfigError
    from wattwise.power import cpufreq

    governor = getattr(args, "cpu_governor", None)
    epp = getattr(args, "cpu_epp", None)
    reset = bool(getattr(args, "cpu_reset", False))
    if governor is None and epp is None and not reset:
        return None
    if reset and (governor is not None or epp is not None):
        raise ConfigError("--cpu-reset restores the recorded settings: give it alone")
    if reset:
        restored = cpufreq.restore_cpu()
        say = f"restored {len(restored)} CPU frequency setting(s)" if restored else (
            "no CPU frequency settings recorded: nothing to restore")  # fmt: skip
        sys.stderr.write(f"wattwise: {say}\n")
        return 0
    if governor is not None:  # first: intel_pstate takes most EPPs only under powersave
        changed = cpufreq.set_governor(governor)
        sys.stderr.write(f"wattwise: CPU governor {governor} on {len(changed)} policies\n")
    if epp is not None:
        changed = cpufreq.set_epp(epp)
        sys.stderr.write(f"wattwise: CPU EPP {epp} on {len(changed)} policies\n")
    where = cpufreq.state_path()
    sys.stderr.write(f"wattwise: previous values recorded in {where} (undo: --cpu-reset)\n")
    return 0
