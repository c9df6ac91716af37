"""Committed notebooks: readable on GitHub, free of anything that belongs to one machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_db.lessons import Lesson, all_lessons
from course_db.paths import ROOT

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests

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


# One shape for every lesson, so a learner always knows where they are: the title and "What
# you'll do / learn / need"; numbered sections, the last one the exercise with its `check()`; one
# "Common mistakes" box just before the exercise; a recap that ends with a "Next:" link.
LESSONS = {lesson.number: lesson for lesson in all_lessons()}
SECTION = re.compile(r"## (\d+)\. (.+)")
RUN_AGAIN = (
    "Run the cells from top to bottom (Shift+Enter). You can run the notebook again at any time"
)
NEXT_LINK = re.compile(r"\[\**([^\]]+?)\**\]\((\w+\.ipynb)\)")
# How a recorded transcript was made (a virtualenv, this machine's package mirrors) is no part of
# the lesson: it stays folded in a <details> block, out of the learner's way.
SET_UP_NOTE = re.compile(r"PIP_CONFIG_FILE|throwaway virtualenv|package mirror|spinner frames")


def as_markdown(notebook: Path) -> list[str]:
    """The notebook as one Markdown document, one entry per line.

    A code cell is one line, `<code: first line>`; fenced code is left out, so a `# comment` in a
    shell script is never mistaken for a heading.
    """
    data = json.loads(notebook.read_text(encoding="utf-8"))
    lines: list[str] = []
    for cell in data["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            lines.append(f"<code: {source.strip().splitlines()[0] if source.strip() else ''}>")
            continue
        fenced = False
        for line in source.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced:
                lines.append(line)
    return lines


def plain(text: str) -> str:
    return text.replace("`", "").replace("*", "")


def lesson_of(notebook: Path) -> Lesson:
    return LESSONS[notebook.name[:2]]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_opens_with_its_title_and_what_you_do_learn_need(notebook: Path) -> None:
    lesson = lesson_of(notebook)
    lines = as_markdown(notebook)
    assert plain(lines[0]) == plain(f"# {lesson.number} · {lesson.title}")
    intro = "\n".join(lines[: lines.index(next(line for line in lines if line.startswith("<")))])
    labels = re.findall(r"^\*\*(What [^*]+:)\*\*", intro, re.MULTILINE)
    assert labels == ["What you'll do:", "What you'll learn:", "What you need:"]
    assert RUN_AGAIN in intro  # every lesson can be run again from the top


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_sections_are_numbered_and_the_last_is_the_exercise(notebook: Path) -> None:
    lines = as_markdown(notebook)
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[-1] == "## Recap"
    numbered = [SECTION.fullmatch(heading) for heading in headings[:-1]]
    assert all(numbered), [h for h, m in zip(headings, numbered, strict=False) if not m]
    assert [int(match[1]) for match in numbered] == list(range(1, len(numbered) + 1))
    assert numbered[-1][2].startswith("Exercise: ")
    exercise = lines[lines.index(headings[-2]) : lines.index("## Recap")]
    assert "<code: check()>" in exercise


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_has_one_common_mistakes_box_just_before_the_exercise(notebook: Path) -> None:
    lines = as_markdown(notebook)
    exercise = next(i for i, line in enumerate(lines) if re.match(r"## \d+\. Exercise: ", line))
    box = []
    for line in reversed(lines[:exercise]):
        if line.startswith(">"):
            box.insert(0, line)
        elif line.strip() or box:
            break
    assert box and box[0] == "> **Common mistakes**"
    assert any(line.startswith("> * **") for line in box)  # at least one mistake, named in bold
    mentions = [line for line in lines if re.search(r"(?i)common mistake", line)]
    assert mentions == ["> **Common mistakes**"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_ends_with_a_recap_and_a_next_link(notebook: Path) -> None:
    lesson = lesson_of(notebook)
    lines = as_markdown(notebook)
    last = [line for line in lines[lines.index("## Recap") :] if line.strip()][-1]
    assert last.startswith("Next: "), last
    following = [other for other in all_lessons() if other.number > lesson.number]
    links = NEXT_LINK.findall(last)
    if following:
        title, target = links[0]
        assert target == f"{following[0].slug}.ipynb"
        assert plain(title) == plain(f"{following[0].number} · {following[0].title}")
    else:
        assert not links, "after the last lesson, Next: says what to do after the course"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_machine_set_up_notes_are_folded_in_details(notebook: Path) -> None:
    text = "\n".join(as_markdown(notebook))
    assert text.count("<details>") == text.count("</details>")
    assert text.count("<details>") == len(re.findall(r"<details>\s*<summary>", text))
    unfolded = re.sub(r"<details>.*?</details>", "", text, flags=re.DOTALL)
    assert not SET_UP_NOTE.findall(unfolded)
    assert "<div" not in unfolded, "callouts are Markdown blockquotes, the same on every viewer"
