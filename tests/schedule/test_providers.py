"""The live providers against one local fake HTTP server that speaks each format.

The server binds a free port (0); nothing here reaches the network. One module-scoped server
serves every test; it counts requests so the cache can be checked.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from wattwise.cli import main
from wattwise.data.hourly_regions import hourly_region
from wattwise.errors import ConfigError
from wattwise.schedule.providers import ProviderError, provider_signal
from wattwise.schedule.providers.http import get_json

START = datetime(2030, 5, 1, tzinfo=timezone.utc)
HITS: list[str] = []


def _value(t: datetime) -> float:
    """The fake grid: clean between 10:00 and 14:00 UTC, dirty otherwise."""
    return 50.0 if 10 <= t.hour < 14 else 300.0


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


class Fake(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        HITS.append(url.path)
        if url.path.startswith("/intensity/"):
            t0 = datetime.fromisoformat(url.path.split("/")[2].replace("Z", "+00:00"))
            rows = [
                {
                    "from": _z(t0 + i * timedelta(minutes=30)),
                    "to": _z(t0 + (i + 1) * timedelta(minutes=30)),
                    "intensity": {
                        "forecast": _value(t0 + i * timedelta(minutes=30)),
                        "actual": None,
                        "index": "moderate",
                    },
                }
                for i in range(48)
            ]
            self._send(200, {"data": rows})
        elif url.path == "/v3/carbon-intensity/forecast":
            if self.headers.get("auth-token") != "em-token":
                self._send(401, {"error": "bad token"})
                return
            rows = [
                {
                    "datetime": _z(START + i * timedelta(hours=1)),
                    "carbonIntensity": _value(START + i * timedelta(hours=1)),
                }
                for i in range(24)
            ]
            self._send(200, {"zone": q.get("zone"), "forecast": rows})
        elif url.path == "/login":
            ok = base64.b64encode(b"wt-user:wt-pass").decode()
            if self.headers.get("Authorization") != f"Basic {ok}":
                self._send(403, {"error": "no"})
                return
            self._send(200, {"token": "wt-token"})
        elif url.path == "/v3/forecast":
            assert self.headers.get("Authorization") == "Bearer wt-token"
            rows = [
                {
                    "point_time": (START + i * timedelta(minutes=5)).isoformat(),
                    "value": _value(START + i * timedelta(minutes=5)) / 0.45359237,
                }
                for i in range(24 * 12)
            ]
            self._send(
                200, {"data": rows, "meta": {"units": "lbs_co2_per_mwh", "region": q.get("region")}}
            )
        elif url.path == "/emissions/forecasts/current":
            rows = [
                {
                    "location": q.get("location"),
                    "timestamp": _z(START + i * timedelta(minutes=30)),
                    "duration": 30,
                    "value": _value(START + i * timedelta(minutes=30)),
                }
                for i in range(48)
            ]
            self._send(200, [{"location": q.get("location"), "forecastData": rows}])
        elif url.path == "/slow":
            time.sleep(1.0)
            self._send(200, {})
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def env(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WATTWISE_GB_CARBON_INTENSITY_URL", server)
    monkeypatch.setenv("WATTWISE_ELECTRICITYMAPS_URL", server)
    monkeypatch.setenv("WATTWISE_ELECTRICITYMAPS_TOKEN", "em-token")
    monkeypatch.setenv("WATTWISE_WATTTIME_URL", server)
    monkeypatch.setenv("WATTWISE_WATTTIME_USER", "wt-user")
    monkeypatch.setenv("WATTWISE_WATTTIME_PASSWORD", "wt-pass")
    monkeypatch.setenv("WATTWISE_CARBON_AWARE_URL", server)
    return server


CASES = [
    ("gb-carbon-intensity", "GB", "average"),
    ("electricitymaps", "CISO", "average"),
    ("watttime", "PJM", "marginal"),
    ("carbon-aware-sdk", "azure:eastus", "average"),
]


@pytest.mark.parametrize(("name", "region", "signal"), CASES)
def test_each_format_gives_the_fake_grid_hourly(
    env: str, name: str, region: str, signal: str
) -> None:
    curve = provider_signal(name)(hourly_region(region), START, START + timedelta(hours=24), signal)
    assert curve.forecast.startswith(f"forecast:{name}")
    assert curve.values_g_per_kwh[10:14] == pytest.approx([50.0] * 4)
    assert curve.values_g_per_kwh[3] == pytest.approx(300.0)
    assert curve.signal == signal and curve.assumed_hours == 0


def test_schedule_cli_with_a_provider_plans_in_the_clean_hours(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "schedule",
        "--provider",
        "electricitymaps",
        "--region",
        "CISO",
        "--duration",
        "4h",
        "--power-kw",
        "1",
        "--earliest",
        _z(START),
        "--deadline",
        _z(START + timedelta(hours=30)),
        "--json",
    ]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["plan"]["start_utc"] == "2030-05-01T10:00Z"
    assert doc["provenance"]["forecast"] == "forecast:electricitymaps+assumed"
    assert doc["provenance"]["assumed_hours"] == 6  # the 24 h forecast; history beyond


def test_answers_are_cached_and_the_cache_expires(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    HITS.clear()
    sig = provider_signal("gb-carbon-intensity")
    for _ in range(2):
        sig(hourly_region("GB"), START, START + timedelta(hours=24), "average")
    assert HITS.count("/intensity/" + _z(START) + "/" + _z(START + timedelta(hours=24))) == 1
    monkeypatch.setenv("WATTWISE_SCHEDULE_CACHE_S", "0")
    sig(hourly_region("GB"), START, START + timedelta(hours=24), "average")
    assert len(HITS) == 2


@pytest.mark.parametrize("with_httpx", [True, False])
def test_timeout_and_http_errors_are_one_clear_error(
    env: str, with_httpx: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if with_httpx:
        from integrations.requires import module

        module("httpx", "schedule")  # skipped without it (a failure in CI)
    else:
        monkeypatch.setitem(sys.modules, "httpx", None)  # import fails: urllib is used
    with pytest.raises(ProviderError, match=r"within 0\.3 s"):
        get_json("fake", f"{env}/slow", timeout_s=0.3, cache=False)
    with pytest.raises(ProviderError, match="HTTP 404"):
        get_json("fake", f"{env}/nothing", cache=False)
    monkeypatch.setenv("WATTWISE_ELECTRICITYMAPS_TOKEN", "wrong")
    with pytest.raises(ProviderError, match="check the token"):
        provider_signal("electricitymaps")(
            hourly_region("CISO"), START, START + timedelta(hours=4), "average"
        )


def test_unreachable_provider_is_exit_1_and_missing_settings_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATTWISE_GB_CARBON_INTENSITY_URL", "http://127.0.0.1:9")  # discard port
    base = ["schedule", "--region", "GB", "--duration", "1h", "--power-kw", "1"]
    assert main([*base, "--provider", "gb-carbon-intensity"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    monkeypatch.delenv("WATTWISE_ELECTRICITYMAPS_TOKEN", raising=False)
    assert main([*base, "--provider", "electricitymaps"]) == 2
    assert "WATTWISE_ELECTRICITYMAPS_TOKEN" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="choose from"):
        provider_signal("nope")


def test_no_provider_is_called_unless_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("WATTWISE_ELECTRICITYMAPS_TOKEN", "set-but-not-asked-for")
    argv = ["schedule", "--region", "GB", "--duration", "2h", "--power-kw", "1", "--json"]
    assert main(argv) == 0
    assert not json.loads(capsys.readouterr().out)["provenance"]["forecast"].startswith("forecast:")
