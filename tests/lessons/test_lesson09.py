"""Lesson 09's grader: the solution's repair passes; the starter and the repairs a learner gets
wrong (the seed's `stamp head` among them) fail with a message that names the problem; a
repair.sh that fails, loops or is missing gives a clear message; the learner's folder is never
written to."""

from __future__ import annotations

import time
from pathlib import Path

from every_lesson import Endless
from helpers import GradeMutant, Mutation, combine, delete, failure_text, replace

from course_db.lessons import get_lesson

LESSON = get_lesson("09")
REPAIR = Path("repair.sh")
MERGE = Path("migrations/versions/0004_merge_heads.py")
COUPONS = Path("migrations/versions/0005_add_coupons.py")
ENV = Path("migrations/env.py")
SOLVED_REPAIR = "alembic upgrade 0004_merge_heads\n"
SOLVED_STAMP = "alembic stamp 0005_add_coupons\n"


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 2, 3, 4, 4, 4, 4, 4]
# every row fails: a task not started is not passed (repair.sh still only has its TODO)
STARTER_FAILS = SOLUTION_TASKS
STARTER_SAYS = [
    "There is no revision 0004_merge_heads",
    "2 heads (0002_user_phone, 0003_order_status)",
    "target_metadata has no coupons table",
    "the database is at 0003_order_status",
    "repair.sh runs no command yet (only its `# TODO:`)",
    "alembic stamp 0005_add_coupons",
]


def _repair(body: str) -> Mutation:
    """repair.sh runs `body` instead of the solution's two commands."""
    return replace(REPAIR, SOLVED_STAMP, "", SOLVED_REPAIR, body)


_drop_and_create = combine(
    replace(
        COUPONS,
        "    op.create_table(\n",
        '    op.execute("DROP TABLE IF EXISTS coupons")\n    op.create_table(\n',
    ),
    _repair("alembic upgrade head\n"),
)


def _crlf(root: Path) -> None:
    script = root / REPAIR
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))


# mutation, the task of the first failure, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "upgrade heads runs 0005 on the hand-made table": (
        _repair("alembic upgrade heads\n"),
        4,
        ["exited with code 1", "already exists", "`alembic stamp 0005_add_coupons` records"],
    ),
    "the seed's stamp head skips Ben's revision": (
        _repair("alembic stamp head\n"),
        4,
        ["add_column", "users has no phone column: 0002_user_phone never ran"],
    ),
    "the revision drops the hand-made table and creates it again": (
        _drop_and_create,
        4,
        ["coupons had 40 rows and now has 0", "stamp"],
    ),
    "the merge has one parent only": (
        replace(
            MERGE,
            'down_revision = ("0003_order_status", "0002_user_phone")',
            'down_revision = "0003_order_status"',
        ),
        1,
        ["0004_merge_heads revises 0003_order_status; a merge revises both heads", "2 heads"],
    ),
    "env.py forgets the coupons model": (
        replace(
            ENV,
            "from app.models import coupons, orders, users",
            "from app.models import orders, users",
        ),
        2,
        ["target_metadata has no coupons table", "Autogenerate would DROP coupons"],
    ),
    "0005 creates coupons in another shape": (
        replace(COUPONS, 'sa.Column("code", sa.String(40)', 'sa.Column("code", sa.String(20)'),
        3,
        [
            "On a new database built by your revisions",
            "modify_type",
            "exactly as the hand-made one",
        ],
    ),
    "no 0005 revision": (
        delete(COUPONS),
        3,
        ["The head is 0004_merge_heads, not 0005_add_coupons", "Can't locate revision"],
    ),
    "repair.sh stops with an error of its own": (
        _repair('echo "not today" >&2\nexit 3\n'),
        4,
        ["exited with code 3", "not today", "not at the head"],
    ),
    "repair.sh saved with Windows line endings": (
        _crlf,
        4,
        ["exited with code", "Windows line endings (CRLF)"],
    ),
    "repair.sh calls the course's command instead of alembic": (
        _repair("uv run course alembic 09 -- current\n"),
        4,
        ["not at the head", "write the plain `alembic ...` commands"],
    ),
    "a syntax error in the merge revision": (
        replace(MERGE, "def upgrade() -> None:", "def upgrade() -> None"),
        1,
        ["Alembic cannot read your revisions", "SyntaxError", "0004_merge_heads.py"],
    ),
}


def test_check_missing_repair_script_is_named(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(delete(REPAIR))
    assert "There is no repair.sh in your project" in failure_text(report)


ENDLESS = Endless(
    _repair("alembic current\nwhile true; do sleep 0.2; done\n"),
    timeout=6,
    within=15,  # of the lesson's 20 s
    says=["bash repair.sh"],
)


def test_check_repair_script_waiting_for_input_fails_at_once(grade_mutant: GradeMutant) -> None:
    started = time.monotonic()
    report = grade_mutant(_repair('read -r -p "Really? " answer\n' + SOLVED_REPAIR + SOLVED_STAMP))
    assert time.monotonic() - started < 10  # its standard input is empty: `read` fails at once
    assert "exited with code 1" in failure_text(report)
