"""Projects, tokens and dashboard sessions.

A token is ``wwt_`` + 43 URL-safe characters: 32 bytes (256 bits) from :mod:`secrets`. Only its
SHA-256 is stored (a token is as random as a key, so one unsalted hash is enough to make a
stolen database useless for logging in); the token itself is returned once, by
:func:`create_token`. ``scopes``: ``ingest`` (push runs), ``read`` (the API's reads and the
dashboard), ``admin`` (the project's tokens). A token is refused once it expired or was revoked.

A dashboard session is another random secret in an ``HttpOnly``, ``SameSite=Strict`` cookie, also
stored as a hash, bound to the token that logged in (revoking the token ends its sessions) and
carrying the CSRF token its forms must echo.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from wattwise.errors import ConfigError
from wattwise.server import schema as s

SCOPES = ("ingest", "read", "admin")
TOKEN_PREFIX = "wwt_"
TOKEN_BYTES = 32  # 256 bits
#: How long a dashboard log-in lasts.
SESSION_S = 12 * 3600
_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60}


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def digest(secret: str) -> str:
    """SHA-256 hex of a token or session secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(text: str) -> tuple[str, ...]:
    """``"ingest,read"`` -> ``("ingest", "read")``; ConfigError for an unknown or empty scope."""
    scopes = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    bad = [p for p in scopes if p not in SCOPES]
    if bad or not scopes:
        raise ConfigError(
            f"--scope: {', '.join(bad) or 'none given'}: give a comma-separated list of "
            f"{', '.join(SCOPES)}"
        )
    return scopes


def parse_expiry_s(text: str) -> int:
    """``90d`` / ``12h`` / ``30m`` -> seconds; ConfigError otherwise."""
    m = _DURATION.match(text)
    if m is None or int(m.group(1)) == 0:
        raise ConfigError(f"--expires {text!r}: give a positive duration such as 90d, 12h or 30m")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


@dataclass(frozen=True)
class Principal:
    """Who a request is: a valid token's project and scopes."""

    token_id: int
    project_id: int
    project: str
    scopes: tuple[str, ...]

    def can(self, scope: str) -> bool:
        return scope in self.scopes


def ensure_project(conn: sa.Connection, name: str) -> int:
    """The id of project ``name``, created when new."""
    if not name.strip() or len(name) > 200:
        raise ConfigError("--project: give a project name of 1-200 characters")
    found = conn.execute(
        sa.select(s.projects.c.project_id).where(s.projects.c.name == name)
    ).scalar()
    if found is not None:
        return int(found)
    res = conn.execute(s.projects.insert().values(name=name, created_at=iso(now())))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def create_token(
    conn: sa.Connection,
    project_id: int,
    scopes: tuple[str, ...],
    *,
    expires_s: int | None = None,
    label: str = "",
) -> tuple[int, str]:
    """A new token of ``project_id``: (its id, the token itself — shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    t = now()
    res = conn.execute(
        s.tokens.insert().values(
            project_id=project_id,
            token_hash=digest(token),
            prefix=token[:10],
            scopes=",".join(scopes),
            label=label,
            created_at=iso(t),
            expires_at=None if expires_s is None else iso(t + timedelta(seconds=expires_s)),
        )
    )
    return int(res.inserted_primary_key[0]), token  # type: ignore[index]


def revoke_token(conn: sa.Connection, token_id: int, project_id: int | None = None) -> bool:
    """Revoke a token (and end its sessions); False when there is no such (live) token."""
    q = s.tokens.update().where(s.tokens.c.token_id == token_id, s.tokens.c.revoked_at.is_(None))
    if project_id is not None:
        q = q.where(s.tokens.c.project_id == project_id)
    done = conn.execute(q.values(revoked_at=iso(now()))).rowcount > 0
    if done:
        conn.execute(s.sessions.delete().where(s.sessions.c.token_id == token_id))
    return done


def list_tokens(conn: sa.Connection, project_id: int | None = None) -> list[dict[str, object]]:
    """Tokens (never their secret): id, project, prefix, scopes, label, times."""
    q = sa.select(
        s.tokens.c.token_id,
        s.projects.c.name.label("project"),
        s.tokens.c.prefix,
        s.tokens.c.scopes,
        s.tokens.c.label,
        s.tokens.c.created_at,
        s.tokens.c.expires_at,
        s.tokens.c.revoked_at,
    ).join(s.projects, s.projects.c.project_id == s.tokens.c.project_id)
    if project_id is not None:
        q = q.where(s.tokens.c.project_id == project_id)
    return [dict(r._mapping) for r in conn.execute(q.order_by(s.tokens.c.token_id))]


def _principal_where(conn: sa.Connection, cond: sa.ColumnElement[bool]) -> Principal | None:
    row = conn.execute(
        sa.select(
            s.tokens.c.token_id,
            s.tokens.c.project_id,
            s.projects.c.name,
            s.tokens.c.scopes,
            s.tokens.c.expires_at,
            s.tokens.c.revoked_at,
        )
        .join(s.projects, s.projects.c.project_id == s.tokens.c.project_id)
        .where(cond)
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= iso(now()):
        return None
    scopes = tuple(p for p in str(row.scopes).split(",") if p in SCOPES)
    return Principal(int(row.token_id), int(row.project_id), str(row.name), scopes)


def authenticate(conn: sa.Connection, token: str) -> Principal | None:
    """The principal of a bearer token; None when unknown, expired or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return _principal_where(conn, s.tokens.c.token_hash == digest(token))


def create_session(conn: sa.Connection, token_id: int) -> tuple[str, str]:
    """A new dashboard session of ``token_id``: (cookie secret, CSRF token)."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    t = now()
    conn.execute(s.sessions.delete().where(s.sessions.c.expires_at <= iso(t)))  # expired ones
    conn.execute(
        s.sessions.insert().values(
            session_hash=digest(secret),
            token_id=token_id,
            csrf=csrf,
            created_at=iso(t),
            expires_at=iso(t + timedelta(seconds=SESSION_S)),
        )
    )
    return secret, csrf


def session_principal(conn: sa.Connection, secret: str) -> tuple[Principal, str] | None:
    """(principal, CSRF token) of a live session whose token is still valid; else None."""
    row = conn.execute(
        sa.select(s.sessions.c.token_id, s.sessions.c.csrf, s.sessions.c.expires_at).where(
            s.sessions.c.session_hash == digest(secret)
        )
    ).first()
    if row is None or row.expires_at <= iso(now()):
        return None
    who = _principal_where(conn, s.tokens.c.token_id == row.token_id)
    return None if who is None else (who, str(row.csrf))


def end_session(conn: sa.Connection, secret: str) -> None:
    conn.execute(s.sessions.delete().where(s.sessions.c.session_hash == digest(secret)))
