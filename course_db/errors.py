"""The course's two error families, so every caller can tell who has to act.

`SetupError` is the environment's fault (no server, a bad URL, a missing folder): the CLI exits 2
and prints a TIP. A learner's mistake is not an exception at all: it is a failed check result.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class for errors the course reports itself, never as a bare traceback."""


class SetupError(CourseError):
    """The environment is not usable; `tip` tells the user how to fix it."""

    def __init__(self, message: str, tip: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\nTIP: {self.tip}" if self.tip else text


class CheckFailed(CourseError):
    """Raised by `check()` when `COURSE_SOURCE=solutions`, so an nbval run cannot pass a failure."""


def first_line(exc: BaseException) -> str:
    """An exception's first line for a message, or its type's name when it says nothing."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
