"""Committed notebooks: readable on GitHub, free of anything that belongs to one machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_db.lessons import all_lessons
from course_db.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# What must never reach a committed output: machine paths, hosts, ports, credentials, prefixes.
LEAKS = {
    "an absolute path": re.compile(r"(?<![\w.])/(?:home|root|tmp|work|Users|var|opt|private)/"),
    "a Windows path": re.compile(r"[A-Za-z]:\\\\"),
    "a host or port": re.compile(r"127\.0\.0\.1|localhost|:5432\b|host=", re.IGNORECASE),
    "a password": re.compile(r"password|passwd|://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE),
    "a database name of one checkout": re.compile(r"course_[0-9a-f]{6}_"),
    "the server's data folder": re.compile(r"pgdata"),
}


def outputs_text(notebook: Path) -> str:
    data = json.loads(notebook.read_text(encoding="utf-8"))
    chunks = []
    for cell in data["cells"]:
        for output in cell.get("outputs", []):
            chunks.append(json.dumps(output, ensure_ascii=False))
    return "\n".join(chunks)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_outputs_leak_nothing_machine_specific(notebook: Path) -> None:
    text = outputs_text(notebook)
    found = {what: pattern.findall(text)[:3] for what, pattern in LEAKS.items()}
    assert not {what: hits for what, hits in found.items() if hits}


def is_check(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "".join(cell["source"]).strip().startswith("check(")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_with_outputs_and_no_errors(notebook: Path) -> None:
    data = json.loads(notebook.read_text(encoding="utf-8"))
    code = [cell for cell in data["cells"] if cell["cell_type"] == "code" and not is_check(cell)]
    assert code and all(cell.get("outputs") for cell in code if cell["source"])
    errors = [o for cell in code for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert not errors


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_check_cell_is_committed_without_an_answer(notebook: Path) -> None:
    """A newcomer must not read "all 4 checks passed" before doing anything.

    The notebooks are run on the solutions (nbval), so a recorded answer would be the solution's.
    nbval still runs the cell (its output is ignored) and `check()` raises there on any failure.
    """
    data = json.loads(notebook.read_text(encoding="utf-8"))
    checks = [cell for cell in data["cells"] if is_check(cell)]
    assert len(checks) == 1
    assert checks[0]["outputs"] == []
    assert "nbval-ignore-output" in checks[0]["metadata"].get("tags", [])


def test_every_ready_lesson_has_a_notebook_exercise_and_solution() -> None:
    for lesson in all_lessons():
        if lesson.ready:
            assert lesson.notebook.is_file(), lesson.notebook
            assert (lesson.starter_dir / "README.md").is_file()
            assert (lesson.solution_dir / "alembic.ini").is_file()


def files_in(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def revisions_named_in_readme(lesson) -> set[str]:
    """The `migrations/versions/*.py` paths an exercise README names (some the learner creates)."""
    readme = lesson.starter_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return set(re.findall(r"migrations/versions/\w+\.py", text))


def test_starter_and_solution_hold_the_same_files() -> None:
    """The same files, except new revisions the README names: the solution has them, the starter
    does not (the learner creates them, e.g. with `revision --autogenerate`)."""
    for lesson in all_lessons():
        if lesson.ready:
            starter = files_in(lesson.starter_dir)
            created = revisions_named_in_readme(lesson) - starter
            assert starter | created == files_in(lesson.solution_dir), lesson.slug


def test_starter_marks_each_place_to_edit_with_todo() -> None:
    for lesson in all_lessons():
        if lesson.ready:
            starter = "".join(
                path.read_text(encoding="utf-8") for path in lesson.starter_dir.rglob("*.py")
            )
            solution = "".join(
                path.read_text(encoding="utf-8") for path in lesson.solution_dir.rglob("*.py")
            )
            assert "# TODO:" in starter
            assert "# TODO:" not in solution


# Emoji and CJK need fonts a plain Linux machine lacks: they show as empty boxes there.
NEEDS_A_FONT = re.compile("[\U0001f300-\U0001faff\u2705\u274c\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize(
    "document",
    [*NOTEBOOKS, *sorted((ROOT / "exercises").glob("*/README.md"))],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_text_for_the_learner_needs_no_emoji_or_cjk_font(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if NEEDS_A_FONT.search(line)]
    explained = [line for line in lines if "kanji" in line or "emoji" in line]
    assert lines == explained, lines[:3]
