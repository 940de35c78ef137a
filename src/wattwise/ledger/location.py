"""Where the ledger lives: a database URL from ``--db``, ``WATTWISE_DB`` or the default file.

Accepted forms:

* ``None``: ``$WATTWISE_DB`` if set, else ``$XDG_DATA_HOME/wattwise/ledger.db`` (default
  ``~/.local/share/wattwise/ledger.db``);
* a plain file path (``runs.db``, ``~/ledgers/team.db``): a SQLite file;
* a SQLAlchemy URL: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
  ``postgresql+psycopg://user:password@host/db`` (the ``postgres`` extra installs psycopg).

A SQLite URL takes one option, ``?timeout=S`` (seconds a write waits for another writer's lock
before each retry; a positive number). Any other option, an empty location (``--db ""``) or a bad
value is a :class:`~wattwise.errors.ConfigError` (one line, exit 2), never an internal error.
``sqlite://`` (in memory) is accepted here but keeps nothing after the process exits, so commands
that store runs refuse it (:func:`require_persistent`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wattwise.errors import ConfigError, LedgerError
from wattwise.validate import check_number

ENV_VAR = "WATTWISE_DB"
#: Options a SQLite ledger URL may carry, with what they mean.
SQLITE_OPTIONS = {"timeout": "seconds a write waits for another writer's lock per attempt"}


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
    #: ``?timeout=S`` of a SQLite URL (seconds), None when not given.
    timeout_s: float | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def in_memory(self) -> bool:
        """True for in-memory SQLite (``sqlite://``): nothing outlives the process."""
        return self.is_sqlite and self.sqlite_path is None

    @property
    def key(self) -> str:
        """What identifies this database across spellings (the resolved file, or the URL)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path.resolve())
        return self.url


def require_persistent(location: LedgerLocation) -> LedgerLocation:
    """``location`` if it keeps what is written after the process exits, else ConfigError.

    Commands that store runs call this: an in-memory ledger would report a run stored that is
    gone the moment wattwise exits.
    """
    if location.in_memory:
        raise ConfigError(
            f"--db {location.url} is an in-memory database: a run stored there is gone when "
            "wattwise exits; give a file path or a database server URL"
        )
    return location


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

    Raises :class:`ConfigError` (one line) for an empty ``url`` or a SQLite URL option that is
    unknown or invalid, :class:`LedgerError` for a malformed URL. Nothing is opened or created.
    An empty ``$WATTWISE_DB`` counts as unset.
    """
    env = os.environ if env is None else env
    if url is not None and not url.strip():
        raise ConfigError(
            "--db is empty: give a SQLite file path or a database URL "
            "(omit --db for $WATTWISE_DB or the default ledger)"
        )
    if url is None:
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
        timeout_s = _sqlite_timeout_s(url, dict(parsed.query))
        database = parsed.database
        if database and database.startswith("file:"):
            raise ConfigError(
                f"ledger URL {url!r}: SQLite 'file:' URIs are not supported; "
                "give the file path (sqlite:////abs/path.db)"
            )
        if not database or database == ":memory:":
            return LedgerLocation(url=url, display=url, sqlite_path=None, timeout_s=timeout_s)
        path = _not_a_folder(Path(database).expanduser().absolute())
        # Keep query options (e.g. ``?timeout=30``) but make the path absolute.
        absolute = parsed.set(database=str(path)).render_as_string(hide_password=False)
        return LedgerLocation(
            url=absolute, display=str(path), sqlite_path=path, timeout_s=timeout_s
        )
    if parsed.get_backend_name() not in SERVER_BACKENDS:
        raise ConfigError(
            f"--db {parsed.render_as_string(hide_password=True)!r}: "
            f"{parsed.get_backend_name()!r} is not a database wattwise can keep a ledger in; "
            "give a SQLite file path or a sqlite:// or postgresql:// URL"
        )
    return LedgerLocation(
        url=url, display=parsed.render_as_string(hide_password=True), sqlite_path=None
    )


#: Database servers a ledger URL may name besides SQLite (SQLAlchemy backend names).
SERVER_BACKENDS = ("postgresql",)


def _not_a_folder(path: Path) -> Path:
    """``path``, or ConfigError when it is a folder (a ledger is a file)."""
    if path.is_dir():
        raise ConfigError(
            f"--db {str(path)!r} is a folder: give the ledger's file path "
            f"(e.g. {str(path / 'ledger.db')!r})"
        )
    return path


def _file_location(path: Path) -> LedgerLocation:
    _not_a_folder(path)
    path = path.absolute()
    return LedgerLocation(url=f"sqlite:///{path}", display=str(path), sqlite_path=path)


def _sqlite_timeout_s(url: str, query: dict[str, object]) -> float | None:
    """Validate a SQLite URL's options; return its ``timeout`` (s) or None."""
    unknown = sorted(k for k in query if k not in SQLITE_OPTIONS)
    if unknown:
        known = ", ".join(f"{k} ({v})" for k, v in SQLITE_OPTIONS.items())
        raise ConfigError(
            f"ledger URL {url!r}: unknown option {', '.join(map(repr, unknown))}; known: {known}"
        )
    raw = query.get("timeout")
    if raw is None:
        return None
    if isinstance(raw, tuple):  # ?timeout=1&timeout=2
        raise ConfigError(f"ledger URL {url!r}: option 'timeout' given more than once")
    return check_number(raw, f"ledger URL option timeout={raw}", low=0.0, low_inclusive=False,
                        high=86400.0)


def ledger_files(db: str | None) -> tuple[Path, ...]:
    """The ledger file that ``--db`` (or ``$WATTWISE_DB``, or the default) names, for
    :func:`wattwise.outputs.check_output_path`; empty for an in-memory or server database."""
    path = resolve_location(db).sqlite_path
    return () if path is None else (path,)
