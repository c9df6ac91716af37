"""What a check returns: named, numbered results with messages written for the learner.

One `Report` answers `check("NN")` in a notebook, `course check NN` in a terminal and the tests.
A report is `passed`, `failed` (the learner's work is wrong: exit 1) or `error` (the environment is
broken: exit 2, with a TIP).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field


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
    def from_dict(cls, data: dict) -> Report:
        results = [Result(**item) for item in data.get("results", [])]
        return cls(
            lesson=data["lesson"],
            results=results,
            error=data.get("error", ""),
            tip=data.get("tip", ""),
            detail=data.get("detail", ""),
            duration=data.get("duration", 0.0),
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

    def as_text(self) -> str:
        lines = []
        for result in self.results:
            mark = "PASS" if result.passed else "FAIL"
            lines.append(f"{mark}  Task {result.task}: {result.name}")
            if result.message and not result.passed:
                lines.extend("      " + line for line in result.message.splitlines())
        if self.error:
            lines.append(f"ERROR {self.error}")
            if self.tip:
                lines.append(f"TIP   {self.tip}")
        lines.append(self.summary())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for result in self.results:
            mark = (
                "<b style='color:#1a7f37'>PASS</b>"
                if result.passed
                else "<b style='color:#cf222e'>FAIL</b>"
            )
            message = "" if result.passed else html.escape(result.message)
            rows.append(
                f"<tr><td>{mark}</td><td>Task {result.task}</td>"
                f"<td style='text-align:left'>{html.escape(result.name)}</td>"
                f"<td style='text-align:left;white-space:pre-wrap'>{message}</td></tr>"
            )
        error = ""
        if self.error:
            error = f"<p><b>ERROR {html.escape(self.error)}</b><br>TIP: {html.escape(self.tip)}</p>"
        return f"<table>{''.join(rows)}</table>{error}<p><b>{html.escape(self.summary())}</b></p>"

    def __repr__(self) -> str:
        return self.as_text()
