"""The fault corpus, part 1: the copy, checks inside checks, leftovers of dead checks.

Each test asserts what the learner reads, the exit code, that the project is unchanged, that no
process, check database or scratch folder is left (`faults.py`), and that the next check passes.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from faults import (
    Course,
    assert_nothing_left,
    assert_readable,
    check_databases,
    hostile,
)
from helpers import ProjectCopy, tree_hash
from psycopg import sql

from course_db import databases
from course_db.lessons import get_lesson
from course_db.runner import run_check
from course_db.server import Server

# 5. The copy is guarded.


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        ("outside", "outside the exercise folder"),
        ("dangling", "which does not exist"),
        ("loop", "loops back on itself"),
        ("fifo", "not a regular file"),
        ("too_big", "more than 50 MB"),
    ],
)
def test_a_project_that_cannot_be_copied_is_refused_naming_the_file(
    server: Server, project_copy: ProjectCopy, tmp_path: Path, make: str, phrase: str
) -> None:
    project = project_copy("solutions")
    data = project / "app" / "data.bin"
    if make == "outside":
        big = tmp_path / "big.bin"
        with open(big, "wb") as handle:
            handle.truncate(3 * 2**30)  # 3 GB, sparse: following the link would copy it all
        data.symlink_to(big)
    elif make == "dangling":
        data.symlink_to(tmp_path / "gone.bin")
    elif make == "loop":
        data.symlink_to(project / "app" / "other.bin")
        (project / "app" / "other.bin").symlink_to(data)
    elif make == "fifo":
        os.mkfifo(data)
    else:
        with open(data, "wb") as handle:
            handle.truncate(60 * 2**20)
    before = tree_hash(project)
    course = Course("check", "01", "--project", str(project))

    code, text = course.finish(timeout=30)

    assert code == 2, text
    assert phrase in text and "app/data.bin" in text, text
    assert_readable(text.replace(str(tmp_path), "<tmp>"))
    assert_nothing_left(server, course.mark, course.started)
    assert tree_hash(project) == before


def test_a_link_inside_the_project_is_copied_as_a_link(project_copy: ProjectCopy) -> None:
    project = project_copy("solutions")
    (project / "app" / "models_link.py").symlink_to(project / "app" / "models.py")
    (project / "docs").symlink_to(project / "app")
    report = run_check("01", project=project)
    assert report.passed, report.as_text()


# 8. A check inside a check.

NESTED = """
import subprocess, sys
done = subprocess.run([sys.executable, "-m", "course_db.cli", "alembic", "01", "--", "current"],
                      capture_output=True, text=True)
open({note!r}, "w").write(f"{{done.returncode}}\\n{{done.stderr}}")
"""


def test_course_commands_refuse_to_run_inside_a_check(
    server: Server, project_copy: ProjectCopy, tmp_path: Path
) -> None:
    note = tmp_path / "nested"
    project = hostile(project_copy("solutions"), NESTED.format(note=str(note)))
    course = Course("check", "01", "--project", str(project))

    code, text = course.finish()

    assert code == 0, text
    returncode, _, stderr = note.read_text().partition("\n")
    assert returncode == "2" and "do not run inside a check" in stderr
    assert_nothing_left(server, course.mark, course.started)


# 2. Leftovers of dead checks are pruned, never a live check of another machine.


def test_prune_removes_what_dead_checks_left_and_nothing_of_live_ones(
    server: Server, project_copy: ProjectCopy
) -> None:
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    template = databases.ensure_template(server, "01", get_lesson("01").fixture_path)
    now = int(time.time())
    comments = {  # how a check marks its database: which machine and process, since when
        "dead": f"check host={socket.gethostname()} pid={dead.pid} created={now - 5}",
        "old": f"check host=elsewhere pid=1 created={now - 7200}",
        "live": f"check host=elsewhere pid=1 created={now}",
    }
    names = {key: databases.db_name("01", f"check_{key}_1") for key in comments}
    with databases.admin(server) as conn:
        for key, name in names.items():
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name),
                    sql.Literal(f"{databases.MARKER} prefix={databases.prefix()} {comments[key]}"),
                )
            )
    folder = Path(tempfile.mkdtemp(prefix=f"alembic-course-check-{dead.pid}-"))
    try:
        code, status = Course("db", "status").finish()
        assert code == 0, status
        left = [line for line in status.splitlines() if "course db prune" in line]
        assert {names["dead"], names["old"]} <= {line.split()[0] for line in left}, status
        assert re.search(r"\d+\.\d MB", status)

        code, text = Course("db", "prune").finish()

        assert code == 0 and "Removed 2 check database(s)" in text, text
        assert check_databases(server) == [names["live"]]
        assert not folder.exists()
    finally:
        databases.drop_database(server, names["live"])
