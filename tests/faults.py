"""The fault corpus's tools: a check broken the way learners break it leaves nothing behind.

Each test breaks a check the way a learner, their code or an operator does (Ctrl-C, `kill -9`, an
interrupted kernel, processes left running, gigabytes allocated or printed, hostile links, races,
bad command lines) and asserts what the learner reads (no traceback, no temporary path), the exit
code, that the project's files are unchanged, and that no process, check database or scratch
folder is left: every `course` process here runs with a marker in its environment, which every
process it starts inherits, so `/proc` finds them all. The next check must still pass.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REVISION, ProjectCopy, edit, tree_hash

from course_db import databases
from course_db import server as servers
from course_db.runner import run_check
from course_db.server import Server

MARK = "COURSE_FAULT_MARK"
COURSE = (sys.executable, "-m", "course_db.cli")
BEFORE_READING = "    authors = op.get_bind()"
LINUX = sys.platform.startswith("linux")
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("COURSE_DATABASE_URL")), reason="stops the embedded server"
)


def marked(mark: str) -> list[int]:
    """Every live process whose environment carries `mark` (zombies are not processes left)."""
    found = []
    needle = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and not _zombie(entry):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _zombie(entry: Path) -> bool:
    try:
        return ") Z " in (entry / "stat").read_text()
    except OSError:
        return False


def check_databases(server: Server) -> list[str]:
    """This prefix's check databases, whoever made them (read from the server, not the course)."""
    with databases.admin(server) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY datname",
            (databases.prefix() + "\\_%\\_check\\_%",),
        ).fetchall()
    return [name for (name,) in rows]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _zombie(Path(f"/proc/{pid}")) if LINUX else True


def dead_checks_folders(since: float) -> list[Path]:
    """Scratch folders (`alembic-course-KIND-PID-XXXXXXXX`) made since `since`, owner gone."""
    found = []
    for path in Path(tempfile.gettempdir()).glob("alembic-course-*"):
        named = re.fullmatch(r"alembic-course-\w+-([1-9]\d*)-\w{8}", path.name)
        with contextlib.suppress(OSError):
            if named and path.lstat().st_mtime >= since - 1 and not alive(int(named[1])):
                found.append(path)
    return found


def hostile(project: Path, code: str) -> Path:
    """Put `code` at the top of lesson 01's upgrade(), before it reads the authors."""
    edit(project / REVISION, BEFORE_READING, textwrap.indent(code, "    ") + BEFORE_READING)
    return project


class Course:
    """A `course` command started as a shell starts a job: its own process group, a marker."""

    def __init__(self, *args: str) -> None:
        self.mark = uuid.uuid4().hex
        self.started = time.time()
        self.proc = subprocess.Popen(
            [*COURSE, *args],
            env={**os.environ, MARK: self.mark},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out + err

    def wait_for_processes(self, count: int, timeout: float = 20) -> None:
        """Wait until `count` processes carry the marker (the command and what it started)."""
        deadline = time.monotonic() + timeout
        while len(marked(self.mark)) < count:
            assert time.monotonic() < deadline, "the check never started"
            time.sleep(0.05)


def assert_nothing_left(server: Server, mark: str, since: float, timeout: float = 8) -> None:
    """No process with `mark`, no check database of this prefix, no scratch folder of a dead check
    made since `since`, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = {
            "processes": marked(mark) if LINUX else [],
            "databases": check_databases(server),
            "folders": dead_checks_folders(since),
        }
        if not any(left.values()):
            return
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.1)


def assert_readable(text: str) -> None:
    assert "Traceback" not in text, text
    assert "/tmp/" not in text and "course-check-" not in text, text


def assert_next_check_passes(project_copy: ProjectCopy) -> None:
    report = run_check("01", project=project_copy("solutions"))
    assert report.passed, report.as_text()


@pytest.fixture
def looping(project_copy: ProjectCopy) -> Iterator[tuple[Path, str]]:
    project = hostile(project_copy("solutions"), "while True:\n    pass\n")
    before = tree_hash(project)
    yield project, before
    assert tree_hash(project) == before


@pytest.fixture
def private_embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An embedded server of its own (stopping the shared one would fail other workers' tests)."""
    monkeypatch.delenv("COURSE_DATABASE_URL", raising=False)
    base = Path(tempfile.mkdtemp(prefix="course-faults-pg-", dir="/tmp"))
    base.chmod(0o755)
    pgdata = base / "pgdata"
    monkeypatch.setattr(servers, "pgdata_dir", lambda: pgdata)
    monkeypatch.setattr(servers, "state_dir", lambda *parts: base)
    try:
        yield pgdata
    finally:
        servers.stop_embedded(timeout=10)
        subprocess.run(["rm", "-rf", str(base)], check=False)
