"""The embedded server comes back after being killed, on a private pgdata of its own.

These tests kill a postmaster, so they never use `.course/pgdata` (other xdist workers and the
learner's notebook use that server): `pgdata_dir` and `state_dir` point at a folder under /tmp,
traversable because as root the server runs as the `pgserver` user.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from course_db import server as servers
from course_db.errors import SetupError

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("COURSE_DATABASE_URL")),
    reason="the embedded server is not used when COURSE_DATABASE_URL is set",
)


@pytest.fixture(scope="module")
def private_pgdata() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="course-test-pg-", dir="/tmp"))
    base.chmod(0o755)
    pgdata = base / "pgdata"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(servers, "pgdata_dir", lambda: pgdata)
        patch.setattr(servers, "state_dir", lambda *parts: base)
        try:
            yield pgdata
        finally:
            info = servers.read_postmaster_pid(pgdata)
            if info is not None and servers.pid_alive(info[0]):
                try:
                    servers.stop_embedded(timeout=10)
                except SetupError:
                    os.kill(info[0], signal.SIGKILL)
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_env(private_pgdata: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("COURSE_DATABASE_URL", raising=False)
    return private_pgdata


def query_one(server: servers.Server) -> int:
    with psycopg.connect(**server.conninfo()) as conn:  # type: ignore[arg-type]
        return conn.execute("SELECT 41 + 1").fetchone()[0]


def wait_dead(pid: int, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while servers.pid_alive(pid):
        assert time.monotonic() < deadline, f"postmaster {pid} still alive after SIGKILL"
        time.sleep(0.01)


def test_embedded_server_restarts_after_sigkill_of_postmaster(private_env: Path) -> None:
    first = servers.get_server()
    assert Path(first.host).is_relative_to(private_env.parent)
    assert query_one(first) == 42
    pid = servers.read_postmaster_pid(private_env)[0]  # type: ignore[index]

    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)

    started = time.perf_counter()
    again = servers.get_server()
    assert query_one(again) == 42
    assert time.perf_counter() - started < 15
    new_pid = servers.read_postmaster_pid(private_env)[0]  # type: ignore[index]
    assert new_pid != pid and servers.pid_alive(new_pid)


def test_embedded_server_clears_stale_postmaster_pid_and_starts(
    private_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    servers.get_server()
    assert servers.stop_embedded() is True
    assert not (private_env / "postmaster.pid").exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert not servers.pid_alive(dead.pid)
    socket_dir = str(private_env)
    (private_env / "postmaster.pid").write_text(
        f"{dead.pid}\n{private_env}\n1700000000\n5432\n{socket_dir}\n\n  5432001 0\nready   \n"
    )

    caplog.set_level(logging.INFO, logger="course_db")
    server = servers.get_server()
    assert query_one(server) == 42
    assert "stale postmaster.pid" in caplog.text
    info = servers.read_postmaster_pid(private_env)
    assert info is not None and info[0] != dead.pid and info[2] == "ready"


def test_stop_embedded_reports_a_server_that_is_not_running(private_env: Path) -> None:
    servers.get_server()
    assert servers.stop_embedded() is True
    assert servers.stop_embedded() is False
