"""The one HTTP GET the live providers make: timeout, a file cache, one clear error.

httpx is used when installed, else the standard library's urllib (same behaviour). Responses
are cached as JSON under ``$XDG_CACHE_HOME/wattwise/schedule/`` for ``ttl_s`` seconds (default
15 minutes, ``WATTWISE_SCHEDULE_CACHE_S``), keyed by URL and parameters, never by a secret.
Nothing here runs unless a provider was configured and asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_TTL_S = 900.0


class ProviderError(WattwiseError):
    """A live provider could not be reached or answered something unusable (exit 1)."""


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wattwise" / "schedule"


def _cache_path(url: str, params: Mapping[str, str]) -> Path:
    key = json.dumps([url, sorted(params.items())])
    return cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _ttl_s() -> float:
    try:
        return float(os.environ.get("WATTWISE_SCHEDULE_CACHE_S", DEFAULT_TTL_S))
    except ValueError:
        return DEFAULT_TTL_S


def get_json(
    name: str,
    url: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    auth: tuple[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cache: bool = True,
) -> Any:
    """GET ``url`` and decode JSON; a fresh cached answer is returned without a request."""
    q = dict(params or {})
    path = _cache_path(url, q)
    if cache and path.is_file() and time.time() - path.stat().st_mtime < _ttl_s():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # a damaged cache entry is refetched
    status, body = _get(name, url, q, dict(headers or {}), auth, timeout_s)
    if status >= 400:
        hint = " (check the token)" if status in (401, 403) else ""
        raise ProviderError(f"{name}: HTTP {status} from {url}{hint}: {body[:200]!r}")
    try:
        doc = json.loads(body)
    except ValueError:
        raise ProviderError(f"{name}: {url} did not answer JSON: {body[:120]!r}") from None
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(body)
            tmp.replace(path)
        except OSError:
            pass  # no cache is not an error
    return doc


def _get(
    name: str,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    auth: tuple[str, str] | None,
    timeout_s: float,
) -> tuple[int, str]:
    try:
        import httpx
    except ImportError:
        return _get_urllib(name, url, params, headers, auth, timeout_s)
    try:
        r = httpx.get(url, params=params, headers=headers, auth=auth, timeout=timeout_s)
    except httpx.TimeoutException:
        raise ProviderError(f"{name}: no answer from {url} within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"{name}: cannot reach {url}: {exc}") from None
    return r.status_code, r.text


def _get_urllib(
    name: str,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    auth: tuple[str, str] | None,
    timeout_s: float,
) -> tuple[int, str]:
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request

    full = url + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, headers=headers)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
    except TimeoutError:
        raise ProviderError(f"{name}: no answer from {url} within {timeout_s:g} s") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ProviderError(f"{name}: cannot reach {url}: {exc}") from None
