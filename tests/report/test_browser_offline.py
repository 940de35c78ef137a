"""``--pdf`` makes no network call: headless Chromium, run as wattwise runs it, cannot resolve a
name or open a connection, not even to loopback, and the PDF is still written (atomically)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.clirun import cli_env
from wattwise.errors import WattwiseError
from wattwise.report.browser import NO_NETWORK_ARGS, base_args, find_chromium, print_pdf

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium here (Debian: apt-get install chromium; CI installs it)",
)


class CountingServer:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts; it stops itself
    after ``limit_s`` even if nobody stops it."""

    def __init__(self, limit_s: float = 120.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(1.0)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def settle(self) -> int:
        """Connections seen, after giving late ones a moment to arrive."""
        time.sleep(0.5)
        return self.connections

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    srv = CountingServer()
    try:
        yield srv
    finally:
        srv.close()


def _page(tmp_path: Path, port: int) -> Path:
    """A page that asks for a loopback image, stylesheet and fetch, and remote ones by name."""
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><head>"
        f"<link rel='stylesheet' href='http://127.0.0.1:{port}/style.css'>"
        "<link rel='stylesheet' href='https://fonts.googleapis.com/css?family=Roboto'>"
        "</head><body><h1>offline</h1>"
        f"<img src='http://127.0.0.1:{port}/a.png'>"
        f"<img src='http://localhost:{port}/b.png'>"
        "<img src='http://wattwise-test.example.org/c.png'>"
        f"<script>fetch('http://127.0.0.1:{port}/f').catch(() => 0)</script>"
        "</body></html>",
        encoding="utf-8",
    )
    return page


@needs_chromium
def test_pdf_print_makes_no_connection_even_to_loopback(
    tmp_path: Path, server: CountingServer
) -> None:
    pdf = print_pdf(_page(tmp_path, server.port), tmp_path / "page.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert server.settle() == 0


@needs_chromium
def test_without_the_offline_flags_the_same_page_does_connect(
    tmp_path: Path, server: CountingServer
) -> None:
    """Negative control: the page really makes Chromium connect when it is not cut off, so the
    test above can fail."""
    exe = find_chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="wattwise-test-chromium-") as profile:
        args = [a for a in base_args(exe, profile) if a not in NO_NETWORK_ARGS]
        subprocess.run(
            [*args, f"--print-to-pdf={tmp_path / 'control.pdf'}", _page(tmp_path, server.port)
             .as_uri()],
            capture_output=True,
            timeout=120,
            check=False,
        )  # fmt: skip
    assert server.settle() > 0


@needs_chromium
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_pdf_print_makes_no_name_lookup_and_opens_no_inet_stream_under_strace(
    tmp_path: Path, server: CountingServer
) -> None:
    """Every network system call of the whole process tree, as the reporter traced it."""
    trace = tmp_path / "trace"
    page, pdf = _page(tmp_path, server.port), tmp_path / "page.pdf"
    code = (
        "import sys; from pathlib import Path; from wattwise.report.browser import print_pdf\n"
        "print_pdf(Path(sys.argv[1]), Path(sys.argv[2]))\n"
    )
    p = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=network", "-o", str(trace),
         sys.executable, "-c", code, str(page), str(pdf)],
        capture_output=True, text=True, timeout=180, env=cli_env(), check=False,
    )  # fmt: skip
    if p.returncode != 0 and "ptrace" in p.stderr.lower():
        pytest.skip(f"strace cannot trace here: {p.stderr.strip()[:200]}")
    assert p.returncode == 0, p.stderr[-2000:]
    assert pdf.read_bytes().startswith(b"%PDF-")
    calls = trace.read_text(errors="replace").splitlines()
    streams = [c for c in calls if re.search(r"socket\(AF_INET6?, SOCK_STREAM", c)]
    dns = [c for c in calls if "htons(53)" in c or "htons(853)" in c]
    sends = [
        c for c in calls
        if re.search(r"send(to|msg|mmsg)\(", c) and re.search(r"sa_family=AF_INET6?\b", c)
    ]  # fmt: skip
    # Chromium's IPv6 reachability check connect()s a UDP socket, which sends nothing; anything
    # else reaching an inet address would be a connection.
    connects = [
        c for c in calls
        if re.search(r"connect\(\d+, \{sa_family=AF_INET6?,", c)
        and "2001:4860:4860::8888" not in c
    ]  # fmt: skip
    assert (streams, dns, sends, connects) == ([], [], [], []), "\n".join(
        (streams + dns + sends + connects)[:10]
    )
    assert server.settle() == 0


def test_a_failed_print_leaves_the_previous_pdf(tmp_path: Path) -> None:
    """A browser that fails (a real process exiting 1) leaves the old PDF as it was."""
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-old")
    false = shutil.which("false")
    assert false is not None
    with pytest.raises(WattwiseError, match="chromium failed"):
        print_pdf(html, pdf, binary=false)
    assert pdf.read_bytes() == b"%PDF-old"
    assert [f for f in os.listdir(tmp_path) if ".wattwise-tmp." in f] == []


def test_a_browser_that_writes_nothing_leaves_the_previous_pdf(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-old")
    true = shutil.which("true")
    assert true is not None
    with pytest.raises(WattwiseError, match="wrote no PDF"):
        print_pdf(html, pdf, binary=true)
    assert pdf.read_bytes() == b"%PDF-old"
