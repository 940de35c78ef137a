"""Where the ledger lives: a database URL from ``--db``, ``WATTWISE_DB`` or the default file.

Accepted forms:

* ``None``: ``$WATTWISE_DB`` if set, else ``$XDG_DATA_HOME/wattwise/ledger.db`` (default
  ``~/.local/share/wattwise/ledger.db``);
* a plain file path (``runs.db``, ``~/ledgers/team.db``): a SQLite file;
* a SQLAlchemy URL: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
  ``postgresql+psycopg://user:password@host/db`` (the ``postgres`` extra installs psycopg).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wattwise.errors import LedgerError

ENV_VAR = "WATTWISE_DB"


@dataclass(frozen=True)
class LedgerLocation:
    """A resolved ledger location.

    ``url`` is the SQLAlchemy URL to connect with; ``display`` names it in messages (the file path
    for SQLite, the URL with its password hidden otherwise); ``sqlite_path`` is the database file
    for file-based SQLite, None for in-memory SQLite and other databases.
    """

    url: str
    display: str
    sqlite_path: Path | None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """The default SQLite file: ``$XDG_DATA_HOME/wattwise/ledger.db`` or ``~/.local/share/...``."""
    env = os.environ if env is None else env
    data_home = env.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(data_home) if data_home and os.path.isabs(data_home) else None
    if base is None:
        base = Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return base / "wattwise" / "ledger.db"


def resolve_location(
    url: str | None = None, env: Mapping[str, str] | None = None
) -> LedgerLocation:
    """Turn ``url`` (or ``WATTWISE_DB``, or the default file) into a :class:`LedgerLocation`.

    Raises :class:`LedgerError` for a malformed URL. Nothing is opened or created here.
    """
    env = os.environ if env is None else env
    if url is None or not url.strip():
        url = env.get(ENV_VAR, "").strip() or None
    if url is None:
        return _file_location(default_db_path(env))
    if "://" not in url:
        return _file_location(Path(url).expanduser())

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise LedgerError(f"invalid ledger URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return LedgerLocation(url=url, display=url, sqlite_path=None)
        path = Path(database).expanduser().absolute()
        # Keep query options (e.g. ``?timeout=30``) but make the path absolute.
        absolute = parsed.set(database=str(path)).render_as_string(hide_password=False)
        return LedgerLocation(url=absolute, display=str(path), sqlite_path=path)
    return LedgerLocation(
        url=url, display=parsed.render_as_string(hide_password=True), sqlite_path=None
    )


def _file_location(path: Path) -> LedgerLocation:
    path = path.absolute()
    return LedgerLocation(url=f"sqlite:///{path}", display=str(path), sqlite_path=path)


def ledger_files(db: str | None) -> tuple[Path, ...]:
    """The ledger file that ``--db`` (or ``$WATTWISE_DB``, or the default) names, for
    :func:`wattwise.outputs.check_output_path`; empty for an in-memory or server database."""
    path = resolve_location(db).sqlite_path
    return () if path is None else (path,)
