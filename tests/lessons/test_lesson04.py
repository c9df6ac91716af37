"""Lesson 04's grader: the solution passes, the starter and the learner's likely wrong answers
(the seed's own migrations among them) fail with a message that names the problem and the fix,
and a check never writes to the learner's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Grade, GradeMutant, Mutation, ProjectCopy, append, edit, replace

from course_db import databases
from course_db.alembic_runner import run_alembic
from course_db.graders.lesson04.full_name import expected_full_name
from course_db.inspection import connect, constraints, table_columns
from course_db.lessons import get_lesson

LESSON = get_lesson("04")
FULL_NAME = Path("migrations/versions/0002_full_name.py")
SPLIT = Path("migrations/versions/0003_split_addresses.py")


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 2, 2, 3, 3, 4]
STARTER_FAILS = [1, 1, 2, 3, 4]
STARTER_SAYS = [
    "full_name still allows NULL",
    "user 2 (first_name 'Luis', last_name NULL): expected 'Luis', got NULL",
    "addresses is empty after the upgrade, but 857 users had an address",
    "Fix task 2 first",
    "Your `downgrade 0002_full_name` still ran",
    # the starter's upgrade lost every address, so only user 10 (3 new ones) has several
    "now user 10 has 3, so 1 user has more than one address",
]


SOLUTION_BACKFILL = (
    "SET full_name = concat_ws(' ', nullif(trim(first_name), ''), nullif(trim(last_name), ''))"
)
REFUSAL_QUERY = "SELECT user_id FROM addresses GROUP BY user_id HAVING count(*) > 1"

# mutation, the task of the first failure, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "seed_backfill_with_pipes": (
        replace(FULL_NAME, SOLUTION_BACKFILL, "SET full_name = first_name || ' ' || last_name"),
        1,
        [
            "`alembic upgrade 0002_full_name` failed",
            'column "full_name" of relation "users" contains null values',
            "(at migrations/versions/0002_full_name.py, line ",
            "`'Ana' || ' ' || NULL` is NULL; concat_ws skips NULLs",
        ],
    ),
    "plain_concat_ws": (
        replace(
            FULL_NAME, SOLUTION_BACKFILL, "SET full_name = concat_ws(' ', first_name, last_name)"
        ),
        1,
        [
            "full_name differs from the README's rule for",
            "user 5 (first_name '', last_name 'Martín'): expected 'Martín', got ' Martín'",
            "user 8 (first_name '  Ana ', last_name ' García  '): expected 'Ana García'",
            "concat_ws(' ', '', 'Ana') gives ' Ana'",
        ],
    ),
    "coalesce_each_part": (
        replace(
            FULL_NAME,
            SOLUTION_BACKFILL,
            "SET full_name = coalesce(first_name, '') || ' ' || coalesce(last_name, '')",
        ),
        1,
        ["user 2 (first_name 'Luis', last_name NULL): expected 'Luis', got 'Luis '"],
    ),
    "trim_after_joining": (
        replace(
            FULL_NAME,
            SOLUTION_BACKFILL,
            "SET full_name = trim(concat_ws(' ', first_name, last_name))",
        ),
        1,
        ["user 8 (first_name '  Ana ', last_name ' García  '): expected 'Ana García', got 'Ana   "],
    ),
    "never_set_not_null": (
        replace(
            FULL_NAME,
            'op.alter_column("users", "full_name", existing_type=sa.String(200), nullable=False)',
            "pass",
        ),
        1,
        ["full_name still allows NULL", "nullable=False"],
    ),
    "seed_split_needs_a_street": (
        replace(
            SPLIT,
            "WHERE num_nonnulls(address_street, address_city, address_postal) > 0",
            "WHERE address_street IS NOT NULL",
        ),
        2,
        [
            "users with an address have no row, e.g.:",
            "  user 2: (NULL, 'Sevilla', '41001')",
            "have no street: `WHERE address_street IS NOT NULL` skips them",
            "Fix task 2 first: an address that the upgrade did not copy cannot come back.",
        ],
    ),
    "split_copies_users_without_address": (
        replace(SPLIT, "WHERE num_nonnulls(address_street, address_city, address_postal) > 0", ""),
        2,
        ["143 users with no address at all got a row, e.g. user 3: (NULL, NULL, NULL)"],
    ),
    "split_trims_values": (
        replace(
            SPLIT,
            "SELECT id, address_street, address_city, address_postal",
            "SELECT id, trim(address_street), address_city, address_postal",
        ),
        2,
        [
            "users' addresses changed on the way",
            "user 8: expected (' Calle Luna 3 ', 'Madrid', '28004'), got ('Calle Luna 3', ",
            "Copy the values as they are",
        ],
    ),
    "seed_downgrade_keeps_one_address": (
        replace(SPLIT, "    if several:\n", "    if several and False:\n"),
        4,
        [
            "now user 1 has 2, user 4 has 2, user 10 has 3, so 3 users have more than one address",
            "Your `downgrade 0002_full_name` still ran",
            "raise RuntimeError when there are any",
        ],
    ),
    "downgrade_always_refuses": (
        replace(SPLIT, "    if several:\n", "    if several >= 0:\n"),
        3,
        [
            "Your downgrade refused, but nobody had more than one address",
            "RuntimeError: 0 users have more than one address",
            "(at migrations/versions/0003_split_addresses.py, line ",
        ],
    ),
    "refusal_counts_pairs_of_rows": (
        replace(
            SPLIT,
            REFUSAL_QUERY,
            "SELECT 1 FROM addresses a JOIN addresses b ON a.user_id = b.user_id AND a.id > b.id",
        ),
        4,
        [
            "its message does not say how many users have several addresses (3)",
            "RuntimeError: 5 users",
        ],
    ),
    "refuses_with_another_exception": (
        replace(SPLIT, "        raise RuntimeError(", "        raise ValueError("),
        4,
        ["not with the RuntimeError the README asks for", "ValueError: 3 users"],
    ),
    "downgrade_forgets_the_data": (
        replace(SPLIT, "WHERE a.user_id = u.id", "WHERE a.user_id = u.id AND false"),
        3,
        [
            "857 of 1000 users differ from before the upgrade:",
            "  user 2: address_city 'Sevilla' -> NULL, address_postal '41001' -> NULL",
            "copies each user's address back into the three columns",
        ],
    ),
    "downgrade_restores_another_type": (
        replace(
            SPLIT,
            'op.add_column("users", sa.Column("address_city", sa.String(100)))',
            'op.add_column("users", sa.Column("address_city", sa.Text()))',
        ),
        3,
        ["users.address_city is text NULL; was character varying(100) NULL."],
    ),
    "backfill_through_the_app_models": (
        replace(
            FULL_NAME,
            "from alembic import op\n",
            "from alembic import op\n\nfrom app.models import User\n",
            f'        """\n        UPDATE users\n        {SOLUTION_BACKFILL}\n        """',
            "        sa.update(User).values(full_name=sa.func.concat_ws(' ', "
            "sa.func.nullif(sa.func.trim(User.first_name), ''), "
            "sa.func.nullif(sa.func.trim(User.last_name), '')))",
        ),
        1,
        [
            "migrations/versions/0002_full_name.py imports the app's models "
            "(line 13: `from app.models import User`)",
            "app/models.py describes the schema of today",
            "A migration is frozen in time",
        ],
    ),
    "split_imports_a_model": (
        replace(
            SPLIT, "from alembic import op\n", "from alembic import op\nfrom app import models\n"
        ),
        2,
        ["0003_split_addresses.py imports the app's models (line 12: `from app import models`)"],
    ),
    "full_name_downgrade_does_nothing": (
        replace(FULL_NAME, '    op.drop_column("users", "full_name")', "    pass"),
        3,
        ["users still has full_name: 0002_full_name's downgrade must drop it."],
    ),
}


def test_check_refusal_that_counts_on_its_second_line_passes(
    grade: Grade, project: ProjectCopy
) -> None:
    """The README asks for the number in the message, not on its first line."""
    folder = project("solutions")
    edit(
        folder / SPLIT,
        'f"{several} users have more than one address, and',
        'f"Refusing to downgrade:\\n{several} users have more than one address, and',
    )
    report = grade(folder)
    assert report.passed, report.as_text()


# mutation, the task, phrases the failure must contain
BAD_INPUT: dict[str, tuple[Mutation, int, list[str]]] = {
    "syntax_error_in_0003": (
        append(SPLIT, "\n\ndef broken(:\n    pass\n"),
        1,
        [
            "No revision runs until 0003_split_addresses loads (task 2)",
            'File "migrations/versions/0003_split_addresses.py", line ',
            "SyntaxError",
        ],
    ),
    "renamed_revision_id": (
        replace(FULL_NAME, 'revision: str = "0002_full_name"', 'revision: str = "0002_names"'),
        1,
        [
            "KeyError: '0002_full_name'",  # 0003's down_revision names a revision that is gone
            "Keep the starter's revision ids (0002_full_name, 0003_split_addresses)",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_check_bad_input_is_a_clear_failure(grade_mutant: GradeMutant, case: str) -> None:
    mutate, task, phrases = BAD_INPUT[case]
    report = grade_mutant(mutate)
    first, *others = report.failures()
    assert first.task == task, report.as_text()
    assert all(other.message.startswith("Not checked: task 1 must") for other in others)
    for phrase in phrases:
        assert phrase in first.message, report.as_text()


@pytest.mark.server_agnostic
def test_expected_full_name_follows_the_readme_table() -> None:
    table = [
        ("Ana", "García", "Ana García"),
        ("Luis", None, "Luis"),
        ("", "Martín", "Martín"),
        ("  Ana ", " García  ", "Ana García"),
        ("Ana  María", "de la  Fuente", "Ana  María de la  Fuente"),
        ("   ", None, ""),
        (None, None, ""),
    ]
    for first, last, full in table:
        assert expected_full_name(first, last) == full
    readme = (LESSON.starter_dir / "README.md").read_text(encoding="utf-8")
    for first, last, full in table:
        shown = [f"`{value!r}`" if value is not None else "`NULL`" for value in (first, last)]
        assert f"| {shown[0]} | {shown[1]} | `{full!r}`" in readme, (first, last)


def test_fixture_is_what_the_first_revision_creates(server, tmp_path: Path) -> None:
    """The seeded database and a fresh `upgrade 0001_create_users` have the same users table."""
    template = databases.ensure_template(server, LESSON.number, LESSON.fixture_path)
    url = databases.clone(server, template, databases.db_name(LESSON.number, "fixture_test"))
    try:
        with connect(url) as conn:
            seeded = table_columns(conn, "users"), sorted(constraints(conn, "users"))
        for args in (["downgrade", "base"], ["upgrade", "0001_create_users"]):
            result = run_alembic(LESSON.starter_dir, args, url)
            assert result.ok, result.output
        with connect(url) as conn:
            assert (table_columns(conn, "users"), sorted(constraints(conn, "users"))) == seeded
    finally:
        databases.drop_database(server, databases.db_name(LESSON.number, "fixture_test"))
