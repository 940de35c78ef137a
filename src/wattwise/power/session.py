"""``with wattwise.power.tuned() as t: ... t.step()``: tune the GPUs from inside a training loop.

The block's first steps are the tuner's profile (:func:`wattwise.power.tuner.tune_steps`: the
default setting first, measured in the same run, then the limit stepped down); once the
selector has chosen, the chosen setting is held for every later step; when the block ends
(normally, by an exception, or on SIGINT / SIGTERM / SIGHUP, then ``SystemExit(128 + signum)``)
the original settings come back (:class:`wattwise.power.state.guarded`, which records them in
the state file before the first change; after a SIGKILL, ``wattwise tune --reset``). On a
signal they are restored in the handler itself (``restore_in_handler=True``, the default), so
code that catches ``BaseException`` cannot keep them changed.

Steps: call ``t.step()`` once per step of the repeated unit of work (an optimizer step, a
decode iteration), or ``wattwise.report_count(steps=1)`` (the same call ``wattwise tune --
CMD`` counts), not both (each counts). Time per step is the wall time between those calls
(``time.perf_counter``): with CUDA's asynchronous launches, the queue makes step boundaries
approximate, and averaging over >= 1 s per setting (``min_measure_s``) is what keeps it
honest. Energy is the GPUs' NVML counters read at those boundaries. Work between steps that is
not the unit (an evaluation) goes inside ``t.pause()`` / ``t.resume()``.

``simulated_gpu="memory-bound"`` (or ``compute-bound``, ``mixed``): the GPUs are the simulator
(:mod:`wattwise.power.simulator`), advanced one simulated step per ``step()``; every output says
``simulated``. Nothing real is touched.

Privilege: a real GPU needs root or ``CAP_SYS_ADMIN``: without it, entering the block raises
:class:`~wattwise.power.nvml_control.PrivilegeError` with one line that says so, before
anything changes.

Profiles: the result is saved (:mod:`wattwise.power.profiles`, keyed by GPU model and the
workload's fingerprint: ``workload=`` or the script's command line) and, with ``reuse=True``
(default), a saved profile of the same workload, GPU model, knob and selector is applied at once
instead of profiling again (``t.report()["reused_profile"]`` names it; its saving and slowdown
were measured in the run that made it).

Which GPUs: only the job's. ``gpus=`` (NVML indices or UUIDs) when given; else those
``CUDA_VISIBLE_DEVICES`` shows (every GPU when it is unset); a MIG instance is refused (its
power limit is the whole GPU's). A shared node's other GPUs are never touched.

Distributed data-parallel jobs (``torch.distributed`` initialised, 2 or more ranks; or
``distributed=True``): one setting for every GPU of the job, agreed by all-reduce
(:mod:`wattwise.power.agree`); every rank must enter the block and report its steps. Each rank
tunes its own GPU: its only visible GPU, else the ``LOCAL_RANK``-th visible one (torchrun's
``cuda:LOCAL_RANK``); a rank without one takes part in the agreement only. Simulated GPUs live
in each rank's process. Each rank keeps its own state file
(:func:`wattwise.power.state.rank_state_path`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from wattwise.errors import ConfigError, WattwiseError
from wattwise.power.agree import ALONE, Agreement, all_agree, same_everywhere
from wattwise.power.nvml_control import (
    PRIVILEGE_LINE,
    NvmlControl,
    PowerControlError,
    PrivilegeError,
    has_admin_privilege,
    job_selection,
)
from wattwise.power.selectors import (
    DEFAULT_ETA,
    DEFAULT_MAX_SLOWDOWN,
    DEFAULT_SELECTOR,
    Selector,
)
from wattwise.power.summary import outcome_fields, summary_line
from wattwise.power.tuner import Setting, TuneOptions, TuneResult, apply, tune_steps

logger = logging.getLogger("wattwise")
SHAPES = ("compute-bound", "memory-bound", "mixed")


class _NoGpus(NvmlControl):
    """A rank with no GPU of its own to tune: takes part in the agreement with zeros."""

    def open(self) -> None:
        self._handles, self._names = [], []

    def close(self) -> None:
        return None

    def check_privilege(self) -> None:
        return None


def _workload_key(workload: str | Sequence[str] | None) -> list[str]:
    import sys

    if workload is None:
        return ["python", *sys.argv]
    return [workload] if isinstance(workload, str) else list(workload)


class TunedSession:
    """The ``tuned()`` block (see the module docstring).

    ``simulated_gpu`` / ``simulated_gpus``: the simulator's shape and GPU count (tests, demos);
    ``nvml``: an nvidia-ml-py-shaped module (default: the real one); ``gpus``: which GPUs (NVML
    indices or UUIDs; default ``CUDA_VISIBLE_DEVICES``); ``selector``, ``max_slowdown`` (a
    fraction), ``eta``, ``knob``: as ``wattwise tune``'s options, or all of the tuner's as
    ``options`` (:class:`~wattwise.power.tuner.TuneOptions`); ``workload``: the fingerprint's
    key (default the command line); ``reuse`` / ``save``: saved profiles; ``distributed``:
    None detects an initialised job of 2+ ranks, True requires one, False ignores it;
    ``state_file``: where the originals are recorded (default under ``$XDG_STATE_HOME``);
    ``restore_in_handler``: restore inside the signal handler; ``privileged``: the privilege
    check (tests). After the block: :attr:`result` (the
    :class:`~wattwise.power.tuner.TuneResult`, None when profiling did not finish or a profile
    was reused), :meth:`report` (a JSON-ready dict; ``held``: this process's GPUs over the held
    steps) and :meth:`summary` (one line)."""

    def __init__(
        self,
        *,
        simulated_gpu: str | None = None,
        simulated_gpus: int = 1,
        nvml: Any | None = None,
        gpus: Sequence[str] | None = None,
        selector: str = DEFAULT_SELECTOR,
        max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
        eta: float = DEFAULT_ETA,
        knob: str = "power-limit",
        options: TuneOptions | None = None,
        workload: str | Sequence[str] | None = None,
        reuse: bool = True,
        save: bool = True,
        distributed: bool | None = None,
        state_file: str | Path | None = None,
        restore_in_handler: bool = True,
        seed: int = 0,
        privileged: Callable[[], bool] = has_admin_privilege,
    ) -> None:
        if simulated_gpu is not None and simulated_gpu not in SHAPES:
            raise ConfigError(f"simulated_gpu={simulated_gpu!r}: one of {', '.join(SHAPES)}")
        self.options = options or TuneOptions(
            selector=Selector(selector, max_slowdown, eta), knob=knob
        )
        self.shape, self.simulated_gpus, self._nvml = simulated_gpu, simulated_gpus, nvml
        self.gpus = list(gpus) if gpus is not None else None
        self.command = _workload_key(workload)
        self.reuse, self.save, self.distributed = reuse, save, distributed
        self.state_file = Path(state_file) if state_file is not None else None
        self.restore_in_handler, self.seed = restore_in_handler, seed
        self._privileged = privileged
        self.result: TuneResult | None = None
        self.steps = 0
        self.note: str | None = None
        self.profile_path: Path | None = None
        self.reused_profile: Path | None = None
        self.agree: Agreement = ALONE
        self.control: NvmlControl | None = None
        self._sim: Any = None
        self._guard: Any = None
        self._gen: Generator[int, None, TuneResult] | None = None
        self._need = 0
        self._held = {"steps": 0, "energy_j": 0.0, "time_s": 0.0}
        self._held_at: tuple[float, float] | None = None
        self._reused_doc: dict[str, Any] = {}
        self._paused_at: tuple[float, float] | None = None  # (raw energy J, raw clock s)
        self._paused_j = self._paused_s = 0.0
        self._guard_done: Any = None
        self._open = False

    # ------------------------------------------------------------------ the block
    def __enter__(self) -> TunedSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(exc_type, exc, tb)

    def check_privilege(self) -> None:
        """Raise :class:`PrivilegeError` (one line) unless the GPUs may be changed (always true
        of the simulated GPU): the callbacks call it when made, before training starts."""
        if self.shape is None and not self._privileged():
            raise PrivilegeError(PRIVILEGE_LINE)

    def open(self) -> None:
        """Set up, record the originals, apply the default setting (or a reused profile's)."""
        from wattwise.workloads.counts import STEP_LISTENERS

        rank, local_rank = self._join()
        why: WattwiseError | None = None
        try:  # a failure on one rank must not leave the others waiting in a collective
            self.control = self._make_control(local_rank)
            self.control.open()
            why = self._guard_up(self.control, rank)
        except WattwiseError as exc:
            why = exc
        if not all_agree(self.agree, why is None) or self.control is None:
            self._abandon()
            raise why or PowerControlError("another rank of the job could not start tuning")
        try:
            if not self._try_reuse(self.control):
                self._gen = tune_steps(
                    self.control, self._clock, self.options, self.agree, self._energy_j
                )
                self._need = next(self._gen)
        except BaseException as exc:
            self._abandon(exc)
            raise
        self._open = True
        STEP_LISTENERS.append(self.step)

    def _join(self) -> tuple[int, int]:
        """(rank, local rank); sets up the agreement of a distributed job."""
        from wattwise.power.agree import distributed_job, torch_agreement

        if self.distributed is False:
            return 0, 0
        dist = distributed_job()
        if dist is None:
            if self.distributed:
                raise ConfigError("distributed=True but torch.distributed is not initialised")
            return 0, 0
        if self.options.knob != "power-limit":
            raise ConfigError("a distributed job is tuned with the power limit (knob)")
        self.agree = torch_agreement(dist)
        return int(dist.get_rank()), int(os.environ.get("LOCAL_RANK", "0"))

    def _make_control(self, local_rank: int) -> NvmlControl:
        if self.shape is not None:
            from wattwise.power.simulator import SimulatedNvml

            rank_seed = self.seed + 1000 * getattr(self.agree, "rank", 0)
            self._sim = SimulatedNvml(shape=self.shape, count=self.simulated_gpus, seed=rank_seed)
            return NvmlControl(self._sim, simulated=True)
        select = self.gpus if self.gpus is not None else self._rank_gpus(local_rank)
        if select == []:
            return _NoGpus(simulated=False)
        return NvmlControl(self._nvml, privileged=self._privileged, select=select)

    def _rank_gpus(self, local_rank: int) -> list[str] | None:
        """The GPUs this process tunes: those ``CUDA_VISIBLE_DEVICES`` shows (None: all); in a
        distributed job, the rank's own one: its only visible GPU, else the ``LOCAL_RANK``-th
        (``cuda:LOCAL_RANK``, the torchrun convention; none when there are fewer)."""
        visible = job_selection()
        if self.agree.world_size == 1:
            return visible
        if visible is None:
            return [str(local_rank)]
        if len(visible) == 1:
            return visible
        return [visible[local_rank]] if local_rank < len(visible) else []

    def _abandon(self, exc: BaseException | None = None) -> None:
        """Undo a failed :meth:`open`: restore whatever was recorded, close NVML."""
        self._guard_down(type(exc) if exc is not None else None, exc, None)
        if self.control is not None:
            self.control.close()

    def _guard_up(self, control: NvmlControl, rank: int) -> WattwiseError | None:
        """Record the originals (the guard); the error, or None when that worked."""
        from wattwise.power.state import guarded, rank_state_path, state_path_for

        if control.count == 0:
            return None
        path = self.state_file
        if path is None:
            path = rank_state_path(rank) if self.agree.world_size > 1 else state_path_for(control)
        guard = guarded(
            control,
            path,
            reset_clocks=self.options.knob == "sm-clock",
            shape=self.shape,
            restore_in_handler=self.restore_in_handler,
        )
        try:
            guard.__enter__()
        except WattwiseError as exc:
            return exc
        self._guard = guard
        return None

    def _guard_down(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        guard, self._guard = self._guard, None
        if guard is not None:
            self._guard_done = guard
            guard.__exit__(exc_type, exc, tb)

    def _raw_clock(self) -> float:
        return float(self._sim.now_s()) if self._sim is not None else time.perf_counter()

    def _raw_energy_j(self) -> float:
        c = self.control
        return sum(c.energy_j(i) for i in range(c.count)) if c is not None else 0.0

    def _clock(self) -> float:
        """Seconds, the time spent paused left out."""
        return self._raw_clock() - self._paused_s

    def _energy_j(self) -> float:
        """The GPUs' energy so far (J), the energy spent paused left out."""
        return self._raw_energy_j() - self._paused_j

    def pause(self) -> None:
        """Work that is not the repeated unit (an evaluation) begins: its time and energy are
        left out of the measurements until :meth:`resume` (steps reported meanwhile count)."""
        if self._open and self._paused_at is None:
            try:
                self._paused_at = (self._raw_energy_j(), self._raw_clock())
            except WattwiseError:
                self._paused_at = None

    def resume(self) -> None:
        """The repeated unit of work goes on (see :meth:`pause`)."""
        at, self._paused_at = self._paused_at, None
        if at is not None:
            try:
                self._paused_j += self._raw_energy_j() - at[0]
                self._paused_s += self._raw_clock() - at[1]
            except WattwiseError:
                pass

    # ------------------------------------------------------------------ profiles
    def _saved_choice(self, control: NvmlControl) -> Setting | None:
        """The chosen setting of a usable saved profile of this workload on this GPU model."""
        from wattwise.power.profiles import fingerprint, load_profile, profile_path, usable_choice

        if not self.reuse or control.count == 0:
            return None
        model = control.settings(0).name
        doc = load_profile(model, fingerprint(self.command))
        found = usable_choice(
            doc, simulated=control.simulated, selector=self.options.selector.label(),
            knob=self.options.knob,
        )  # fmt: skip
        if doc is None or found is None:
            return None
        self.reused_profile, self._reused_doc = profile_path(model, doc["fingerprint"]), doc
        return Setting(*found)

    def _try_reuse(self, control: NvmlControl) -> bool:
        """Apply a saved profile's choice when every rank that controls GPUs has the same one."""
        saved = self._saved_choice(control)
        w = saved.power_limit_w if saved is not None else None
        if not same_everywhere(self.agree, w, takes_part=control.count > 0):
            self.reused_profile = None  # none, or the ranks' differ: profile again, together
            return False
        ok = True
        if saved is not None:
            try:
                apply(control, saved, self.options.knob)
            except WattwiseError as exc:  # a limit this GPU no longer accepts: profile again
                self.note = f"saved profile not applied: {exc}"
                ok = False
        if not all_agree(self.agree, ok):
            self.reused_profile = None
            return False
        self._start_holding()
        return True

    def _save(self, result: TuneResult) -> None:
        from wattwise.power.profiles import fingerprint, profile_of, save_profile

        c = self.control
        if not self.save or c is None or c.count == 0:
            return
        try:
            doc = profile_of(result, c.settings(0).name, self.command, simulated=c.simulated)
            doc.update(fingerprint=fingerprint(self.command), knob=self.options.knob,
                       world_size=self.agree.world_size)  # fmt: skip
            self.profile_path = save_profile(doc)
        except (OSError, WattwiseError) as exc:  # a cache: never fatal
            self.note = f"profile not saved: {exc}"

    # ------------------------------------------------------------------ steps
    def step(self, n: int = 1) -> None:
        """``n`` more steps of the unit of work have ended (call once per step)."""
        if not self._open or n <= 0:
            return
        if self._sim is not None:
            self._sim.run_steps(n)
        self.steps += n
        if self._gen is None:
            return
        self._need -= n
        try:
            while self._need <= 0:
                self._need += self._gen.send(None)
        except StopIteration as done:
            self.result = done.value
            self._gen = None
            self._save(done.value)
            self._start_holding()
        except WattwiseError as exc:  # never hurt the workload: untuned from here on
            self._gen = None
            self.note = f"tuning stopped after {self.steps} steps: {exc}; settings restored"
            logger.warning("wattwise: %s", self.note)
            self._guard_down()

    def _start_holding(self) -> None:
        self._held_at = (self._energy_j(), self._clock())
        self._held["steps"] = -self.steps

    # ------------------------------------------------------------------ the end
    def close(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        """Stop; restore the originals (idempotent). Raises ``SystemExit`` for a signal."""
        from wattwise.workloads.counts import STEP_LISTENERS

        if not self._open:
            return
        self._open = False
        if self.step in STEP_LISTENERS:
            STEP_LISTENERS.remove(self.step)
        if self._gen is not None:
            self._gen.close()
            self._gen = None
            self.note = (
                f"the block ended after {self.steps} steps, during profiling: nothing chosen"
            )
        if self._held_at is not None:
            try:
                e0, t0 = self._held_at
                self._held.update(energy_j=self._energy_j() - e0, time_s=self._clock() - t0)
            except WattwiseError:
                pass
            self._held["steps"] += self.steps
        try:
            self._guard_down(exc_type, exc, tb)
        finally:
            if self.control is not None:
                self.control.close()

    @property
    def simulator(self) -> Any:
        """The simulated GPUs (:class:`~wattwise.power.simulator.SimulatedNvml`), or None."""
        return self._sim

    @property
    def restored(self) -> bool:
        """True once every GPU this rank changed is back at its recorded setting."""
        guard = self._guard_done
        return True if guard is None else bool(guard.restored)

    def report(self) -> dict[str, Any]:
        """What was measured, chosen, held and restored (JSON-ready)."""
        guard = self._guard_done
        held: dict[str, Any] = dict(self._held)
        steps = int(held["steps"])
        held["energy_per_step_j"] = held["energy_j"] / steps if steps > 0 else None
        held["time_per_step_s"] = held["time_s"] / steps if steps > 0 else None
        c = self.control
        doc: dict[str, Any] = {
            "simulated": bool(c is not None and c.simulated),
            "shape": self.shape,
            "world_size": self.agree.world_size,
            "gpus": c.count if c is not None else 0,
            "selector": self.options.selector.label(),
            "knob": self.options.knob,
            "steps": self.steps,
            "tuned": self.result is not None,
            "reused_profile": str(self.reused_profile) if self.reused_profile else None,
            "held": held,
            "restored": self.restored,
            "restore_failures": list(guard.failures) if guard is not None else [],
            "profile": str(self.profile_path) if self.profile_path else None,
            "note": self.note,
        }
        doc.update(outcome_fields(self.result, self._reused_doc if self.reused_profile else None,
                                  self.steps))  # fmt: skip
        return doc

    def summary(self) -> str:
        """One line: the choice, its measured saving and slowdown, and whether it was restored."""
        return summary_line(self.report())


def tuned(**kwargs: Any) -> TunedSession:
    """``with wattwise.power.tuned(...) as t:`` — see :class:`TunedSession` and the module
    docstring (``simulated_gpu``, ``selector``, ``max_slowdown``, ``workload``, ``reuse``, ...)."""
    return TunedSession(**kwargs)


__all__ = ["PrivilegeError", "TunedSession", "tuned"]
