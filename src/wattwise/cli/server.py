"""``wattwise server`` (serve, ``migrate``, ``token create|list|revoke``), ``wattwise push``, and
the ``--server`` / ``--tag`` / ``--model`` options of ``wattwise run``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
DB_ENV = "WATTWISE_SERVER_DB"


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help=f"server database: a SQLite file or postgresql+psycopg://... (default: ${DB_ENV}, "
        "else server.db in the user data directory, beside the ledger)",
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import whole
    from wattwise.cli import Parser

    p = sub.add_parser(
        "server",
        help="run the team server (REST API + dashboard) or manage its database and tokens",
        description="Serve the REST API (/api/v1) and the dashboard over a server database "
        "(SQLite file by default, PostgreSQL with --db postgresql+psycopg://...). Needs "
        "pip install 'wattwise[server]'.",
    )
    _add_db(p)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})")
    p.add_argument("--port", type=whole(low=0, high=65535), default=DEFAULT_PORT,
                   help=f"port to listen on ({DEFAULT_PORT}; 0: any free port)")  # fmt: skip
    p.set_defaults(handler=_serve)
    ss = p.add_subparsers(dest="server_command", metavar="SUBCOMMAND", parser_class=Parser)
    m = ss.add_parser("migrate", help="create or upgrade the server database's schema")
    _add_db(m)
    m.set_defaults(handler=_migrate)
    tok = ss.add_parser("token", help="create, list or revoke tokens")
    ts = tok.add_subparsers(dest="token_command", metavar="ACTION", parser_class=Parser)
    c = ts.add_parser("create", help="a new token of a project (printed once, on the last line)")
    c.add_argument("--project", required=True, help="the project (created when new)")
    c.add_argument("--scope", default="ingest,read", help="ingest,read,admin (default ingest,read)")
    c.add_argument("--expires", metavar="DURATION", help="e.g. 90d, 12h (default: never)")
    c.add_argument("--label", default="", help="a note saying what the token is for")
    _add_db(c)
    c.set_defaults(handler=_token_create)
    ls = ts.add_parser("list", help="the tokens (never their secrets)")
    ls.add_argument("--project", help="only this project's")
    _add_db(ls)
    ls.set_defaults(handler=_token_list)
    rv = ts.add_parser("revoke", help="revoke a token (its dashboard sessions end too)")
    rv.add_argument("token_id", type=whole(low=1, high=2**31 - 1), help="the id from 'list'")
    _add_db(rv)
    rv.set_defaults(handler=_token_revoke)
    tok.set_defaults(handler=lambda _a: (tok.print_help(sys.stderr), 2)[1])

    push = sub.add_parser(
        "push",
        help="push runs waiting in the push spool to the team server",
        description="Push every run kept while the server was unreachable (retried with "
        "back-off); the server is --server or $WATTWISE_SERVER_URL, the token $WATTWISE_TOKEN.",
    )
    push.add_argument("--server", metavar="URL", help="the server (default $WATTWISE_SERVER_URL)")
    push.add_argument("--retries", type=whole(low=0, high=100), default=5,
                      help="retries per run, back-off doubling from 0.5 s (default 5)")  # fmt: skip
    push.set_defaults(handler=_push)


def _engine(args: argparse.Namespace) -> Any:
    import os

    from wattwise.ledger.location import default_db_path
    from wattwise.server.db import open_engine

    url = (
        args.db or os.environ.get(DB_ENV, "").strip() or str(default_db_path().parent / "server.db")
    )
    return open_engine(url)


def _migrate(args: argparse.Namespace) -> int:
    from wattwise.server.db import migrate

    engine, loc = _engine(args)
    before, after = migrate(engine, loc.display)
    if before.current:
        print(f"{loc.display}: schema is current (revision {after.revision})")
    else:
        print(f"{loc.display}: migrated from revision {before.revision or 'none'} to "
              f"{after.revision} (ledger schema {after.ledger_version})")  # fmt: skip
    return 0


def _serve(args: argparse.Namespace) -> int:
    from wattwise.errors import ConfigError

    try:
        import uvicorn
    except ImportError:
        raise ConfigError("wattwise server needs pip install 'wattwise[server]'") from None
    from wattwise.server.app import create_app
    from wattwise.server.db import migrate

    engine, loc = _engine(args)
    if loc.in_memory:
        raise ConfigError("--db: an in-memory database keeps nothing: give a file or a URL")
    migrate(engine, loc.display)  # refuses a newer schema in one line
    sys.stderr.write(f"wattwise server: {loc.display} on http://{args.host}:{args.port}/\n")
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from wattwise.server import auth
    from wattwise.server.db import migrate

    scopes = auth.parse_scopes(args.scope)
    expires_s = auth.parse_expiry_s(args.expires) if args.expires else None
    engine, loc = _engine(args)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        project_id = auth.ensure_project(conn, args.project)
        token_id, token = auth.create_token(
            conn, project_id, scopes, expires_s=expires_s, label=args.label
        )
    until = f", expires in {args.expires}" if args.expires else ""
    sys.stderr.write(f"token {token_id} of project {args.project!r}, scopes "
                     f"{','.join(scopes)}{until}; shown once, keep it secret:\n")  # fmt: skip
    print(token)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from wattwise.server import auth
    from wattwise.server import schema as s
    from wattwise.server.db import check_schema

    engine, loc = _engine(args)
    check_schema(engine, loc.display)
    with engine.connect() as conn:
        pid = None
        if args.project:
            pid = conn.execute(
                sa.select(s.projects.c.project_id).where(s.projects.c.name == args.project)
            ).scalar()
            pid = -1 if pid is None else pid
        rows = auth.list_tokens(conn, pid)
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
        print(f"{r['token_id']:>4}  {r['project']}  {r['prefix']}...  {r['scopes']}  {state}"
              f"{'  ' + str(r['label']) if r['label'] else ''}")  # fmt: skip
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from wattwise.errors import ConfigError
    from wattwise.server import auth
    from wattwise.server.db import check_schema

    engine, loc = _engine(args)
    check_schema(engine, loc.display)
    with engine.begin() as conn:
        if not auth.revoke_token(conn, args.token_id):
            raise ConfigError(f"no live token {args.token_id}")
    print(f"token {args.token_id} revoked")
    return 0


def _push(args: argparse.Namespace) -> int:
    from wattwise.errors import ConfigError
    from wattwise.push.client import push_pending, target_from

    target = target_from(args.server)
    if target is None:
        raise ConfigError("wattwise push: give --server URL or set WATTWISE_SERVER_URL")
    report = push_pending(target, retries=args.retries)
    sys.stderr.write(f"wattwise: {report.line(target.url)}\n")
    return 1 if report.waiting or report.rejected else 0


# --------------------------------------------------------------------------- wattwise run


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``wattwise run --server URL --tag TAG --model NAME``."""
    p.add_argument("--server", metavar="URL",
                   help="push the run to this team server (default $WATTWISE_SERVER_URL; token "
                   "in $WATTWISE_TOKEN); kept and pushed later when unreachable")  # fmt: skip
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="a tag for the run on the server (repeatable)")  # fmt: skip
    p.add_argument("--model", metavar="NAME", help="the model the run trains or serves")


def push_after_run(args: argparse.Namespace, result: Any, ctx: Any) -> None:
    """Push a finished run when a server is named (``--server`` / env); one line on stderr.
    A server that cannot take it now leaves the run in the push spool (``wattwise push``)."""
    from wattwise.errors import WattwiseError
    from wattwise.push.client import push_run_document, target_from
    from wattwise.push.sink import run_document

    try:
        target = target_from(getattr(args, "server", None))
        if target is None:
            return
        doc = run_document(result, ctx, tags=args.tag, model=args.model)
        report = push_run_document(target, doc)
    except (WattwiseError, OSError) as exc:
        sys.stderr.write(f"wattwise: run not pushed: {exc}\n")
        return
    sys.stderr.write(f"wattwise: {report.line(target.url)}\n")
