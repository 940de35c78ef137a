"""The team server: a REST API and a web dashboard over the ledger's schema (``[server]`` extra).

``wattwise server`` runs :func:`wattwise.server.app.create_app` under uvicorn. The database is a
ledger (the same tables, :mod:`wattwise.ledger.schema`) plus the server's own tables
(:mod:`.schema`: projects, tokens, sessions and a per-run index for aggregates in SQL), migrated
with Alembic (:mod:`.db`). Pushing runs from where they happen is :mod:`.client` (standard
library only: no web framework needed on a training machine) and :class:`.sink.ServerSink`.

Nothing here is imported by ``import wattwise``; fastapi, uvicorn and alembic are imported only
by the modules that serve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wattwise.push.sink import ServerSink

__all__ = ["ServerSink"]


def __getattr__(name: str) -> Any:
    if name == "ServerSink":
        from wattwise.push.sink import ServerSink

        return ServerSink
    raise AttributeError(f"module 'wattwise.server' has no attribute {name!r}")
