"""Lesson 10's grader: the solution passes, the starter (autogenerate's destructive revision) and
the likely wrong chains and tests fail with a message that names the problem, bad input is a clear
failure within the limit, and a check never writes to the learner's folder."""

from __future__ import annotations

import json
import os
import time
import tomllib
from pathlib import Path

import pytest
from every_lesson import MUTATION_HARNESS, Endless
from helpers import (
    GradeMutant,
    Mutation,
    append,
    combine,
    delete,
    failure_text,
    loop_after,
    replace,
)

from course_db.graders.lesson10 import learner_tests
from course_db.graders.lesson10.app import APP_NAME
from course_db.lessons import get_lesson
from course_db.paths import ROOT
from course_db.report import Report

LESSON = get_lesson("10")
pytestmark = MUTATION_HARNESS  # one xdist worker for the checks that run many pytest processes
VERSIONS = Path("migrations/versions")
EXPAND, BACKFILL, CONTRACT = (
    VERSIONS / f"{name}.py" for name in ("0001_expand", "0002_backfill", "0003_contract")
)
TESTS = Path("tests/test_chain.py")


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 3, 4, 5, 5, 6]
# every row fails: a task not started (the tests of task 5) is not passed
STARTER_FAILS = SOLUTION_TASKS
STARTER_SAYS = [
    "The tests of task 5 are not written yet (tests/test_chain.py still has its",
    "customers.name is gone after 0001_expand, but v1 still reads and writes it",
    'v1: `SELECT name, phone FROM customers WHERE id = %s` -> column "name" does not',
    "display_name differs from the old name for 1000 of 1000 customers",
    'column "name" of relation "customers" contains null values',
    "(at migrations/versions/0001_expand.py, line ",
    "Your tests fail on your own chain",
    "require-lock-timeout",
]


DROP_OLD = '    op.drop_column("customers", "name")\n    op.drop_column("customers", "phone")\n'
COPY_NAMES = "UPDATE customers SET display_name = name WHERE display_name IS NULL"
COPY_PHONES = "SELECT id, phone FROM customers WHERE phone IS NOT NULL "
RELAX_NAME = 'op.alter_column("customers", "name", existing_type=sa.Text(), nullable=True)'


def task_to_fix(report: Report) -> int:
    """The releases' row is task 1's wherever it broke (one task list): the task to fix is the
    first failing row of a revision, or the releases' row when it is the only one."""
    rows = [r for r in report.failures() if r.name != APP_NAME] or report.failures()
    return rows[0].task


# mutation, the task to fix (task_to_fix), phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "backfill_trims_names": (
        replace(BACKFILL, COPY_NAMES, COPY_NAMES.replace("= name", "= trim(name)")),
        2,
        [
            "display_name differs from the old name for",
            "customer 4: name '   ', display_name ''",
            "Copy name exactly",
        ],
    ),
    "backfill_skips_empty_phones": (
        replace(BACKFILL, COPY_PHONES, COPY_PHONES.replace("phone IS", "nullif(phone, '') IS")),
        2,
        ["24 of 800 customers with a phone have no row", "have phone '': only NULL means no phone"],
    ),
    "expand_keeps_name_not_null": (
        replace(EXPAND, RELAX_NAME, "pass"),
        1,
        [
            "customers.name is still NOT NULL",
            'null value in column "name" of relation "customers" violates not-null constraint',
            "v3 inserts customers without a name",
        ],
    ),
    "contract_in_the_backfill": (
        combine(
            replace(
                BACKFILL,
                '        "ON CONFLICT (customer_id) DO NOTHING"\n    )\n',
                '        "ON CONFLICT (customer_id) DO NOTHING"\n    )\n' + DROP_OLD,
            ),
            replace(
                CONTRACT,
                DROP_OLD,
                "",
            ),
        ),
        2,
        [
            # What v2's queries hit while 0002 drops the columns depends on timing (a failed
            # write, or a deadlock that fails the deploy): only the schema's verdict is fixed.
            "name or phone is gone after 0002_backfill, but v2 still writes them",
        ],
    ),
    "backfill_in_the_expand": (
        combine(
            replace(BACKFILL, f'    op.execute("{COPY_NAMES}")\n', ""),
            replace(EXPAND, RELAX_NAME, f'{RELAX_NAME}\n    op.execute("{COPY_NAMES}")'),
        ),
        1,  # only the releases' row (task 1's) fails; its message sends to the backfill
        [
            "rows the releases wrote do not read back in display_name and customer_phones",
            "v1 wrote name \"v1 O'Zoë #",
            "copy where display_name IS NULL",
        ],
    ),
    "downgrade_forgets_phones": (
        replace(CONTRACT, '"WHERE p.customer_id = c.id"', '"WHERE p.customer_id = c.id AND false"'),
        4,
        [
            "After `downgrade base`, the data of customers differs",
            "customers differ, e.g.:",
            "0003_contract's downgrade copies",
        ],
    ),
    "contract_without_lock_timeout": (
        replace(
            CONTRACT,
            "def upgrade() -> None:\n    op.execute(\"SET LOCAL lock_timeout = '300ms'\")\n",
            "def upgrade() -> None:\n",
        ),
        6,
        ["0003_contract, line ", "require-lock-timeout"],
    ),
    "tests_miss_an_early_contract": (
        replace(
            TESTS,
            "def test_old_columns_stay_until_the_contract",
            "def old_columns_stay_until_the_contract",
        ),
        5,
        [
            "Your tests passed on 1 of 3 broken histories",
            "a contract too early: 0002_backfill drops name and phone while v2 still uses them",
        ],
    ),
    "tests_count_rows_only": (
        replace(
            TESTS,
            "    assert query(database_url, sql) == before\n",
            "    assert len(query(database_url, sql)) == len(before)\n",
        ),
        5,
        ["a 0003_contract downgrade that loses the phone of every third customer"],
    ),
}


def test_check_missing_revision_names_the_expected_chain(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(delete(CONTRACT))
    assert [r.task for r in report.results] == SOLUTION_TASKS
    assert all(r.message.startswith("Not run: the chain") for r in report.results[1:])
    assert "Expected exactly: 0001_expand, 0002_backfill, 0003_contract" in failure_text(report)


def test_check_syntax_error_points_at_the_file(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(append(BACKFILL, "\ndef broken(:\n    pass\n"))
    text = failure_text(report)
    assert "SyntaxError" in text and "0002_backfill.py" in text, report.as_text()


def test_check_test_that_raises_is_a_test_failure(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(
        replace(
            TESTS,
            "def migrate(verb: str, target: str) -> None:\n",
            "def migrate(verb: str, target: str) -> None:\n    raise RuntimeError('boom')\n",
        )
    )
    assert [r.task for r in report.failures()] == [5, 5], report.as_text()
    assert "RuntimeError: boom" in failure_text(report)
    assert "Not checked: your tests must pass on your own chain first" in failure_text(report)


ENDLESS = Endless(
    loop_after(BACKFILL, "def upgrade() -> None:\n"),
    timeout=6,
    within=30,  # of the lesson's 60 s
    says=["Look for an endless loop"],
)


def test_learner_squawk_config_is_the_course_config() -> None:
    """The exercise's .squawk.toml is a copy of the pinned one the grader uses."""
    course = tomllib.loads((ROOT / "course_db/graders/lesson10/squawk.toml").read_text())
    for folder in (LESSON.starter_dir, LESSON.solution_dir):
        assert tomllib.loads((folder / ".squawk.toml").read_text()) == course


def _helper(payload: bytes, then_sleep: bool) -> learner_tests.Pending:
    """A stand-in for the helper `learner_tests.start` forks: writes `payload`, maybe hangs."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        os.write(write_end, payload)
        if then_sleep:
            time.sleep(60)
        os._exit(0)
    os.close(write_end)
    return learner_tests.Pending(pid, read_end)


@pytest.mark.server_agnostic
def test_tests_helper_that_answers_is_read_to_the_end() -> None:
    error = "The check could not run your tests: OSError: x"
    found = _helper(json.dumps({"error": error}).encode(), then_sleep=False).results(10, True)
    assert [(r.task, r.passed, r.message) for r in found] == [(5, False, error)]


@pytest.mark.server_agnostic
def test_tests_helper_that_hangs_is_stopped_at_its_wait() -> None:
    pending = _helper(b'{"runs": [', then_sleep=True)
    started = time.monotonic()
    found = pending.results(0.5, True)
    assert time.monotonic() - started < 5
    assert "Your tests did not finish within 0 s" in found[0].message
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(pending.pid, os.WNOHANG)
