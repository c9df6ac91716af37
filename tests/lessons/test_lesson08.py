"""Lesson 08's grader: the solution passes, the starter and the learner's likely wrong env.py files
(the seed's own among them) fail with a message that names the problem, bad input is a clear
failure, and a check never writes to the learner's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from every_lesson import Endless
from helpers import GradeMutant, Mutation, append, delete, loop_after, replace

from course_db.lessons import get_lesson

LESSON = get_lesson("08")
ENV = Path("migrations/env.py")
FIRST = Path("migrations/versions/0001_users_and_page_views.py")


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 2, 2, 3, 3, 4, 4]
STARTER_FAILS = SOLUTION_TASKS  # every row
STARTER_SAYS = [
    "TypeError: upgrade() missing 1 required positional argument: 'engine_name'",
    "context.run_migrations(engine_name=name)",
    "the error does not name the valid databases (main and analytics)",
]


SOLUTION_CHOICE = """    name = context.get_x_argument(as_dictionary=True).get("db")
    if name not in DATABASES:"""
SEED_CHOICE = """    db_name = context.get_x_argument(as_dictionary=True).get("db", "main")
    if db_name == "main":
        url = "main"
    elif db_name == "analytics":
        url = "analytics"
    name = url
    if name not in DATABASES:"""
ONLINE_RUN = "            context.run_migrations(engine_name=name)"
OFFLINE_RUN = "        context.run_migrations(engine_name=name)\n\n\ndef run_migrations_online"

# mutation, the task of the first failure, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "seed_if_elif_leaves_url_unbound": (
        replace(ENV, SOLUTION_CHOICE, SEED_CHOICE),
        3,
        [
            "with the seed's bug",
            "UnboundLocalError: cannot access local variable 'url'",
            "`alembic upgrade head` ran: with no -x db=..., env.py must not pick a database",
        ],
    ),
    "seed_default_main": (
        replace(ENV, '.get("db")', '.get("db", "main")'),
        3,
        ["the seed's `.get('db', 'main')` quietly migrates main"],
    ),
    "error_without_the_valid_names": (
        replace(
            ENV,
            'raise CommandError(f"Unknown database ({given}): use {valid}.")',
            "raise KeyError(name)",
        ),
        3,
        ["the error does not name the valid databases (main and analytics)", "KeyError"],
    ),
    "valid_names_only_in_the_function_name": (
        replace(
            ENV,
            "def chosen_database() -> str:",
            "def choose_main_or_analytics() -> str:",
            'raise CommandError(f"Unknown database ({given}): use {valid}.")',
            'raise CommandError(f"Unknown database ({given}).")',
            "    run_migrations_offline(chosen_database())",
            "    run_migrations_offline(choose_main_or_analytics())",
            "    run_migrations_online(chosen_database())",
            "    run_migrations_online(choose_main_or_analytics())",
        ),
        3,
        [
            "the error does not name the valid databases (main and analytics)",
            "CommandError: Unknown database (-x db=reporting).",
            "in choose_main_or_analytics)",
        ],
    ),
    "one_url_for_both": (
        replace(ENV, "url = os.environ.get(variable)", 'url = os.environ.get("DATABASE_URL")'),
        2,
        [
            "analytics has no page_views, daily_stats",
            "Alembic ran no revision at all: the database it connected to was already at head",
        ],
    ),
    "analytics_compares_with_the_main_models": (
        replace(
            ENV,
            '"analytics": ("ANALYTICS_DATABASE_URL", AnalyticsBase.metadata)',
            '"analytics": ("ANALYTICS_DATABASE_URL", MainBase.metadata)',
        ),
        2,
        ["`alembic -x db=analytics check` failed", "target_metadata is AnalyticsBase.metadata"],
    ),
    "online_without_engine_name": (
        replace(ENV, ONLINE_RUN, "            context.run_migrations()"),
        1,
        ["missing 1 required positional argument: 'engine_name'"],
    ),
    "offline_without_engine_name": (
        replace(
            ENV,
            OFFLINE_RUN,
            "        context.run_migrations()\n\n\ndef run_migrations_online",
        ),
        4,
        ["`alembic -x db=main upgrade head --sql` failed", "engine_name"],
    ),
    "offline_connects": (
        replace(
            ENV,
            "    run_migrations_offline(chosen_database())",
            "    run_migrations_online(chosen_database())",
        ),
        4,
        ["`alembic -x db=analytics upgrade head --sql` failed", "Offline mode only calls"],
    ),
}


# mutation, phrases the first failure must contain
BAD_INPUT: dict[str, tuple[Mutation, list[str]]] = {
    "syntax_error_in_env": (
        append(ENV, "\n\ndef broken(:\n    pass\n"),
        ['File "migrations/env.py", line ', "SyntaxError"],
    ),
    "exception_in_a_revision": (
        replace(
            FIRST,
            '    op.create_table(\n        "users",',
            '    raise RuntimeError("boom")\n    op.create_table(\n        "users",',
        ),
        ["RuntimeError: boom", "(at migrations/versions/0001_users_and_page_views.py, line "],
    ),
    "env_py_deleted": (
        delete(ENV),
        ["env.py"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_check_bad_input_is_a_clear_failure(grade_mutant: GradeMutant, case: str) -> None:
    mutate, phrases = BAD_INPUT[case]
    report = grade_mutant(mutate)
    assert report.failures()[0].task == 1, report.as_text()
    for phrase in phrases:
        assert phrase in report.failures()[0].message, report.as_text()


ENDLESS = Endless(
    loop_after(ENV, "def chosen_database() -> str:\n"),
    timeout=3,
    within=15,  # of the lesson's 20 s
    says=[],
)
