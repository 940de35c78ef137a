"""CPU frequency scaling (Linux cpufreq): read the governors and energy-performance preferences,
set them where permitted, restore what was there before.

Read from sysfs under a root (default ``/sys/devices/system/cpu``; ``$WATTWISE_CPUFREQ_ROOT``
when set, like ``WATTWISE_POWERCAP_ROOT`` for RAPL): each ``cpufreq/policyN`` directory gives
the scaling driver (``intel_pstate``, ``amd-pstate``, ``amd-pstate-epp``, ``acpi-cpufreq``...),
its governor and the governors it offers, the energy-performance preference (EPP, only with
``intel_pstate`` and ``amd-pstate-epp`` in active mode) and the frequency limits in kHz as the
kernel gives them; ``intel_pstate/status``, ``intel_pstate/no_turbo`` and ``amd_pstate/status``
when present. The meaning of each file: the kernel's Documentation/admin-guide/pm/cpufreq.rst,
intel_pstate.rst and amd-pstate.rst.

Changes (:func:`set_governor`, :func:`set_epp`) record the previous values first in
``$XDG_STATE_HOME/wattwise/cpufreq-state.json`` (default ``~/.local/state``; written
atomically; the first value recorded for a file is kept, so repeated changes still restore the
original) and :func:`restore_cpu` writes them back. Advice: :mod:`wattwise.power.cpuadvice`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError

DEFAULT_CPUFREQ_ROOT = "/sys/devices/system/cpu"
ROOT_ENV_VAR = "WATTWISE_CPUFREQ_ROOT"
STATE_VERSION = 1
GOVERNOR, EPP = "scaling_governor", "energy_performance_preference"


def cpufreq_root(environ: Mapping[str, str] | None = None) -> str:
    """The CPU sysfs root: ``$WATTWISE_CPUFREQ_ROOT`` when set and non-empty, else sysfs."""
    env = os.environ if environ is None else environ
    return env.get(ROOT_ENV_VAR) or DEFAULT_CPUFREQ_ROOT


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/wattwise/cpufreq-state.json`` (``~/.local/state`` when unset)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    home = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return home / "wattwise" / "cpufreq-state.json"


@dataclass(frozen=True)
class Policy:
    """One cpufreq policy (a group of CPUs that share a clock). Frequencies in kHz, as sysfs
    gives them; None where the file is absent or unreadable."""

    name: str
    cpus: tuple[int, ...]
    driver: str | None
    governor: str | None
    available_governors: tuple[str, ...]
    epp: str | None
    available_epp: tuple[str, ...]
    min_khz: int | None
    max_khz: int | None
    cur_khz: int | None
    hw_min_khz: int | None
    hw_max_khz: int | None

    def key(self) -> tuple[Any, ...]:
        """What two policies must share to be shown as one line (all but name, CPUs and the
        current frequency, which moves)."""
        d = asdict(self)
        return tuple(v for k, v in d.items() if k not in ("name", "cpus", "cur_khz"))


@dataclass(frozen=True)
class CpuFreqState:
    """What cpufreq shows under ``root``; ``reason`` says why there is nothing when so."""

    root: str
    policies: tuple[Policy, ...]
    intel_pstate_status: str | None = None
    intel_no_turbo: bool | None = None
    amd_pstate_status: str | None = None
    reason: str = ""

    @property
    def available(self) -> bool:
        return bool(self.policies)

    @property
    def driver(self) -> str | None:
        drivers = {p.driver for p in self.policies}
        return drivers.pop() if len(drivers) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON: frequencies in kHz (``*_khz``) as sysfs gives them."""
        return {
            "root": self.root,
            "available": self.available,
            "reason": self.reason,
            "intel_pstate_status": self.intel_pstate_status,
            "intel_no_turbo": self.intel_no_turbo,
            "amd_pstate_status": self.amd_pstate_status,
            "summary": summary_lines(self),
            "policies": [
                {**asdict(p), "cpus": list(p.cpus), "available_governors": list(
                    p.available_governors), "available_epp": list(p.available_epp)}
                for p in self.policies
            ],
        }  # fmt: skip


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _cpus(text: str | None) -> tuple[int, ...]:
    """``0 1 2`` or ``0-3,8`` → CPU numbers."""
    out: list[int] = []
    for part in re.split(r"[\s,]+", text or ""):
        a, _, b = part.partition("-")
        if a.isdigit() and (not b or b.isdigit()):
            out.extend(range(int(a), int(b or a) + 1))
    return tuple(out)


def _policy_number(path: Path) -> int:
    digits = path.name[len("policy") :]
    return int(digits) if digits.isdigit() else -1


def _policy(d: Path) -> Policy:
    return Policy(
        name=d.name,
        cpus=_cpus(_read(d / "affected_cpus") or _read(d / "related_cpus")),
        driver=_read(d / "scaling_driver"),
        governor=_read(d / GOVERNOR),
        available_governors=tuple((_read(d / "scaling_available_governors") or "").split()),
        epp=_read(d / EPP),
        available_epp=tuple((_read(d / "energy_performance_available_preferences") or "").split()),
        min_khz=_int(d / "scaling_min_freq"),
        max_khz=_int(d / "scaling_max_freq"),
        cur_khz=_int(d / "scaling_cur_freq"),
        hw_min_khz=_int(d / "cpuinfo_min_freq"),
        hw_max_khz=_int(d / "cpuinfo_max_freq"),
    )


def read_cpufreq(root: str | os.PathLike[str] | None = None) -> CpuFreqState:
    """The cpufreq state under ``root`` (default :func:`cpufreq_root`). Never raises: a tree
    without policies gives a state with ``reason`` set."""
    base = Path(cpufreq_root() if root is None else root)
    dirs = sorted((base / "cpufreq").glob("policy*"), key=_policy_number)
    policies = tuple(_policy(d) for d in dirs if d.is_dir())
    no_turbo = _read(base / "intel_pstate" / "no_turbo")
    reason = ""
    if not policies:
        reason = (
            f"no cpufreq policies under {base}/cpufreq: the CPU clocks are not scaled by this "
            "kernel (a VM or container whose hypervisor controls them, or no cpufreq driver "
            f"loaded); nothing to tune here (set {ROOT_ENV_VAR} if sysfs is mounted elsewhere)"
        )
    return CpuFreqState(
        root=str(base),
        policies=policies,
        intel_pstate_status=_read(base / "intel_pstate" / "status"),
        intel_no_turbo=None if no_turbo is None else no_turbo == "1",
        amd_pstate_status=_read(base / "amd_pstate" / "status"),
        reason=reason,
    )


def _mhz(khz: int | None) -> str:
    return "?" if khz is None else f"{khz / 1000:,.0f}"


def _span(cpus: list[int]) -> str:
    return f"CPU {cpus[0]}" if len(cpus) == 1 else f"CPUs {min(cpus)}–{max(cpus)}"


def _line(p: Policy, cpus: list[int], n_policies: int, state: CpuFreqState) -> str:
    driver = p.driver or "unknown driver"
    status = state.intel_pstate_status if driver == "intel_pstate" else (
        state.amd_pstate_status if driver.startswith("amd-pstate") else None)  # fmt: skip
    parts = [f"{driver} ({status})" if status else driver, f"governor {p.governor or '?'}"]
    if p.epp is not None:
        parts.append(f"EPP {p.epp}")
    parts.append(f"{_mhz(p.min_khz)}–{_mhz(p.max_khz)} MHz")
    if driver == "intel_pstate" and state.intel_no_turbo is not None:
        parts.append("turbo off" if state.intel_no_turbo else "turbo on")
    who = _span(cpus) if cpus else f"{n_policies} polic{'y' if n_policies == 1 else 'ies'}"
    return f"{who}: " + ", ".join(parts)


def summary_lines(state: CpuFreqState) -> list[str]:
    """One line per group of alike policies (all alike: one line); the reason when none."""
    if not state.policies:
        return [state.reason]
    groups: dict[tuple[Any, ...], list[Policy]] = {}
    for p in state.policies:
        groups.setdefault(p.key(), []).append(p)
    return [
        _line(ps[0], sorted({c for p in ps for c in p.cpus}), len(ps), state)
        for ps in groups.values()
    ]


# --------------------------------------------------------------------------- changes


def _writable(path: Path) -> bool:
    """True when ``path`` exists and may be written: a write bit set (sysfs marks the files a
    driver does not let anyone change 0444) and write access for this process."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(path, os.W_OK)


def _check_permitted(paths: list[Path], what: str) -> None:
    denied = [p for p in paths if not _writable(p)]
    if denied:
        who = "root" if os.geteuid() != 0 else "a writable cpufreq sysfs (this one is read-only)"
        raise ConfigError(
            f"cannot set the CPU {what}: {denied[0]} is not writable"
            f"{f' (and {len(denied) - 1} more)' if len(denied) > 1 else ''}; it needs {who}"
        )


def _load_state(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(doc, dict) and doc.get("version") == STATE_VERSION
    return doc if ok and isinstance(doc.get("files"), dict) else {}


def _record(files: list[Path], root: str, path: Path) -> None:
    """Add each file's present value to the state record (a value already recorded is the
    original and is kept)."""
    from wattwise.outputs import atomic_write_text

    doc = _load_state(path) or {"version": STATE_VERSION, "root": root, "files": {}}
    recorded: dict[str, str] = doc["files"]
    for f in files:
        value = _read(f)
        if value is not None:
            recorded.setdefault(str(f), value)
    doc["saved_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")


def _write(path: Path, value: str, what: str) -> None:
    try:
        path.write_text(value, encoding="utf-8")
    except OSError as exc:
        hint = ""
        if what == "EPP" and exc.errno == 16:  # EBUSY: intel_pstate under governor performance
            hint = " (intel_pstate accepts only 'performance' under governor performance: "
            hint += "set the governor to powersave first)"
        raise ConfigError(f"the kernel refused CPU {what} {value!r} at {path}: "
                          f"{exc.strerror or exc}{hint}") from None  # fmt: skip


def _apply(
    value: str, file: str, what: str, root: str | os.PathLike[str] | None,
    state_file: Path | None, offered: str,
) -> list[str]:  # fmt: skip
    st = read_cpufreq(root)
    if not st.available:
        raise ConfigError(f"cannot set the CPU {what}: {st.reason}")
    targets = [p for p in st.policies if getattr(p, offered) or file == GOVERNOR]
    if not targets:
        raise ConfigError(
            f"cannot set the CPU {what}: the {st.driver or 'cpufreq'} driver offers none (EPP "
            "comes with intel_pstate and amd-pstate-epp in active mode)"
        )
    for p in targets:
        choices: tuple[str, ...] = getattr(p, offered)
        if value not in choices:
            raise ConfigError(
                f"CPU {what} {value!r} is not available with {p.driver or 'this driver'} on "
                f"{p.name} (available: {', '.join(choices) or 'none listed'})"
            )
    base = Path(st.root) / "cpufreq"
    paths = [base / p.name / file for p in targets]
    _check_permitted(paths, what)
    _record(paths, st.root, state_file or state_path())
    for path in paths:
        _write(path, value, what)
    return [p.name for p in targets]


def set_governor(
    governor: str, root: str | os.PathLike[str] | None = None, state_file: Path | None = None
) -> list[str]:
    """Set ``governor`` on every policy (validated against each one's available governors;
    ConfigError in one line when it is not offered or not permitted). The previous governors
    are recorded first (see :func:`restore_cpu`). Returns the policies changed."""
    return _apply(governor, GOVERNOR, "governor", root, state_file, "available_governors")


def set_epp(
    pref: str, root: str | os.PathLike[str] | None = None, state_file: Path | None = None
) -> list[str]:
    """Set the energy-performance preference ``pref`` on every policy that has one (as
    :func:`set_governor`). Returns the policies changed."""
    return _apply(pref, EPP, "EPP", root, state_file, "available_epp")


def saved_state(state_file: Path | None = None) -> dict[str, str]:
    """The recorded original values (sysfs file → value); empty when nothing is recorded."""
    files = _load_state(state_file or state_path()).get("files", {})
    return {str(k): str(v) for k, v in files.items()}


def restore_cpu(state_file: Path | None = None) -> list[str]:
    """Write the recorded original values back (governors before EPPs, since intel_pstate
    refuses most EPPs under governor performance) and remove the record. Returns the files
    restored; ConfigError (one line) when one cannot be written (the record is kept)."""
    path = state_file or state_path()
    files = saved_state(path)
    order = sorted(files, key=lambda f: (not f.endswith(GOVERNOR), f))
    for f in order:
        target = Path(f)
        if not _writable(target):
            raise ConfigError(f"cannot restore the CPU settings: {target} is not writable "
                              f"(the record {path} is kept; rerun as root)")  # fmt: skip
        _write(target, files[f], "EPP" if f.endswith(EPP) else "governor")
    if files:
        path.unlink(missing_ok=True)
    return order
