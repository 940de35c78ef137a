"""Cloud detection against fake metadata services on the loopback interface (never the real one)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wattwise.accounting.detect import ENV_VAR, detect_cloud


def _server(routes: dict[tuple[str, str], tuple[dict[str, str], str]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            need = routes.get((method, self.path))
            if need is None or any(self.headers.get(k) != v for k, v in need[0].items()):
                self.send_response(404)
                self.end_headers()
                return
            body = need[1].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_PUT(self) -> None:
            self._answer("PUT")

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[tuple[str, str], tuple[dict[str, str], str]]) -> str:
        srv = _server(routes)
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()


def test_aws_imdsv2(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve(
        {
            ("PUT", "/latest/api/token"): ({"X-aws-ec2-metadata-token-ttl-seconds": "60"}, "tok"),
            ("GET", "/latest/meta-data/placement/region"): (
                {"X-aws-ec2-metadata-token": "tok"},
                "eu-west-3",
            ),
        }
    )
    loc, _ = detect_cloud(timeout_s=2, environ={ENV_VAR: base})
    assert loc is not None and (loc.cloud, loc.region) == ("aws", "eu-west-3")


def test_gcp_zone_to_region(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve(
        {
            ("GET", "/computeMetadata/v1/instance/zone"): (
                {"Metadata-Flavor": "Google"},
                "projects/1234/zones/europe-west1-b",
            )
        }
    )
    loc, _ = detect_cloud(timeout_s=2, environ={ENV_VAR: base})
    assert loc is not None and (loc.cloud, loc.region) == ("gcp", "europe-west1")


def test_azure_location(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve(
        {
            ("GET", "/metadata/instance/compute/location?api-version=2021-02-01&format=text"): (
                {"Metadata": "true"},
                "westeurope",
            )
        }
    )
    loc, _ = detect_cloud(timeout_s=2, environ={ENV_VAR: base})
    assert loc is not None and (loc.cloud, loc.region) == ("azure", "westeurope")


def test_nothing_answers_gives_reasons(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve({})
    loc, reasons = detect_cloud(timeout_s=2, environ={ENV_VAR: base})
    assert loc is None and len(reasons) == 3
