"""What a learner reads: an answer that fits one screen, in the terminal and in the notebook."""

from __future__ import annotations

import pytest

from course_db.report import (
    LINE_WIDTH,
    NOTEBOOK_LINES,
    ONE_SCREEN,
    Report,
    Result,
    split_open,
)

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests

LOG = "\n".join(f"INFO  line {n} of a long log" for n in range(40))


def long_report() -> Report:
    results = [Result(1, "upgrade runs", True)]
    results += [
        Result(task, f"task {task} works", False, f"`x` is wrong\n{LOG}") for task in (2, 3)
    ]
    results += [Result(4, "downgrade works", False, "not checked: task 2 must pass first")]
    return Report(lesson="10", results=results)


def test_a_terminal_answer_fits_one_screen_and_points_at_verbose() -> None:
    text = long_report().as_text()
    lines = text.splitlines()
    assert len(lines) <= ONE_SCREEN, text
    assert lines[1] == "FAIL  Task 2: task 2 works"
    assert lines[2] == "      `x` is wrong"  # the first failure says what happened
    assert "more lines: `course check 10 --verbose`" in text
    assert "FAIL  Task 3: task 3 works\nFAIL  Task 4: downgrade works" in text  # one line each
    assert text.count("INFO") < 15


def test_a_terminal_answer_counts_a_long_line_as_the_lines_it_wraps_to() -> None:
    long = "y" * (2 * LINE_WIDTH + 1)  # three lines on screen
    message = "\n".join([long] * 3)
    results = [Result(task, f"task {task}", False, message) for task in range(1, 9)]
    text = Report(lesson="05", results=results).as_text()  # room for 5 lines under task 1
    assert text.count(long) == 1
    assert "... 2 more lines: `course check 05 --verbose`" in text


def test_verbose_shows_every_message_whole() -> None:
    text = long_report().as_text(verbose=True)
    assert text.count("INFO  line 39 of a long log") == 2


def test_notebook_answer_folds_all_but_the_first_failure_and_shows_code() -> None:
    page = long_report()._repr_html_()
    assert page.count("<details><summary>details</summary>") == 2  # tasks 3 and 4
    assert "<code>x</code> is wrong" in page
    assert "white-space:nowrap'>Task 2<" in page


def test_notebook_answer_opens_the_first_failure_in_a_few_lines_and_folds_the_rest() -> None:
    page = long_report()._repr_html_()
    first = page.split("colspan='3'")[1].split("</td>")[0]
    shown = first.split("<details>")[0]
    assert shown.count("\n") + 1 == NOTEBOOK_LINES  # `x` is wrong, then the log's first lines
    assert f"<summary>{41 - NOTEBOOK_LINES} more lines</summary>" in first
    assert "INFO  line 39 of a long log" in first  # folded, not lost


def test_split_open_counts_wrapped_lines_and_always_shows_the_first() -> None:
    long = "w" * (LINE_WIDTH * NOTEBOOK_LINES + 1)
    assert split_open(f"{long}\nnext") == ([long], ["next"])
    two = "w" * (LINE_WIDTH + 1)  # two lines once wrapped
    shown, rest = split_open("\n".join([two] * NOTEBOOK_LINES))
    assert len(shown) == NOTEBOOK_LINES // 2 and len(rest) == NOTEBOOK_LINES - len(shown)
    assert split_open("one line") == (["one line"], [])
