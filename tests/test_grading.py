"""What a learner reads: an answer that fits one screen, in the terminal and in the notebook."""

from __future__ import annotations

from course_db.grading import ONE_SCREEN, Report, Result

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


def test_verbose_shows_every_message_whole() -> None:
    text = long_report().as_text(verbose=True)
    assert text.count("INFO  line 39 of a long log") == 2


def test_notebook_answer_folds_all_but_the_first_failure_and_shows_code() -> None:
    page = long_report()._repr_html_()
    assert page.count("<details>") == 2  # tasks 3 and 4; task 2 stays open
    assert "<code>x</code> is wrong" in page
    assert "white-space:nowrap'>Task 2<" in page
