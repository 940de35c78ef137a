"""A throw-away PostgreSQL cluster for the server tests: Debian's ``postgresql`` binaries,
``initdb`` into a temporary folder, ``postgres`` listening on a unix socket in that folder only
(no TCP port: nothing to collide with other servers on the machine), stopped and removed after.

As root (CI containers) the cluster runs as ``nobody`` (``setpriv``), with its folder chowned:
PostgreSQL refuses to run as root. Missing binaries: skipped with the reason, a failure in CI
(:func:`integrations.requires.missing`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from integrations.requires import missing

PORT = 5432  # only names the socket file (.s.PGSQL.5432) in the cluster's own folder


def pg_bin() -> Path:
    """The folder of initdb / pg_ctl (PATH, else Debian's /usr/lib/postgresql/*/bin)."""
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(d) / "initdb").exists():
            return Path(d)
    missing("PostgreSQL is not installed (initdb not found): apt-get install postgresql")
    raise AssertionError("unreachable")


def _as_owner() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        missing("running PostgreSQL as root needs setpriv: apt-get install util-linux")
    return [str(setpriv), "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@contextmanager
def cluster() -> Iterator[str]:
    """A running cluster; yields the base URL (add a database name) for psycopg over its socket."""
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="wattwise-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        for p in (root, sock):
            shutil.chown(p, "nobody", "nogroup")
    run = _as_owner()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run(
            [*run, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, timeout=120,
        )  # fmt: skip
        opts = (
            f"-p {PORT} -k {sock} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*run, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
             str(root / "log.txt"), "-w", "-t", "60", "start"],
            check=True, capture_output=True, env=env, timeout=90,
        )  # fmt: skip
        yield f"postgresql+psycopg://postgres@/{{db}}?host={sock}&port={PORT}"
    except subprocess.CalledProcessError as exc:
        log = (root / "log.txt").read_text() if (root / "log.txt").exists() else ""
        raise AssertionError(f"PostgreSQL did not start: {exc.stderr!r} {log[-2000:]}") from exc
    finally:
        if data.exists():
            subprocess.run(
                [*run, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True, env=env, timeout=60, check=False,
            )  # fmt: skip
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """A new empty database in the cluster; its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(base_url.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.format(db=name)
