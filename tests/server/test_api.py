"""The REST API on SQLite and on a real PostgreSQL (the ``served`` fixture runs every test on
both): pushing is idempotent, reads filter and aggregate in SQL, and a token sees only its
project's runs with the scopes it was given."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from server.conftest import A_RUNS, Served
from server.runs import make_doc


def _ids(body: dict[str, Any]) -> set[str]:
    return {r["run_id"] for r in body["runs"]}


def test_push_is_idempotent_by_run_id(served: Served) -> None:
    doc = make_doc("a-dup", day="2026-10-05")
    first = served.client.post("/api/v1/runs", json=doc, headers=served.h("a_ingest"))
    again = served.client.post("/api/v1/runs", json=doc, headers=served.h("a_ingest"))
    assert (first.status_code, first.json()["stored"]) == (201, True)
    assert (again.status_code, again.json()["stored"]) == (200, False)
    listed = served.client.get("/api/v1/runs?name=train&since=2026-10-05&until=2026-10-06",
                               headers=served.h("a")).json()  # fmt: skip
    assert listed["total"] == 1 and _ids(listed) == {"a-dup"}
    # the same run id from another project is refused, and A's run is untouched
    taken = served.client.post("/api/v1/runs", json=doc, headers=served.h("b"))
    assert taken.status_code == 409
    served.client.delete  # noqa: B018 - (no delete endpoint for runs: pushes are append-only)


def test_show_returns_the_pushed_document_with_its_footprint(served: Served) -> None:
    doc = served.a_runs[0]
    got = served.client.get(f"/api/v1/runs/{doc['run_id']}", headers=served.h("a_read")).json()
    assert got["energy"]["total_j"] == pytest.approx(doc["energy"]["total_j"])
    assert [w["name"] for w in got["windows"]] == [w["name"] for w in doc["windows"]]
    assert len(got["samples"]) == len(doc["samples"]) and got["tags"] == ["exp1", "baseline"]
    assert got["context"] == {"country": "FR"} and "FR" in got["footprint"]["location"]
    assert got["footprint"]["assumptions"], "every figure says what it assumed"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=exp1", {"a-run-1", "a-run-2"}),
        ("model=mistral-7b", {"a-run-3"}),
        ("hardware=A100", {"a-run-3"}),
        ("phase=eval", {"a-run-1"}),
        ("since=2026-11-03&until=2026-12-02", {"a-run-2", "a-run-3"}),
        ("name=%3Cscript", {"a-run-3"}),
        ("name=%25", set()),  # a LIKE wildcard in a filter is a literal character
    ],
)
def test_list_filters(served: Served, query: str, expected: set[str]) -> None:
    body = served.client.get(f"/api/v1/runs?{query}&until=2026-12-31", headers=served.h("a"))
    assert _ids(body.json()) & {r["run_id"] for r in served.a_runs} == expected


def test_aggregates_per_period_and_dimension_add_up(served: Served) -> None:
    def rows(group: str) -> list[dict[str, Any]]:
        q = f"/api/v1/aggregates?group={group}&since=2026-11-01&until=2026-12-31"
        return served.client.get(q, headers=served.h("a")).json()["rows"]

    total_j = sum(float(r["energy_j"]) for r in A_RUNS)  # type: ignore[arg-type]
    for period, keys in (
        ("day", ["2026-11-02", "2026-11-03", "2026-12-01"]),
        ("week", ["2026-11-02", "2026-11-30"]),
        ("month", ["2026-11", "2026-12"]),
    ):
        got = rows(period)
        assert [r["key"] for r in got] == keys
        assert sum(r["energy_j"] for r in got) == pytest.approx(total_j)
    by_tag = {r["key"]: r for r in rows("tag")}
    assert by_tag["exp1"]["runs"] == 2 and by_tag["exp1"]["energy_j"] == pytest.approx(10.8e6)
    by_phase = {r["key"]: r["energy_j"] for r in rows("phase")}
    assert by_phase["eval"] == pytest.approx(3.6e6)  # the phase's own energy, not its run's
    by_model = {r["key"]: r for r in rows("model")}
    # energy per token over the runs that counted tokens: (7.2 + 3.6) MJ / 2000 tokens
    assert by_model["llama-8b"]["energy_per_token_j"] == pytest.approx(10.8e6 / 2000)
    assert by_model["mistral-7b"]["energy_per_token_j"] is None
    fr, de = rows("location")[0], {r["key"]: r for r in rows("location")}
    assert fr["cost"] and all(c == "EUR" for r in de.values() for c in r["cost"])
    assert {"co2e_location_g", "co2e_market_g", "water_l"} <= set(fr)


def test_csv_export_has_a_row_per_run(served: Served) -> None:
    text = served.client.get("/api/v1/export.csv?until=2026-12-31&since=2026-11-01",
                             headers=served.h("a_read")).text  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["run_id"] for r in rows} == {r["run_id"] for r in served.a_runs}
    assert all(float(r["energy_j"]) > 0 and r["co2e_location_g"] for r in rows)


def _endpoints(served: Served) -> list[tuple[str, str]]:
    """(method, path with its parameters filled) of every endpoint of the OpenAPI schema."""
    schema = served.client.get("/api/v1/openapi.json", headers=served.h("a_read")).json()
    out = []
    for path, ops in schema["paths"].items():
        filled = path.replace("{run_id}", "a-run-1").replace(
            "{token_id}", str(served.token_ids["a_read"])
        )
        assert "{" not in filled, f"a path parameter the test does not know: {path}"
        out += [(m.upper(), filled) for m in ops]
    assert len(out) >= 8
    return out


def _call(served: Served, method: str, path: str, headers: dict[str, str]) -> Any:
    extra: dict[str, Any] = {"headers": headers}
    if method == "POST" and path.endswith("/runs"):
        extra["json"] = make_doc("a-run-1")
    if method == "POST" and path.endswith("/tokens"):
        path += "?scope=read"
    return served.client.request(method, path, **extra)


def test_every_endpoint_needs_a_valid_token(served: Served) -> None:
    bad = [{}, {"Authorization": "Bearer wwt_not-a-token"}, {"Authorization": "Basic eDp5"},
           served.h("a_expired"), served.h("a_revoked")]  # fmt: skip
    for method, path in [*_endpoints(served), ("GET", "/api/v1/openapi.json")]:
        for headers in bad:
            got = _call(served, method, path, headers)
            assert got.status_code == 401, (method, path, headers, got.text)
            assert "a-run-1" not in got.text


def test_another_projects_token_reads_nothing(served: Served) -> None:
    """Exhaustive over the endpoint list: B's token never sees A's runs or tokens."""
    a_ids = [r["run_id"] for r in served.a_runs]
    for method, path in _endpoints(served):
        if method != "GET":
            continue
        got = served.client.get(path, headers=served.h("b"))
        assert got.status_code in (200, 403, 404), (path, got.status_code)
        assert not any(i in got.text for i in a_ids), path
    for run_id in a_ids:
        assert served.client.get(f"/api/v1/runs/{run_id}", headers=served.h("b")).status_code == 404
    aggregated = served.client.get("/api/v1/aggregates?group=tag", headers=served.h("b")).json()
    assert [r["runs"] for r in aggregated["rows"]] == [1]  # B's own run only
    rows = served.client.get("/api/v1/export.csv", headers=served.h("b")).text.splitlines()
    assert len(rows) == 2 and "b-run-1" in rows[1]


def test_scopes(served: Served) -> None:
    doc = make_doc("a-scoped")
    assert (
        served.client.post("/api/v1/runs", json=doc, headers=served.h("a_read")).status_code == 403
    )
    assert served.client.get("/api/v1/runs", headers=served.h("a_ingest")).status_code == 403
    assert served.client.get("/api/v1/tokens", headers=served.h("a")).status_code == 403
    listed = served.client.get("/api/v1/tokens", headers=served.h("a_admin")).json()["tokens"]
    assert {t["project"] for t in listed} == {"A"}
    assert not any(re.search(r"wwt_[A-Za-z0-9_-]{40,}", str(t)) for t in listed)
    made = served.client.post("/api/v1/tokens?scope=ingest&expires=1d", headers=served.h("a_admin"))
    new = made.json()["token"]
    assert made.status_code == 201 and len(new) >= 4 + 43  # 256 bits, URL-safe
    bearer = {"Authorization": f"Bearer {new}"}
    assert served.client.post("/api/v1/runs", json=doc, headers=bearer).status_code == 201
    gone = served.client.delete(f"/api/v1/tokens/{made.json()['token_id']}",
                                headers=served.h("a_admin"))  # fmt: skip
    assert gone.status_code == 200
    assert served.client.post("/api/v1/runs", json=doc, headers=bearer).status_code == 401
    # an admin of A cannot revoke B's token
    b_id = served.token_ids["b"]
    assert (
        served.client.delete(f"/api/v1/tokens/{b_id}", headers=served.h("a_admin")).status_code
        == 404
    )


def test_a_broken_document_is_refused_not_a_server_error(served: Served) -> None:
    for body in ({"run_id": "x"}, {**make_doc("a-bad"), "started_at": "yesterday"},
                 {**make_doc("a-bad2"), "tags": "not-a-list"}, {**make_doc("a bad id")},
                 {**make_doc("a-bad3"), "exit_code": 10**30}):  # fmt: skip
        got = served.client.post("/api/v1/runs", json=body, headers=served.h("a"))
        assert got.status_code == 422, (body.get("run_id"), got.text)


@pytest.mark.parametrize("group", ["day", "week", "month", "tag", "model", "hardware", "phase",
                                   "status", "location"])  # fmt: skip
def test_the_rollup_says_what_the_runs_say(served: Served, group: str) -> None:
    from wattwise.server.store import Filters, aggregate

    with served.engine.connect() as conn:
        for f in (Filters(), Filters(since="2026-11-03", until="2026-12-31")):
            fast = aggregate(conn, 1, group, f, use_rollup=True)
            slow = aggregate(conn, 1, group, f, use_rollup=False)
            assert [r["key"] for r in fast] == [r["key"] for r in slow]
            for a, b in zip(fast, slow, strict=True):
                assert a.pop("cost") == pytest.approx(b.pop("cost")), (group, a["key"])
                assert a == pytest.approx(b), (group, a["key"])
