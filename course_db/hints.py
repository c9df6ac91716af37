"""One hint at a time, for the task the learner is stuck on (`hint()`, `course hint NN`).

A list of every hint at once gives the answer away and buries the one that matters; so each call
shows the next hint not seen yet, starting with the first task the learner's last check failed,
then the tasks after it, then those before. The hints seen are stored with the progress (the
instructor's board counts them), so the order survives a restarted kernel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from course_db import progress
from course_db.lessons import Hint, Lesson
from course_db.server import get_server


@dataclass(frozen=True)
class Answer:
    """The hint to show, or why there is none."""

    lesson: Lesson
    number: int | None  # the hint's number in the lesson (from 1); None: every hint was seen
    hint: Hint | None
    left: int  # hints not seen yet, after this one
    why: str  # which task the hint follows, in one line

    def as_text(self) -> str:
        if self.hint is None:
            return (
                f"You have seen all {len(self.lesson.hints)} hints of lesson {self.lesson.number}"
                f" (`hint(seen=True)`, or `course hint {self.lesson.number} --seen` in a terminal,"
                " shows them again). Still stuck? "
                f"`course solution {self.lesson.number}` shows how the solution differs."
            )
        title = task_titles(self.lesson).get(self.hint.task, "")
        more = f"{self.left} more: ask again." if self.left else "That was the last one."
        return (
            f"Hint {self.number} of {len(self.lesson.hints)}, task {self.hint.task}"
            f"{f' ({title})' if title else ''}: {self.hint.text}\n{self.why} {more}"
        )

    def _repr_markdown_(self) -> str:
        return self.as_text().replace("\n", "\n\n")

    def __repr__(self) -> str:
        return self.as_text()


def next_hint(lesson: Lesson) -> Answer:
    """The next hint of `lesson` for this learner, recorded as seen on the connection that read
    which hints were seen."""
    with progress.hint_book(get_server(), lesson.number) as book:
        state = book.state
        start = state.failing_task or 1
        waiting = [number for number in order(lesson.hints, start) if number not in state.seen]
        if waiting:
            book.record(waiting[0])
    if not state.checked:
        why = f"(You have not checked lesson {lesson.number} yet: starting at task 1.)"
    elif state.failing_task is None:
        why = f"(Your last check of lesson {lesson.number} passed.)"
    else:
        why = f"(Your last check stopped at task {state.failing_task}.)"
    if not waiting:
        return Answer(lesson, None, None, 0, why)
    number = waiting[0]
    return Answer(lesson, number, lesson.hints[number - 1], len(waiting) - 1, why)


def seen_hints(lesson: Lesson) -> str:
    """The hints of `lesson` this learner has seen, in the lesson's order."""
    seen = progress.hint_state(get_server(), lesson.number).seen
    lines = [
        f"Hint {number}, task {hint.task}: {hint.text}"
        for number, hint in enumerate(lesson.hints, start=1)
        if number in seen
    ]
    return "\n".join(lines) or f"No hint of lesson {lesson.number} seen yet: `hint()` shows one."


def order(hints: tuple[Hint, ...], start: int) -> list[int]:
    """Hint numbers (from 1): task `start`'s first, then later tasks', then earlier tasks'."""
    numbers = range(1, len(hints) + 1)
    return sorted(numbers, key=lambda n: (hints[n - 1].task < start, hints[n - 1].task, n))


def task_titles(lesson: Lesson) -> dict[int, str]:
    """Task number -> title, from the exercise README's `## N. Title` headings."""
    readme = lesson.starter_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    return {
        int(match[1]): match[2].strip()
        for match in re.finditer(r"^## (\d+)\. (.+)$", text, flags=re.MULTILINE)
    }
