"""What a check returns: named, numbered results with messages written for the learner.

One `Report` answers `check("NN")` in a notebook, `course check NN` in a terminal and the tests.
A report is `passed`, `failed` (the learner's work is wrong: exit 1) or `error` (the environment is
broken: exit 2, with a TIP).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

ONE_SCREEN = 15  # lines a terminal answer takes, at most, without --verbose
MIN_MESSAGE_LINES = 4  # of the first failing task's message, however many tasks there are
NOTEBOOK_LINES = 6  # of the first failing task's message a notebook shows open; the rest folds
LINE_WIDTH = 100  # characters a line of the answer holds on screen, about: longer ones wrap


@dataclass(frozen=True)
class Result:
    """One named assertion about the learner's work; `task` is the README's task number."""

    task: int
    name: str
    passed: bool
    message: str = ""


@dataclass
class Report:
    lesson: str
    results: list[Result] = field(default_factory=list)
    error: str = ""  # a setup problem, not the learner's mistake
    tip: str = ""
    detail: str = ""  # a traceback for --verbose, never shown by default
    duration: float = 0.0
    picture: str = ""  # Markdown: what the migrations did to the schema (`schema_diagram`)

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.results and all(result.passed for result in self.results):
            return "passed"
        return "failed"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def exit_code(self) -> int:
        return {"passed": 0, "failed": 1, "error": 2}[self.status]

    def failures(self) -> list[Result]:
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        results = [Result(**item) for item in data.get("results", [])]
        return cls(
            lesson=data["lesson"],
            results=results,
            error=data.get("error", ""),
            tip=data.get("tip", ""),
            detail=data.get("detail", ""),
            duration=data.get("duration", 0.0),
            picture=data.get("picture", ""),
        )

    def summary(self) -> str:
        """One line: what happened and what to do next."""
        if self.status == "error":
            return (
                f"Lesson {self.lesson}: the check could not run (a setup problem, not your code)."
            )
        if self.passed:
            return f"Lesson {self.lesson}: all {len(self.results)} checks passed. Well done!"
        first = self.failures()[0]
        return (
            f"Lesson {self.lesson}: {len(self.failures())} of {len(self.results)} checks failed. "
            f"Start with task {first.task}: {first.name}."
        )

    def as_text(self, verbose: bool = False) -> str:
        """The answer for a terminal, shaped like a good compiler error: it fits one screen.

        Every task is one line; only the first failing one says in full what happened and what
        to do (at most a screen's worth, wrapped lines counted: the rest is one `--verbose` away).
        `verbose` shows every message whole.
        """
        lines = []
        first = next(iter(self.failures()), None)
        budget = max(MIN_MESSAGE_LINES, ONE_SCREEN - len(self.results) - 2)
        for result in self.results:
            mark = "PASS" if result.passed else "FAIL"
            lines.append(f"{mark}  Task {result.task}: {result.name}")
            message = result.message.splitlines() if not result.passed else []
            if verbose:
                lines.extend("      " + line for line in message)
            elif result is first:
                shown, rest = split_open(result.message, budget)
                lines.extend("      " + line for line in shown)
                if rest:
                    lines.append(
                        f"      ... {more_lines(rest)}: `course check {self.lesson} --verbose`"
                    )
        if self.error:
            lines.append(f"ERROR {self.error}")
            if self.tip:
                lines.append(f"TIP   {self.tip}")
        lines.append(self.summary())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The answer in a notebook: one line per task; under the first failing one, its message
        across the table, the first lines open (what happened, what to do), the rest folded.
        The other failures' messages are folded at the end of their line."""
        first = next(iter(self.failures()), None)
        rows = []
        for result in self.results:
            mark = (
                "<b style='color:#1a7f37'>PASS</b>"
                if result.passed
                else "<b style='color:#cf222e'>FAIL</b>"
            )
            folded = ""
            if not result.passed and result.message and result is not first:
                folded = f"<details><summary>details</summary>{_html(result.message)}</details>"
            rows.append(
                f"<tr><td>{mark}</td><td style='white-space:nowrap'>Task {result.task}</td>"
                f"<td style='text-align:left'>{_html(result.name)}</td>"
                f"<td style='text-align:left;white-space:pre-wrap'>{folded}</td></tr>"
            )
            if result is first and result.message:
                rows.append(
                    "<tr><td></td><td colspan='3' style='text-align:left;white-space:pre-wrap'>"
                    f"{_folded(result.message)}</td></tr>"
                )
        error = ""
        if self.error:
            error = f"<p><b>ERROR {_html(self.error)}</b><br>TIP: {_html(self.tip)}</p>"
        return f"<table>{''.join(rows)}</table>{error}<p><b>{_html(self.summary())}</b></p>"

    def __repr__(self) -> str:
        return self.as_text()


def _html(text: str) -> str:
    """Escaped text whose `backticks` show as code, as they do in the READMEs."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", html.escape(text))


def split_open(message: str, rows: int = NOTEBOOK_LINES) -> tuple[list[str], list[str]]:
    """The lines of `message` an answer shows, and the lines it folds (or leaves to --verbose).

    Shown: the first line always, then as many as fit `rows` lines on screen, long lines counted
    as wrapped, so a learner reads what happened and what to do at a glance.
    """
    lines = message.splitlines()
    used = 0
    for count, line in enumerate(lines):
        used += wrapped(line)
        if used > rows and count:
            return lines[:count], lines[count:]
    return lines, []


def wrapped(line: str) -> int:
    """How many lines `line` takes on screen, wrapped at `LINE_WIDTH`."""
    return max(1, math.ceil(len(line) / LINE_WIDTH))


def more_lines(rest: list[str]) -> str:
    return f"{len(rest)} more line{'s' if len(rest) > 1 else ''}"


def _folded(message: str) -> str:
    shown, rest = split_open(message)
    text = _html("\n".join(shown))
    if rest:
        folded = _html("\n".join(rest))
        text += f"<details><summary>{more_lines(rest)}</summary>{folded}</details>"
    return text
