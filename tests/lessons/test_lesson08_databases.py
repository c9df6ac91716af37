"""Extra per-lesson databases (lesson 08's analytics): reset, URLs for every process the course
starts, the CLI, and checks that take a fresh copy of each database and drop them all afterwards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import Grade

from course_db import databases
from course_db.cli import main
from course_db.inspection import connect, table_exists
from course_db.lesson_databases import Databases
from course_db.lessons import get_lesson
from course_db.notebook import LessonSession
from course_db.runner import Spares, run_check
from course_db.server import Server

LESSON = get_lesson("08")


def check_databases(server: Server) -> list[str]:
    """Lesson 08's check databases (main and analytics) of this test run's prefix."""
    main, analytics = databases.db_name("08", "check_"), databases.db_name("08_analytics", "check_")
    return [n for n in databases.course_databases(server) if n.startswith((main, analytics))]


def test_registry_lists_the_extra_database_with_its_own_fixture() -> None:
    (extra,) = LESSON.extras
    assert (extra.name, extra.key, extra.env_var) == (
        "analytics",
        "08_analytics",
        "ANALYTICS_DATABASE_URL",
    )
    assert extra.fixture_path.is_file()
    assert get_lesson("01").extras == ()


def test_extra_env_names_both_databases_of_a_role(server: Server) -> None:
    env = databases.extra_env(server, LESSON, "demo")
    assert sorted(env) == ["ANALYTICS_DATABASE_URL", "MAIN_DATABASE_URL"]
    assert env["MAIN_DATABASE_URL"] == server.url(databases.db_name("08", "demo"))
    assert env["ANALYTICS_DATABASE_URL"] == server.url(databases.db_name("08_analytics", "demo"))
    assert databases.extra_env(server, get_lesson("01"), "demo") == {}
    session = LessonSession(LESSON, server, Path("."))
    assert session.extra_env("exercise") == databases.extra_env(server, LESSON, "exercise")


@pytest.mark.server_agnostic
def test_a_check_names_its_databases_as_a_role_does() -> None:
    """The check's environment follows the same rule as `extra_env`: `MAIN_DATABASE_URL` joins
    `DATABASE_URL` only beside extra databases."""
    extra = {"ANALYTICS_DATABASE_URL": "analytics"}
    assert Databases("main").env() == {"DATABASE_URL": "main"}
    assert (
        Databases("main", extra).env()
        == {"DATABASE_URL": "main", "MAIN_DATABASE_URL": "main"} | extra
    )


def test_cli_alembic_migrates_each_database_and_reset_makes_both_fresh(
    server: Server, capsys: pytest.CaptureFixture[str], restore_course_logger: None
) -> None:
    assert main(["reset", "08"]) == 0
    assert "the exercise databases are fresh again" in capsys.readouterr().out
    assert main(["alembic", "08", "--", "-x", "db=main", "upgrade", "head"]) == 0
    assert main(["alembic", "08", "--", "-x", "db=analytics", "upgrade", "head"]) == 0
    capsys.readouterr()
    main_db = databases.db_name("08", "exercise")
    analytics_db = databases.db_name("08_analytics", "exercise")
    with connect(server.url(main_db)) as conn:
        assert table_exists(conn, "users") and not table_exists(conn, "page_views")
    with connect(server.url(analytics_db)) as conn:
        assert table_exists(conn, "page_views") and not table_exists(conn, "users")

    assert main(["db", "url", "08", "analytics"]) == 0
    assert capsys.readouterr().out.strip() == server.url(analytics_db)
    assert main(["db", "url", "08"]) == 0
    assert capsys.readouterr().out.strip() == server.url(main_db)
    assert main(["db", "url", "08", "reporting"]) == 2
    assert "its databases are main, analytics" in capsys.readouterr().err

    assert main(["reset", "08"]) == 0
    for name in (main_db, analytics_db):
        with connect(server.url(name)) as conn:
            assert not table_exists(conn, "alembic_version")


def test_check_drops_every_database_it_took(grade: Grade, server: Server) -> None:
    before = check_databases(server)
    report = run_check("08", project=LESSON.solution_dir)
    assert report.passed, report.as_text()
    assert check_databases(server) == before


def test_spares_take_and_prepare_the_extra_database_too(grade: Grade, server: Server) -> None:
    spares = Spares()
    assert run_check("08", project=LESSON.solution_dir, spares=spares).passed
    assert len(spares.used) == 2 and any("_08_analytics_check_" in n for n in spares.used)
    spares.tidy("08")
    names = databases.course_databases(server)
    assert databases.db_name("08_analytics", "spare") in names
    assert databases.db_name("08", "spare") in names
    assert run_check("08", project=LESSON.solution_dir, spares=spares).passed
    assert databases.db_name("08_analytics", "spare") not in databases.course_databases(server)
    spares.tidy("08")
    assert not check_databases(server)


def test_a_check_that_times_out_leaves_no_database_behind(
    grade: Grade, server: Server, tmp_path: Path
) -> None:
    folder = tmp_path / LESSON.slug
    shutil.copytree(LESSON.solution_dir, folder)
    env = folder / "migrations" / "env.py"
    env.write_text("while True:\n    pass\n" + env.read_text(encoding="utf-8"), encoding="utf-8")
    before = check_databases(server)
    report = run_check("08", project=folder, timeout=2)
    assert not report.passed and "stopped after 2 s" in report.as_text()
    assert check_databases(server) == before
    assert os.environ.get("ANALYTICS_DATABASE_URL") is None  # the grader's env stays in its child
