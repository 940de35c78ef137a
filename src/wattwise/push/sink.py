"""``ServerSink``: a tracker sink that pushes each finished run to a team server.

``wattwise.track("train", sinks=[ServerSink()])`` (or an integration's ``sinks=[...]``; with
``$WATTWISE_SERVER_URL`` set, ``wattwise.track`` and the training callbacks add one): when
the run finishes, its document (the ledger's, with its timeline, downsampled to at most
:data:`MAX_SAMPLES` points, and the accounting context it ran under) goes through the push
spool (:mod:`.client`): pushed now, or kept on disk and pushed by the next push or ``wattwise
push`` — never lost, never twice. The server and token come from ``url`` or
``$WATTWISE_SERVER_URL`` and ``$WATTWISE_TOKEN``; a server it cannot reach becomes a note of the
run ("server write failed ..."), never an exception in your code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wattwise.accounting.context import Context, default_config_paths, resolve_context
from wattwise.core.run import Gap, RunResult, Sample
from wattwise.errors import WattwiseError
from wattwise.ledger.serialize import run_to_dict
from wattwise.push.client import URL_ENV, Target, push_run_document, target_from
from wattwise.readers.base import DeviceInfo

MAX_SAMPLES = 5000


def _context(context: Context | Mapping[str, object] | None) -> Context:
    """``context`` itself, else flags (``context``) > environment > config files, as the
    command line and the integrations resolve it."""
    if isinstance(context, Context):
        return context
    return resolve_context(dict(context or {}), os.environ, default_config_paths(Path.cwd()))


def with_env_sink(
    sinks: Sequence[Any],
    *,
    context: Context | Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Any, ...]:
    """``sinks`` plus a :class:`ServerSink` (accounting in ``context``) when
    ``$WATTWISE_SERVER_URL`` is set and none is there yet (the Python API and the integrations
    call this). ConfigError (one line) when the URL is set without ``$WATTWISE_TOKEN``."""
    env = os.environ if env is None else env
    if not env.get(URL_ENV, "").strip() or any(isinstance(x, ServerSink) for x in sinks):
        return tuple(sinks)
    return (*sinks, ServerSink(context=context, env=env))


def run_document(
    result: RunResult,
    ctx: Context | None = None,
    *,
    tags: Sequence[str] = (),
    model: str | None = None,
) -> dict[str, Any]:
    """The document pushed for ``result``: the ledger's run document with its timeline (at
    most :data:`MAX_SAMPLES` points, evenly thinned), ``context``, ``tags`` and ``model``."""
    if len(result.samples) > MAX_SAMPLES:
        stride = -(-len(result.samples) // MAX_SAMPLES)
        result = replace(result, samples=result.samples[::stride])
    doc: dict[str, Any] = dict(run_to_dict(result, include_samples=True))
    doc["context"] = ctx.to_dict() if ctx is not None else {}
    doc["tags"] = list(dict.fromkeys(tags))
    doc["model"] = model
    return doc


class ServerSink:
    """Pushes finished runs to a team server (see the module docstring)."""

    #: How the tracker names this sink in notes.
    what = "server"

    def __init__(
        self,
        url: str | None = None,
        *,
        tags: Sequence[str] = (),
        model: str | None = None,
        context: Context | Mapping[str, object] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        target = target_from(url, env)
        if target is None:
            raise WattwiseError(
                "ServerSink needs a server: pass url= or set WATTWISE_SERVER_URL (and "
                "WATTWISE_TOKEN)"
            )
        self.target: Target = target
        self.tags = tuple(tags)
        self.model = model
        self.context = _context(context)
        self.env = env
        self.last_line = ""
        self._samples: list[Sample] = []
        self._lock = threading.Lock()

    def begin_run(
        self,
        run_id: str,
        name: str,
        started_at: str,
        command: Sequence[str] | None,
        host: Mapping[str, str],
        devices: Sequence[DeviceInfo],
    ) -> None:
        """Nothing to do until the run finishes."""

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        """Keep the timeline for the pushed document (thinned when it grows long)."""
        with self._lock:
            self._samples.extend(samples)
            if len(self._samples) > 4 * MAX_SAMPLES:
                self._samples = self._samples[::2]

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None:
        """Gaps come with the final result."""

    def heartbeat(self, run_id: str) -> None:
        """The server only sees finished runs."""

    def finish_run(self, result: RunResult) -> None:
        """Spool and push the run; raises WattwiseError (a note of the run) when it could not
        be pushed now: it stays in the spool for the next push."""
        with self._lock:
            kept = tuple(self._samples)
        if not result.samples and kept:
            result = replace(result, samples=kept)
        doc = run_document(result, self.context, tags=self.tags, model=self.model)
        report = push_run_document(self.target, doc, env=self.env)
        self.last_line = report.line(self.target.url)
        if report.waiting or report.rejected:
            raise WattwiseError(self.last_line)
