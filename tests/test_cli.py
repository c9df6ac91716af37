"""The `course` command: exit codes 0/1/2, ERROR/TIP on stderr, help for every command, README."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

import pytest
from helpers import ProjectCopy, tree_hash

from course_db.cli import build_parser, main
from course_db.lessons import Lesson, all_lessons
from course_db.paths import ROOT
from course_db.report import ONE_SCREEN


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBCOMMANDS = sorted(subcommands())


pytestmark = pytest.mark.usefixtures("restore_course_logger")  # main() is called in-process


def run_course(*args: str) -> subprocess.CompletedProcess[str]:
    """`course ARGS` in a fresh interpreter, as a learner's terminal runs it."""
    return subprocess.run(
        [sys.executable, "-m", "course_db.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_cli_check_starter_exits_1_with_learner_message(
    project_copy: ProjectCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "01", "--project", str(project_copy("exercises"))]) == 1
    out = capsys.readouterr().out
    assert "FAIL  Task 2" in out and "author_slugs is empty after the upgrade" in out
    assert "Start with task 2" in out


def test_cli_check_solution_exits_0(project_copy: ProjectCopy) -> None:
    result = run_course("check", "01", "--project", str(project_copy("solutions")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout and "FAIL" not in result.stdout


def test_cli_check_missing_folder_exits_2_with_error_and_tip_on_stderr() -> None:
    result = run_course("check", "01", "--project", "/nonexistent")
    assert result.returncode == 2
    assert "ERROR There is no folder /nonexistent" in result.stderr
    assert "TIP" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_check_unknown_lesson_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "42"]) == 2
    err = capsys.readouterr().err
    assert "ERROR There is no lesson '42'" in err and "TIP" in err


def test_cli_check_without_lesson_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "TIP" in capsys.readouterr().err


def test_cli_verify_exits_0_and_shows_how_far_it_is(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`course verify` grades the solutions of every ready lesson, saying how far it is.

    Two lessons (the first two) stand for all ten: that every solution passes its check
    is proven once per lesson by `tests/lessons/test_lessonNN.py::test_check_solution_passes*`,
    through the same `run_check`; here, the command's own work (solutions, all, progress).
    """
    lessons = all_lessons()
    monkeypatch.setattr("course_db.lessons.all_lessons", lambda: lessons[:2])
    logger = logging.getLogger("course_db")
    handlers = list(logger.handlers)
    logger.handlers.clear()  # main() then logs to this test's captured stderr
    try:
        assert main(["verify"]) == 0
    finally:
        logger.handlers[:] = handlers
    out, err = capsys.readouterr()
    assert "Lesson 01: all" in out and "Lesson 02: all" in out
    assert "[##########..........] lesson 02 (2 of 2)" in err


def test_cli_alembic_and_reset_use_the_exercise_database_and_write_nothing(
    lesson01: Lesson, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = lesson01.exercise_dir
    assert folder == lesson01.solution_dir  # COURSE_SOURCE=solutions, set by the root conftest
    before = tree_hash(folder)

    assert main(["reset", "01"]) == 0
    assert "fresh again" in capsys.readouterr().out
    assert main(["alembic", "01", "--", "current"]) == 0
    out = capsys.readouterr().out
    assert "PostgresqlImpl" in out and "0001_author_slugs" not in out
    assert main(["alembic", "01", "--", "upgrade", "head"]) == 0
    assert "Running upgrade  -> 0001_author_slugs" in capsys.readouterr().out
    assert main(["alembic", "01", "current"]) == 0
    assert "0001_author_slugs (head)" in capsys.readouterr().out
    assert main(["reset", "01"]) == 0
    capsys.readouterr()
    assert main(["alembic", "01", "--", "current"]) == 0
    assert "0001_author_slugs" not in capsys.readouterr().out

    assert tree_hash(folder) == before  # not even a __pycache__ in solutions/


def test_cli_alembic_passes_alembic_failures_through(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alembic", "01", "--", "downgrade", "nowhere"]) != 0
    assert "nowhere" in capsys.readouterr().out


def test_cli_db_url_prints_a_psycopg_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "url"]) == 0
    assert capsys.readouterr().out.strip().startswith("postgresql+psycopg://")
    assert main(["db", "url", "01"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql+psycopg://") and "_01_exercise" in url


def test_cli_db_status_names_server_and_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    from course_db.databases import prefix

    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "Server:" in out and f"Prefix:    {prefix()}" in out and "Databases:" in out


def test_cli_list_shows_lesson_01(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("01  Alembic vs Drizzle Kit") for line in lines)
    assert len(lines) == len(all_lessons())


def test_cli_solution_shows_the_diff_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solution", "01", "--yes"]) == 0
    assert "unicodedata.normalize" in capsys.readouterr().out
    result = run_course("solution", "01")  # stdin is not a terminal: it must not hang or show it
    assert result.returncode == 2 and "--yes" in result.stderr
    assert "unicodedata.normalize" not in result.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_cli_subcommand_help_works(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([name, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: course ") and len(out.splitlines()) > 2


def test_cli_every_subcommand_has_help_text() -> None:
    for name, parser in subcommands().items():
        assert parser.description, name


def test_cli_every_subcommand_is_in_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SUBCOMMANDS if f"course {name}" not in readme]
    assert not missing, f"README.md does not mention: {missing}"


def test_cli_answer_of_an_untouched_starter_fits_one_screen(project_copy: ProjectCopy) -> None:
    starter = str(project_copy("exercises"))
    done = subprocess.run(
        [sys.executable, "-m", "course_db.cli", "check", "01", "--project", starter],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) <= ONE_SCREEN, done.stdout


def test_course_alembic_offline_sql_keeps_the_log_lines_out_of_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`course alembic 03 -- upgrade head --sql > migration.sql` must write only SQL to the file."""
    assert main(["alembic", "03", "--", "upgrade", "0002_create_profiles:head", "--sql"]) == 0
    out, err = capsys.readouterr()
    assert "ALTER TABLE profiles RENAME fullname TO display_name;" in out
    assert "CREATE TYPE profile_visibility AS ENUM ('public', 'members', 'private');" in out
    assert "INFO  [alembic" not in out
    assert "Generating static SQL" in err
