"""Headless Chromium for the report: print it to PDF, take a screenshot.

The browser is Debian's ``chromium`` (or ``chromium-browser`` / ``google-chrome``, or the path in
``WATTWISE_CHROMIUM``). It runs with a throw-away profile, every background network feature off
and no way onto the network (:data:`NO_NETWORK_ARGS`): printing a report makes no name look-up
and opens no connection, even for a page that references a remote or a loopback resource.
``--no-sandbox`` because CI containers run as root, where Chromium refuses its sandbox.

The PDF or screenshot is written through :func:`wattwise.outputs.atomic_output`: Chromium writes
a temporary file beside the target, renamed over it only once it is complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from wattwise.errors import ConfigError, WattwiseError
from wattwise.outputs import atomic_output

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120.0

#: A proxy host that cannot exist (RFC 6761 ``.invalid``); the resolver rules below make its
#: look-up fail inside Chromium, so not even a connection to a proxy is attempted.
DEAD_PROXY = "http://wattwise-no-network.invalid:9"

#: Flags that cut Chromium off the network. Every host name resolves to "not found" inside
#: Chromium's own resolver (no DNS query leaves the process); every request, loopback included
#: (``<-loopback>`` removes the implicit localhost bypass), must go through :data:`DEAD_PROXY`,
#: which cannot be reached, and there is no direct fallback; WebRTC may not bypass the proxy.
#: The report is self-contained and read from a ``file://`` URL, which needs none of it.
NO_NETWORK_ARGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    f"--proxy-server={DEAD_PROXY}",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-features=MediaRouter,DialMediaRouteProvider,NetworkTimeServiceQuerying,"
    "OptimizationHints,AutofillServerCommunication,Translate,CertificateTransparencyComponentUpdater",
)


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    env = os.environ.get("WATTWISE_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary, or ConfigError saying how to install one."""
    found = find_chromium()
    if found is None:
        raise ConfigError(
            "--pdf needs a headless Chromium and none was found: install it (Debian/Ubuntu: "
            "apt-get install chromium) or set WATTWISE_CHROMIUM to its path; the HTML report "
            "needs nothing"
        )
    return found


def base_args(binary: str, profile: str) -> list[str]:
    """Flags for a quiet, offline (:data:`NO_NETWORK_ARGS`), throw-away headless browser."""
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *NO_NETWORK_ARGS,
    ]


def run_chromium(extra: list[str], url: str, *, binary: str | None = None) -> str:
    """Run headless Chromium on ``url`` with ``extra`` flags; return its stderr (the console
    log when ``--enable-logging=stderr`` is among the flags). Raises WattwiseError on failure."""
    exe = binary or require_chromium()
    with tempfile.TemporaryDirectory(prefix="wattwise-chromium-") as profile:
        try:
            proc = subprocess.run(
                [*base_args(exe, profile), *extra, url],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise WattwiseError(f"chromium did not finish within {TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise WattwiseError(f"cannot run {exe}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise WattwiseError(f"chromium failed (exit code {proc.returncode}): {tail[0]}")
    return proc.stderr


def print_pdf(html: Path, pdf: Path, *, binary: str | None = None) -> Path:
    """Print ``html`` to ``pdf`` (A4, backgrounds, no header/footer), atomically: a failed print
    leaves a previous ``pdf`` untouched. Returns ``pdf``."""
    with atomic_output(pdf) as tmp:
        run_chromium(
            [f"--print-to-pdf={tmp}", "--no-pdf-header-footer"],
            html.resolve().as_uri(),
            binary=binary,
        )
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise WattwiseError(f"chromium wrote no PDF to {pdf}")
    return pdf


def screenshot(
    html: Path, png: Path, *, width: int = 1280, height: int = 2400, binary: str | None = None
) -> str:
    """Screenshot ``html`` at ``width`` × ``height`` px into ``png`` (atomically); returns the
    browser's console log (stderr with ``--enable-logging=stderr``) for checking for page
    errors."""
    with atomic_output(png) as tmp:
        log = run_chromium(
            [
                f"--screenshot={tmp}",
                f"--window-size={width},{height}",
                "--enable-logging=stderr",
                "--v=0",
            ],
            html.resolve().as_uri(),
            binary=binary,
        )
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise WattwiseError(f"chromium wrote no screenshot to {png}")
    return log


def console_errors(log: str) -> list[str]:
    """Lines of a Chromium log that report page errors: uncaught exceptions, console errors,
    blocked (Content-Security-Policy) or failed resource loads."""
    needles = (
        "Uncaught",
        ":CONSOLE",
        "Refused to",
        "Content Security Policy",
        "net::ERR_",
        "Failed to load resource",
    )
    return [line for line in log.splitlines() if any(n in line for n in needles)]
