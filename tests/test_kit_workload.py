"""graders/kit/workload: how one step's failed queries read in a grader's message."""

from __future__ import annotations

import pytest

from course_db.graders.kit.workload import Op, failed_queries

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests


def op(sql: str, error: str = "", app: str = "v1") -> Op:
    return Op(app, sql, 0.0, 0.1, error)


def test_failed_queries_counts_and_shows_the_most_common_first() -> None:
    missing = 'column "email" does not exist'
    ops = [op("SELECT 1"), op("INSERT x", "lock timeout"), *[op("UPDATE y", missing)] * 2]
    failed, examples, errors = failed_queries(ops, shown=1)
    assert failed == 3
    assert examples == [f"  v1: `UPDATE y` -> {missing} (2x)"]
    assert errors == [missing, "lock timeout"]


def test_failed_queries_of_a_clean_step_is_empty() -> None:
    assert failed_queries([op("SELECT 1")], shown=3) == (0, [], [])
