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


def full_server_tip(exc: BaseException) -> str | None:
    """The next step when a connection was refused for want of a free slot, else None.

    On a class's shared server this is the first thing to run out when everybody checks at once:
    the server's `max_connections`, or the learner role's own connection limit.
    """
    text = str(exc)
    if "too many connections for role" in text:
        return (
            "your role has all its connections in use: close the notebooks you are not using "
            "(or restart their kernels), then check again."
        )
    if "too many clients" in text or "remaining connection slots are reserved" in text:
        return (
            "the server has no free connection right now: check again in a minute. Instructor: "
            "give it about 10 connections per learner plus 20 (max_connections; README, "
            "Workshops and instructors)."
        )
    return None
