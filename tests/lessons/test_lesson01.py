"""Lesson 01's grader: the solution passes, the starter and every mutant fail with a message that
names the problem, bad input is a learner's failure (never a setup error), and a check never
writes to the learner's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from every_lesson import Endless
from helpers import (
    REVISION,
    Grade,
    Mutation,
    ProjectCopy,
    append,
    assert_learner_failure,
    failure_text,
    grade_untouched,
    replace,
)

from course_db.lessons import get_lesson
from course_db.report import Report

LESSON = get_lesson("01")


def drop_downgrade(folder: Path) -> None:
    path = folder / REVISION
    text = path.read_text(encoding="utf-8")
    assert text.count("\ndef downgrade()") == 1
    path.write_text(text.split("\ndef downgrade()")[0], encoding="utf-8")


def before_reading_authors(code: str) -> Mutation:
    return replace(REVISION, "    authors = op.get_bind()", code + "    authors = op.get_bind()")


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 2, 3, 3]
STARTER_FAILS = [2, 3, 3]
STARTER_SAYS: list[str] = []  # row by row: starter_rows


def starter_rows(report: Report) -> None:
    """Each failing row of the starter says its own problem; the last one, what it waits for."""
    empty, round_trip, waiting = (r.message for r in report.failures())
    assert "author_slugs is empty after the upgrade" in empty
    assert "left behind" in round_trip and "table author_slugs" in round_trip
    assert waiting == (
        "Not checked: task 3 must pass first (downgrade removes exactly what upgrade added)."
    )


# mutation, the task of the first failure, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "no_unicode_normalisation": (
        replace(
            REVISION,
            'unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()',
            'name or ""',
        ),
        2,
        [
            "authors have a wrong slug",
            "author 1 'José Núñez': expected 'jose-nunez', got 'jos-n-ez'",
        ],
    ),
    "no_dedupe": (
        replace(
            REVISION,
            '        if slug in taken:\n            slug = f"{slug}-{author_id}"\n',
            "",
        ),
        1,
        [
            "`alembic upgrade head` failed",
            "UniqueViolation",
            "duplicate key value violates unique constraint",
            "(at migrations/versions/0001_author_slugs.py, line ",
            "in upgrade)",
        ],
    ),
    "downgrade_does_nothing": (
        replace(REVISION, '    op.drop_table("author_slugs")', "    pass"),
        3,
        ["left behind:", "table author_slugs"],
    ),
    "downgrade_drops_authors_too": (
        replace(
            REVISION,
            '    op.drop_table("author_slugs")',
            '    op.drop_table("author_slugs")\n    op.drop_table("authors")',
        ),
        3,
        ["removed what it did not create:", "table authors"],
    ),
    "no_fallback_for_empty_names": (
        replace(REVISION, 'return slug or f"author-{author_id}"', "return slug"),
        2,
        ["authors have a wrong slug", "author 11 None: expected 'author-11', got ''"],
    ),
    "table_named_differently": (
        replace(
            REVISION,
            '"author_slugs",\n        sa.Column',
            '"author_slug",\n        sa.Column',
            'op.drop_table("author_slugs")',
            'op.drop_table("author_slug")',
        ),
        1,
        ["there is no table author_slugs"],
    ),
    "slugs_differ_between_runs": (
        replace(
            REVISION,
            '"slug": slug}',
            '"slug": f"{slug}-{__import__(\'uuid\').uuid4().hex[:6]}"}',
        ),
        2,
        ["authors have a wrong slug", "The second upgrade gave other slugs."],
    ),
    "unique_missing": (
        replace(
            REVISION,
            'sa.Column("slug", sa.Text(), nullable=False, unique=True)',
            'sa.Column("slug", sa.Text(), nullable=False)',
        ),
        1,
        ["slug is not unique"],
    ),
}


def test_check_wrong_but_repeatable_slugs_pass_the_round_trip(
    grade: Grade, project: ProjectCopy
) -> None:
    """Task 2 grades the slugs; task 3's second upgrade only has to repeat the first one's."""
    folder = project("solutions")
    MUTANTS["no_fallback_for_empty_names"][0](folder)
    report = grade(folder)
    assert [r.task for r in report.failures()] == [2], report.as_text()


# mutation, phrases the failure must contain, marker: "{line}" is the line of `marker`
BAD_INPUT: dict[str, tuple[Mutation, list[str], str]] = {
    "syntax_error": (
        append(REVISION, "\n\ndef broken(:\n    pass\n"),
        ["SyntaxError", 'File "migrations/versions/0001_author_slugs.py", line {line}'],
        "def broken(:",
    ),
    "exception_after_create_table": (
        before_reading_authors('    raise RuntimeError("boom")\n'),
        [
            "`alembic upgrade head` failed",
            "RuntimeError: boom",
            "(at migrations/versions/0001_author_slugs.py, line {line}, in upgrade)",
        ],
        'raise RuntimeError("boom")',
    ),
    "system_exit_in_upgrade": (
        before_reading_authors("    raise SystemExit(3)\n"),
        ["`alembic upgrade head` failed", "SystemExit: 3", "line {line}, in upgrade"],
        "raise SystemExit(3)",
    ),
    "interpreter_exit_in_upgrade": (
        before_reading_authors("    import os\n    os._exit(3)\n"),
        ["ended abruptly (exit status 3)", "Running upgrade  -> 0001_author_slugs"],
        "os._exit(3)",
    ),
    "missing_downgrade": (drop_downgrade, ["no downgrade() function"], ""),
}


def line_of(folder: Path, marker: str) -> int:
    lines = (folder / REVISION).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if marker in line)


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_check_bad_input_is_a_clear_failure_and_next_check_passes(
    grade: Grade, project: ProjectCopy, case: str
) -> None:
    mutate, phrases, marker = BAD_INPUT[case]
    folder = project("solutions")
    mutate(folder)
    line = line_of(folder, marker) if marker else 0
    report = grade_untouched(folder, grade)
    assert_learner_failure(report)
    text = failure_text(report)
    for phrase in phrases:
        assert phrase.format(line=line) in text, report.as_text()
    assert grade(project("solutions")).passed


ENDLESS = Endless(
    before_reading_authors("    while True:\n        pass\n"),
    timeout=3,
    within=15,  # of the lesson's 20 s
    says=["Running upgrade  -> 0001_author_slugs"],  # where it hung
)


def test_check_missing_project_folder_is_a_setup_error(grade: Grade, tmp_path: Path) -> None:
    report = grade(tmp_path / "nowhere")
    assert report.status == "error" and report.exit_code == 2
    assert "There is no folder" in report.error and report.tip


def test_check_folder_without_alembic_ini_is_a_setup_error(
    grade: Grade, project: ProjectCopy
) -> None:
    folder = project("solutions")
    (folder / "alembic.ini").unlink()
    report = grade(folder)
    assert report.exit_code == 2 and "no alembic.ini" in report.error
    assert "--project" in report.tip and "reset" not in report.tip  # not the caller's exercise
