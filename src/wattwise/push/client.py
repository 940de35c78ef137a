"""Pushing runs to a team server from where they happen: standard library only (urllib), so a
training machine needs no web framework.

Nothing lost, nothing twice: a run's document is first written to a local **push spool**
(``$XDG_STATE_HOME/wattwise/push/<hash of the server URL>/RUN_ID.json``, atomically: a temporary
file, fsync, rename), then pushed; the file is removed only once the server answered that it has
the run (201 stored, or 200 already there: the server is idempotent by run id). A push that
fails for a reason that may pass (no connection, a timeout, 5xx, 429) is retried with
exponential back-off and otherwise left in the spool for ``wattwise push``; one the server
refuses for good (422: not a run document) is moved to ``rejected/`` beside it and said. Each
spool file is locked (``flock``) while pushed, so two pushers never send the same file at once.

Where: ``--server URL`` or ``$WATTWISE_SERVER_URL``; the token from ``$WATTWISE_TOKEN`` only
(never a flag: a command line is visible to every user of the machine).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError, WattwiseError
from wattwise.ledger.spool import state_home

URL_ENV, TOKEN_ENV = "WATTWISE_SERVER_URL", "WATTWISE_TOKEN"
TIMEOUT_S = 10.0
#: Statuses worth retrying: the server may take the run later.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class PushError(WattwiseError):
    """A push that did not reach the server or that it refused; ``retryable`` when it may pass."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Target:
    """A server to push to: its base URL and the token (secret: not shown in ``repr``)."""

    url: str
    token: str

    def __repr__(self) -> str:
        return f"Target(url={self.url!r}, token=...)"


def target_from(url: str | None, env: Mapping[str, str] | None = None) -> Target | None:
    """The server to push to: ``url`` else ``$WATTWISE_SERVER_URL``; None when neither is set.
    ConfigError (one line) for a URL that is not http(s) or a missing ``$WATTWISE_TOKEN``."""
    env = os.environ if env is None else env
    url = (url or env.get(URL_ENV, "")).strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--server {url!r}: give the server's http:// or https:// URL")
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"pushing to {url} needs a token in ${TOKEN_ENV} (wattwise server token create "
            "--project NAME --scope ingest)"
        )
    return Target(url.rstrip("/"), token)


def spool_dir(target: Target, env: Mapping[str, str] | None = None) -> Path:
    """The push spool of ``target``'s server (one folder per server URL)."""
    digest = hashlib.sha256(target.url.encode()).hexdigest()[:16]
    return state_home(env) / "wattwise" / "push" / digest


def push_document(target: Target, doc: Mapping[str, Any], *, timeout_s: float = TIMEOUT_S) -> bool:
    """POST one run document; True when the server stored it now, False when it had it.
    Raises :class:`PushError`."""
    body = json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8")
    req = urllib.request.Request(
        f"{target.url}/api/v1/runs", data=body, method="POST",
        headers={"Authorization": f"Bearer {target.token}", "Content-Type": "application/json",
                 "User-Agent": "wattwise-push"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            answer = json.loads(resp.read() or b"{}")
            return bool(answer.get("stored", resp.status == 201))
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        raise PushError(
            f"{target.url} refused the run ({exc.code}): {detail}",
            retryable=exc.code in RETRYABLE, status=exc.code,
        ) from None  # fmt: skip
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PushError(f"{target.url} not reachable: {reason}", retryable=True) from None


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read() or b"{}").get("detail", ""))[:300]
    except (ValueError, OSError, AttributeError):
        return exc.reason if isinstance(exc.reason, str) else ""


def spool(target: Target, doc: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Path:
    """Write ``doc`` into the push spool (atomically, fsynced); its path."""
    folder = spool_dir(target, env)
    folder.mkdir(parents=True, exist_ok=True)
    note = folder / "SERVER.txt"
    if not note.exists():
        note.write_text(f"wattwise runs waiting to be pushed to {target.url}\n", encoding="utf-8")
    path = folder / f"{doc['run_id']}.json"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def pending(target: Target, env: Mapping[str, str] | None = None) -> list[Path]:
    """Spooled run documents waiting for ``target``, oldest first."""
    with contextlib.suppress(OSError):
        files = [p for p in spool_dir(target, env).glob("*.json") if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))
    return []


@dataclass
class PushReport:
    """What a push of the spool did: runs stored now, already there, still waiting, rejected."""

    stored: int = 0
    duplicate: int = 0
    waiting: int = 0
    rejected: int = 0
    last_error: str = ""

    def line(self, url: str) -> str:
        parts = [f"{self.stored} pushed to {url}"]
        if self.duplicate:
            parts.append(f"{self.duplicate} already there")
        if self.waiting:
            parts.append(f"{self.waiting} still waiting ({self.last_error}; wattwise push retries)")
        if self.rejected:
            parts.append(f"{self.rejected} refused for good (kept in rejected/)")
        return ", ".join(parts)


def push_file(
    target: Target,
    path: Path,
    report: PushReport,
    *,
    retries: int = 4,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    timeout_s: float = TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Push one spooled file with ``retries`` retries (back-off doubling from ``backoff_s``);
    remove it once the server has the run. A file another pusher holds is left to it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pushed and removed by another pusher meanwhile
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return
        if not path.exists():  # removed between open and lock
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _reject(path, report, f"unreadable spool file: {exc}")
            return
        delay = backoff_s
        for attempt in range(retries + 1):
            try:
                stored = push_document(target, doc, timeout_s=timeout_s)
            except PushError as exc:
                report.last_error = str(exc)
                if not exc.retryable:
                    if exc.status in (401, 403):  # a token problem: fixable, keep the run
                        report.waiting += 1
                    else:
                        _reject(path, report, str(exc))
                    return
                if attempt == retries:
                    report.waiting += 1
                    return
                sleep(delay)
                delay = min(max_backoff_s, delay * 2)
                continue
            if stored:
                report.stored += 1
            else:
                report.duplicate += 1
            path.unlink(missing_ok=True)
            return
    finally:
        os.close(fd)


def _reject(path: Path, report: PushReport, why: str) -> None:
    report.rejected += 1
    report.last_error = why
    folder = path.parent / "rejected"
    with contextlib.suppress(OSError):
        folder.mkdir(exist_ok=True)
        os.replace(path, folder / path.name)
        (folder / f"{path.stem}.why.txt").write_text(why + "\n", encoding="utf-8")


def push_pending(
    target: Target,
    *,
    retries: int = 4,
    backoff_s: float = 0.5,
    env: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Push every spooled run of ``target`` (``timeout_s`` per request). Once the server is
    found unreachable the rest are left waiting (no point retrying each)."""
    report = PushReport()
    files = pending(target, env)
    for i, path in enumerate(files):
        push_file(target, path, report, retries=retries, backoff_s=backoff_s,
                  timeout_s=timeout_s, sleep=sleep)  # fmt: skip
        if report.waiting and "not reachable" in report.last_error:
            report.waiting += len(files) - i - 1
            break
    return report


def push_run_document(
    target: Target,
    doc: Mapping[str, Any],
    *,
    retries: int = 1,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
    env: Mapping[str, str] | None = None,
) -> PushReport:
    """Spool ``doc``, then push it and any run still waiting for the same server: at the end of
    a run, so briefly (one retry, 5 s per request); what does not go stays for the next push."""
    spool(target, doc, env)
    return push_pending(target, retries=retries, backoff_s=backoff_s, env=env,
                        timeout_s=timeout_s)  # fmt: skip
