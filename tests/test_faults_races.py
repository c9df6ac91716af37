"""The fault corpus, part 3: races, and bad command lines.

Each test asserts what the learner reads, the exit code, that the project is unchanged, that no
process, check database or scratch folder is left (`faults.py`), and that the next check passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from faults import (
    Course,
    assert_nothing_left,
    assert_readable,
    embedded_only,
)
from helpers import ProjectCopy

from course_db import databases
from course_db import server as servers
from course_db.lessons import get_lesson
from course_db.runner import run_check
from course_db.server import Server

# 3. Races answer with a result or an ERROR/TIP, never a traceback.


def test_two_checks_started_at_the_same_instant_both_answer(
    server: Server, project_copy: ProjectCopy
) -> None:
    project = project_copy("solutions")
    lesson = get_lesson("01")
    databases.ensure_template(server, "01", lesson.fixture_path)
    for _ in range(3):
        databases.prepare_spare(server, "01", lesson.fixture_path)  # both race to rename it
        courses = [Course("check", "01", "--project", str(project)) for _ in range(2)]
        for course in courses:
            code, text = course.finish()
            assert code == 0, text
            assert_readable(text)
    assert_nothing_left(server, courses[0].mark, courses[0].started)


def test_two_takers_of_one_spare_each_get_a_database(server: Server) -> None:
    fixture = get_lesson("01").fixture_path
    databases.ensure_template(server, "01", fixture)
    for round_ in range(4):
        databases.prepare_spare(server, "01", fixture)
        names = [databases.db_name("01", f"check_race_{round_}_{n}") for n in range(2)]
        start = threading.Barrier(2)
        answers: list[object] = []  # a URL, None (the loser clones instead), or an exception
        threads = [
            threading.Thread(target=take_spare, args=(server, fixture, name, start, answers))
            for name in names
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name in names:
            databases.drop_database(server, name)
        assert sorted(str(type(answer).__name__) for answer in answers) == ["NoneType", "str"]


def take_spare(
    server: Server, fixture: Path, name: str, start: threading.Barrier, answers: list[object]
) -> None:
    start.wait()
    try:
        answers.append(databases.take_spare(server, "01", fixture, name))
    except Exception as exc:
        answers.append(exc)


def test_two_resets_of_the_files_at_once_each_keep_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_db import paths, starter

    repo = tmp_path / "repo"
    exercise = repo / "exercises" / "01_x"
    exercise.mkdir(parents=True)
    (exercise / "alembic.ini").write_text("starter\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "starter"], check=True)
    (exercise / "alembic.ini").write_text("the learner's work\n")
    monkeypatch.setattr(starter, "ROOT", repo)
    monkeypatch.setattr(paths, "STATE", repo / ".course")
    lesson = type("FakeLesson", (), {"starter_dir": exercise, "slug": "01_x"})()

    errors: list[BaseException] = []
    backups: list[Path] = []

    def reset() -> None:
        try:
            backups.append(starter.restore_starter(lesson))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reset) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert len(set(backups)) == 2
    assert (exercise / "alembic.ini").read_text() == "starter\n"
    kept = sorted((repo / backup / "alembic.ini").read_text() for backup in backups)
    assert "the learner's work\n" in kept


@embedded_only
def test_a_check_racing_course_db_stop_answers_without_a_traceback(
    project_copy: ProjectCopy, private_embedded: Path
) -> None:
    project = project_copy("solutions")
    assert run_check("01", project=project).passed  # builds the template on the private server
    for delay in (0.0, 0.05, 0.2):
        stopper = threading.Timer(delay, servers.stop_embedded)
        stopper.start()
        report = run_check("01", project=project)
        stopper.join()
        text = report.as_text()
        assert "Traceback" not in text, text
        if not report.passed:
            assert report.status == "error" and report.tip, text
    assert run_check("01", project=project).passed


# 6. Bad input to the command line.


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "ten"])
def test_a_time_limit_that_is_not_one_is_refused(server: Server, value: str) -> None:
    course = Course("check", "01", "--timeout", value)
    code, text = course.finish()
    assert code == 2 and "is not a time limit" in text, text
    assert_readable(text)
    assert_nothing_left(server, course.mark, course.started)


def test_project_that_is_a_file_or_not_an_alembic_project_is_named(tmp_path: Path) -> None:
    file = tmp_path / "alembic.ini"
    file.write_text("")
    code, text = Course("check", "01", "--project", str(file)).finish()
    assert code == 2 and "is a file, not a project folder" in text, text
    code, text = Course("check", "01", "--project", str(tmp_path / "empty")).finish()
    assert code == 2 and "There is no folder" in text and "reset" not in text, text
    (tmp_path / "plain").mkdir()
    code, text = Course("check", "01", "--project", str(tmp_path / "plain")).finish()
    assert code == 2 and "no alembic.ini" in text and "reset" not in text, text


def test_course_alembic_keeps_its_own_timeout_from_alembic() -> None:
    code, text = Course("alembic", "01", "--timeout", "30", "--", "heads").finish()
    assert code == 0, text
    assert "unrecognized arguments" not in text and "--timeout" not in text


def test_course_db_psql_passes_the_password_in_the_environment(tmp_path: Path) -> None:
    fake = tmp_path / "psql"
    fake.write_text('#!/bin/sh\necho "argv: $*"\necho "password: $PGPASSWORD"\n')
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "COURSE_DATABASE_URL": "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/postgres",
    }
    done = subprocess.run(
        [sys.executable, "-m", "course_db.cli", "db", "psql"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    argv = done.stdout.splitlines()[0]
    assert "s3cret" not in argv and "127.0.0.1" in argv
    assert "password: s3cret" in done.stdout
