"""The real `alembic` CLI, in a fresh process or forked warm: the course's DATABASE_URL only, a
wall-clock limit, and the same output either way."""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REVISION, ProjectCopy, edit, tree_hash

from course_db import databases
from course_db.alembic_runner import child_env, run_alembic
from course_db.inspection import connect, table_exists
from course_db.lessons import Lesson
from course_db.server import Server

BOGUS_URL = "postgresql+psycopg://someone:secret@db.invalid:5432/production"
_names = itertools.count(1)


@pytest.fixture
def database_url(server: Server, lesson01: Lesson) -> Iterator[str]:
    """A fresh clone of lesson 01's template, dropped afterwards."""
    template = databases.ensure_template(server, lesson01.number, lesson01.fixture_path)
    name = databases.db_name(lesson01.number, f"runner_{os.getpid()}_{next(_names)}")
    yield databases.clone(server, template, name)
    databases.drop_database(server, name)


def process_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_child_env_always_sets_the_course_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", BOGUS_URL)
    env = child_env("postgresql+psycopg://postgres@/course_x?host=/tmp", {"DATABASE_URL": "x"})
    assert env["DATABASE_URL"] == "postgresql+psycopg://postgres@/course_x?host=/tmp"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


@pytest.mark.parametrize("warm", [False, True], ids=["python-m-alembic", "forkserver"])
def test_run_alembic_upgrade_head_on_solution_copy(
    project_copy: ProjectCopy, database_url: str, warm: bool
) -> None:
    project = project_copy("solutions")
    before = tree_hash(project)
    result = run_alembic(project, ["upgrade", "head"], database_url, timeout=60, warm=warm)
    assert result.ok, result.output
    assert result.args == ["upgrade", "head"] and not result.timed_out
    assert "Running upgrade  -> 0001_author_slugs" in result.output
    assert 0 < result.duration < 30
    with connect(database_url) as conn:
        assert table_exists(conn, "author_slugs")
        assert conn.execute("SELECT count(*) FROM author_slugs").fetchone()[0] == 1000
    assert tree_hash(project) == before  # no __pycache__ written into the project


@pytest.mark.parametrize("warm", [False, True], ids=["python-m-alembic", "forkserver"])
def test_run_alembic_ignores_an_outer_database_url(
    project_copy: ProjectCopy, database_url: str, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    monkeypatch.setenv("DATABASE_URL", BOGUS_URL)
    project = project_copy("solutions")
    upgrade = run_alembic(project, ["upgrade", "head"], database_url, timeout=60, warm=warm)
    assert upgrade.ok, upgrade.output
    current = run_alembic(project, ["current"], database_url, timeout=60, warm=warm)
    assert current.ok, current.output
    assert "0001_author_slugs (head)" in current.output
    assert "db.invalid" not in current.output
    with connect(database_url) as conn:  # the course's database is the one that was migrated
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0001_author_slugs",
        )


@pytest.mark.parametrize("warm", [False, True], ids=["python-m-alembic", "forkserver"])
def test_run_alembic_failure_returns_output_and_exit_code(
    project_copy: ProjectCopy, database_url: str, warm: bool
) -> None:
    project = project_copy("solutions")
    edit(
        project / REVISION,
        "    authors = op.get_bind()",
        '    raise RuntimeError("boom")\n    authors = op.get_bind()',
    )
    result = run_alembic(project, ["upgrade", "head"], database_url, timeout=60, warm=warm)
    assert result.returncode != 0 and not result.ok and not result.timed_out
    assert "RuntimeError: boom" in result.output


@pytest.mark.parametrize("warm", [False, True], ids=["python-m-alembic", "forkserver"])
def test_run_alembic_timeout_kills_an_endless_revision(
    project_copy: ProjectCopy, database_url: str, tmp_path: Path, warm: bool
) -> None:
    project = project_copy("solutions")
    pid_file = tmp_path / "sleeper.pid"
    edit(
        project / REVISION,
        "    authors = op.get_bind()",
        "    import subprocess\n"
        "    sleeper = subprocess.Popen(['sleep', '60'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(sleeper.pid))\n"
        "    while True:\n"
        "        pass\n"
        "    authors = op.get_bind()",
    )
    timeout = 3.0
    started = time.perf_counter()
    result = run_alembic(project, ["upgrade", "head"], database_url, timeout=timeout, warm=warm)
    elapsed = time.perf_counter() - started
    assert result.timed_out and not result.ok
    assert elapsed < timeout + 5, elapsed  # not the revision's 60 s: stopped at the limit
    assert timeout <= result.duration < timeout + 5
    assert "Running upgrade  -> 0001_author_slugs" in result.output  # where it hung
    sleeper = int(pid_file.read_text())  # the migration's own child dies with it
    deadline = time.monotonic() + 3
    while not process_gone(sleeper):
        assert time.monotonic() < deadline, "the migration's subprocess survived the timeout"
        time.sleep(0.05)


@pytest.mark.parametrize("warm", [False, True], ids=["python-m-alembic", "forkserver"])
def test_run_alembic_keeps_the_head_and_tail_of_a_flood(
    project_copy: ProjectCopy, database_url: str, warm: bool
) -> None:
    """A migration that prints 40 MB costs the caller (a notebook kernel) about 1 MB: where the
    output started and where it stopped, with the lines in between counted."""
    project = project_copy("solutions")
    edit(
        project / REVISION,
        "    authors = op.get_bind()",
        "    import sys\n"
        "    for n in range(400_000):\n"
        "        sys.stdout.write(f'line {n} ' + 'x' * 90 + '\\n')\n"
        "    print('the last line')\n"
        "    authors = op.get_bind()",
    )
    result = run_alembic(project, ["upgrade", "head"], database_url, timeout=60, warm=warm)
    assert result.ok, result.output[-2000:]
    assert len(result.output) < 1.1 * 2**20
    assert "line 0 x" in result.output and result.output.rstrip().endswith("the last line")
    cut = re.search(r"\.\.\. (\d+) lines cut \.\.\.", result.output)
    assert cut and 380_000 < int(cut[1]) < 400_000, result.output[-2000:]


def test_forked_alembic_prints_what_python_m_alembic_prints(
    project_copy: ProjectCopy, database_url: str
) -> None:
    """Same entry point, same output: stdout and stderr in the order written, apart when asked
    (`> FILE`), exit codes; a traceback lacks only the interpreter's own frames (runpy)."""
    project = project_copy("solutions")
    edit(
        project / REVISION,
        "    authors = op.get_bind()",
        '    print("on stdout", end="")\n'
        '    print("on stderr", file=__import__("sys").stderr)\n'
        '    raise RuntimeError("boom é")\n'
        "    authors = op.get_bind()",
    )
    with (project / REVISION).open("a", encoding="utf-8") as revision:
        revision.write('\n__import__("warnings").warn("an old API", DeprecationWarning)\n')
    runpy_frames = re.compile(r'  File "<frozen runpy>".*\n|  File ".*alembic/__main__.py".*\n.*\n')
    for args, separate, env in (
        (["history"], False, {}),
        (["history"], False, {"PYTHONWARNINGS": "always"}),  # read as a fresh interpreter does
        (["upgrade", "head"], False, {}),
        (["upgrade", "head", "--sql"], True, {}),
        (["no-such-command"], False, {}),
    ):
        fresh = run_alembic(project, args, database_url, extra_env=env, separate_stderr=separate)
        forked = run_alembic(
            project, args, database_url, extra_env=env, separate_stderr=separate, warm=True
        )
        assert ("DeprecationWarning: an old API" in fresh.output) == bool(env), fresh.output
        assert forked.returncode == fresh.returncode, args
        assert forked.output == runpy_frames.sub("", fresh.output), args
        assert forked.errors == runpy_frames.sub("", fresh.errors), args
        if args == ["upgrade", "head"]:
            assert "on stdouton stderr\nTraceback" in forked.output
            assert "RuntimeError: boom é" in forked.output


def test_forked_alembic_that_kills_its_parent_leaves_the_next_command_working(
    project_copy: ProjectCopy, database_url: str
) -> None:
    """Learner code may kill its parent: forked, that is the forkserver, never the kernel."""
    project = project_copy("solutions")
    with (project / REVISION).open("a", encoding="utf-8") as revision:
        revision.write(
            '\nimport os\nif os.environ.get("KILL_PARENT"):\n    os.kill(os.getppid(), 9)\n'
        )

    killer = run_alembic(
        project, ["heads"], database_url, extra_env={"KILL_PARENT": "1"}, warm=True
    )
    after = run_alembic(project, ["heads"], database_url, warm=True)

    assert not killer.timed_out and "0001_author_slugs (head)" in killer.output
    assert after.ok and "0001_author_slugs (head)" in after.output, after.output
