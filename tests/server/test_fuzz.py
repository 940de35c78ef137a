"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): whatever a
client sends — with a valid token — the server answers without a 5xx. A small number of
examples per endpoint in the default suite (on SQLite and PostgreSQL); more with
``WATTWISE_FUZZ_EXAMPLES``."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from integrations.requires import module
from server.conftest import Served

EXAMPLES = int(os.environ.get("WATTWISE_FUZZ_EXAMPLES", "4"))


def _operations(served: Served) -> list[Any]:
    schemathesis = module("schemathesis", "dev")
    raw = served.client.get("/api/v1/openapi.json", headers=served.h("a_admin")).json()
    schema = schemathesis.openapi.from_dict(raw)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 8
    return ops


def test_no_5xx_whatever_the_request(served: Served) -> None:
    headers = {**served.h("a_admin")}
    admin_ingest = served.tokens["a"]  # pushes need ingest: fuzz them with that token
    seen: list[int] = []
    for op in _operations(served):
        token = admin_ingest if op.method.upper() == "POST" and op.path.endswith("/runs") else None
        auth = {"Authorization": f"Bearer {token}"} if token else headers

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],  # no shrinking: the first case shows
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=op.as_strategy(), auth=st.just(auth))
        def check(case: Any, auth: dict[str, str]) -> None:
            kwargs: dict[str, Any] = {"params": case.query or None, "headers": auth}
            if isinstance(case.body, dict | list | str | int | float | bool):  # not NOT_SET
                kwargs["json"] = case.body
            got = served.client.request(case.method, case.formatted_path, **kwargs)
            seen.append(got.status_code)
            assert got.status_code < 500, (case.method, case.formatted_path, case.body, got.text)

        check()
    assert len(seen) >= 8 and any(code < 300 for code in seen)


def test_a_nul_character_in_a_query_or_path_is_422_not_a_database_error(served: Served) -> None:
    # found by the fuzzer on PostgreSQL (text cannot hold NUL): an aggregate filtered by tag "\x00"
    headers = served.h("a_admin")
    for path, params in (("/api/v1/aggregates", {"tag": "a\x00b"}),
                         ("/api/v1/runs", {"hardware": "\x00"}),
                         ("/api/v1/runs/ab%00cd", None)):  # fmt: skip
        got = served.client.get(path, params=params, headers=headers)
        assert got.status_code == 422, (path, got.status_code, got.text)
        assert "NUL" in got.json()["detail"]
