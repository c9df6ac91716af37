"""The fault corpus, part 2: interrupts, kills, and hostile code inside a check.

Each test asserts what the learner reads, the exit code, that the project is unchanged, that no
process, check database or scratch folder is left (`faults.py`), and that the next check passes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from faults import (
    COURSE,
    LINUX,
    MARK,
    Course,
    alive,
    assert_next_check_passes,
    assert_nothing_left,
    assert_readable,
    hostile,
)
from helpers import ProjectCopy, tree_hash

from course_db import databases
from course_db.lessons import get_lesson
from course_db.server import Server

# 1. Interrupted checks end at once, with everything they started.


@pytest.mark.skipif(not LINUX, reason="finds processes through /proc")
def test_ctrl_c_in_course_check_ends_the_check_and_cleans_up(
    server: Server, looping: tuple[Path, str], project_copy: ProjectCopy
) -> None:
    project, _ = looping
    course = Course("check", "01", "--project", str(project), "--timeout", "60")
    course.wait_for_processes(2)
    time.sleep(1.0)  # inside the learner's endless loop by now
    os.killpg(course.proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C

    code, text = course.finish(timeout=15)

    assert code == 130, text
    assert "interrupted" in text
    assert_readable(text)
    assert_nothing_left(server, course.mark, course.started)
    assert_next_check_passes(project_copy)


@pytest.mark.skipif(not LINUX, reason="finds processes through /proc")
def test_kill_9_of_course_check_ends_the_check_and_cleans_up(
    server: Server, looping: tuple[Path, str], project_copy: ProjectCopy
) -> None:
    project, _ = looping
    course = Course("check", "01", "--project", str(project), "--timeout", "60")
    course.wait_for_processes(2)
    time.sleep(1.0)
    os.kill(course.proc.pid, signal.SIGKILL)

    code, _ = course.finish(timeout=15)

    assert code == -signal.SIGKILL
    assert_nothing_left(server, course.mark, course.started)
    assert_next_check_passes(project_copy)


WORKER_SCRIPT = """
import sys
from course_db.worker import WorkerClient
client = WorkerClient()
try:
    client.check("01", project=sys.argv[1], timeout=60)
except KeyboardInterrupt:
    print("interrupted")
print(client.check("01", project=sys.argv[2]).status)
client.close()
"""


@pytest.mark.skipif(not LINUX, reason="finds processes through /proc")
def test_interrupting_the_notebook_kernel_ends_the_check_and_the_next_one_passes(
    server: Server, looping: tuple[Path, str], project_copy: ProjectCopy, tmp_path: Path
) -> None:
    project, _ = looping
    script = tmp_path / "kernel.py"
    script.write_text(WORKER_SCRIPT)
    kernel = Course.__new__(Course)
    kernel.mark, kernel.started = uuid.uuid4().hex, time.time()
    kernel.proc = subprocess.Popen(
        [sys.executable, str(script), str(project), str(project_copy("solutions"))],
        env={**os.environ, MARK: kernel.mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernel.wait_for_processes(3)  # the kernel, the worker, the check
    time.sleep(1.0)
    kernel.proc.send_signal(signal.SIGINT)  # JupyterLab's "interrupt the kernel"

    code, text = kernel.finish(timeout=60)

    assert code == 0, text
    assert text.split() == ["interrupted", "passed"], text
    assert_nothing_left(server, kernel.mark, kernel.started)


# 4. Learner code cannot escape the check.

SPAWNS = """
import subprocess
kept = subprocess.Popen(["sleep", "300"])
escaped = subprocess.Popen(["sleep", "301"], start_new_session=True)
open({note!r}, "w").write(f"{{kept.pid}} {{escaped.pid}}")
"""


@pytest.mark.skipif(not LINUX, reason="a new session escapes the process group on macOS")
def test_processes_the_learner_starts_end_with_a_check_that_passed(
    server: Server, project_copy: ProjectCopy, tmp_path: Path
) -> None:
    note = tmp_path / "pids"
    project = hostile(project_copy("solutions"), SPAWNS.format(note=str(note)))
    before = tree_hash(project)
    course = Course("check", "01", "--project", str(project))

    code, text = course.finish()

    assert code == 0, text
    pids = [int(pid) for pid in note.read_text().split()]
    assert pids and not any(alive(pid) for pid in pids)
    assert_nothing_left(server, course.mark, course.started)
    assert tree_hash(project) == before


@pytest.mark.skipif(not LINUX, reason="memory is limited on Linux only")
def test_allocating_gigabytes_is_stopped_at_the_memory_limit(
    server: Server, project_copy: ProjectCopy
) -> None:
    project = hostile(project_copy("solutions"), "hog = bytearray(8 * 2**30)\n")
    course = Course("check", "01", "--project", str(project))

    code, text = course.finish()

    assert code == 1, text
    assert "used more than 2 GiB" in text
    assert_readable(text)
    assert_nothing_left(server, course.mark, course.started)
    assert_next_check_passes(project_copy)


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


def test_printing_a_flood_keeps_the_course_small(server: Server, project_copy: ProjectCopy) -> None:
    line = "x" * 1023
    project = hostile(project_copy("solutions"), f"for _ in range(2**17):\n    print({line!r})\n")
    mark = uuid.uuid4().hex
    started = time.time()

    peak_mb = subprocess.run(
        [sys.executable, "-c", PEAK, *COURSE, "check", "01", "--project", str(project)],
        env={**os.environ, MARK: mark},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert int(peak_mb) < 200  # 128 MiB went through; the head and tail kept are 1 MiB
    assert_nothing_left(server, mark, started)


ALEMBIC_SCRIPT = """
import sys
from pathlib import Path
from course_db.alembic_runner import run_alembic
try:
    run_alembic(Path(sys.argv[1]), ["upgrade", "head"], sys.argv[2], timeout=60)
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.skipif(not LINUX, reason="finds processes through /proc")
def test_ctrl_c_during_course_alembic_ends_the_migration(
    server: Server, looping: tuple[Path, str], tmp_path: Path
) -> None:
    project, _ = looping
    template = databases.ensure_template(server, "01", get_lesson("01").fixture_path)
    name = databases.db_name("01", "alembic_interrupted")
    url = databases.clone(server, template, name)
    script = tmp_path / "alembic_cell.py"
    script.write_text(ALEMBIC_SCRIPT)
    cell = Course.__new__(Course)
    cell.mark, cell.started = uuid.uuid4().hex, time.time()
    cell.proc = subprocess.Popen(
        [sys.executable, str(script), str(project), url],
        env={**os.environ, MARK: cell.mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        cell.wait_for_processes(2)  # `%alembic` in a kernel, or `course alembic`, and alembic
        time.sleep(1.0)
        cell.proc.send_signal(signal.SIGINT)

        code, text = cell.finish(timeout=20)

        assert code == 0 and "interrupted" in text, text
        assert_nothing_left(server, cell.mark, cell.started)
    finally:
        databases.drop_database(server, name)
