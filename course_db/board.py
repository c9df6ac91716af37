"""The class board: for every learner and lesson, passed / failing at task N / not started.

The instructor reads the class's progress database (their admin role sees every row) and the
class's roster (the members of its group role), so a learner who has not checked anything yet
still shows up, with every lesson "not started".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from course_db import roles, workshop
from course_db.class_progress import progress_rows
from course_db.databases import admin
from course_db.lessons import all_lessons
from course_db.server import Server


@dataclass(frozen=True)
class Cell:
    status: str  # "passed", "failing", "not started"
    failing_task: int | None = None
    checks: int = 0

    def short(self) -> str:
        if self.status == "passed":
            return "passed"
        if self.status == "failing":
            return f"task {self.failing_task}" if self.failing_task else "failing"
        return "-"


@dataclass
class Row:
    learner: str
    cells: dict[str, Cell] = field(default_factory=dict)
    checks: int = 0
    hints: int = 0
    last: dt.datetime | None = None


@dataclass(frozen=True)
class Board:
    workshop: str
    lessons: list[str]
    rows: list[Row]

    def passed_per_lesson(self) -> dict[str, int]:
        return {
            number: sum(row.cells[number].status == "passed" for row in self.rows)
            for number in self.lessons
        }


def load_board(server: Server, name: str) -> Board:
    """Read the roster and every progress row of workshop `name`."""
    workshop.require_admin(server)
    group = roles.group_role(name)
    with admin(server) as conn:
        learners = [
            role.removeprefix(group + "_")
            for role in workshop.members(conn, group)
            if not role.removeprefix(group + "_").startswith("grader")
        ]
    lessons = [lesson.number for lesson in all_lessons() if lesson.ready]
    rows = {learner: Row(learner) for learner in learners}
    for (
        learner,
        lesson,
        _status,
        _,
        _,
        failing,
        checks,
        last,
        first_passed,
        hints,
    ) in progress_rows(server, group):
        row = rows.get(learner)
        if row is None or lesson not in lessons:
            continue
        state = "passed" if first_passed is not None else "failing"
        row.cells[lesson] = Cell(state, failing, checks)
        row.checks += checks
        row.hints += hints
        row.last = max(row.last, last) if row.last else last
    for row in rows.values():
        for lesson in lessons:
            row.cells.setdefault(lesson, Cell("not started"))
    return Board(name, lessons, list(rows.values()))


def render_text(board: Board, now: dt.datetime | None = None) -> str:
    """The board as a terminal table: one line per learner, one column per lesson."""
    width = max([7, *(len(row.learner) for row in board.rows)])
    head = f"{'learner':<{width}}  " + "  ".join(f"{n:<7}" for n in board.lessons)
    lines = [head + "  checks  hints  last activity"]
    for row in board.rows:
        cells = "  ".join(f"{row.cells[n].short():<7}" for n in board.lessons)
        counts = f"{row.checks:>6}  {row.hints:>5}"
        lines.append(f"{row.learner:<{width}}  {cells}  {counts}  {ago(row.last, now)}")
    passed = board.passed_per_lesson()
    total = len(board.rows)
    summary = "  ".join(f"{f'{passed[n]}/{total}':<7}" for n in board.lessons)
    lines.append(f"{'passed':<{width}}  {summary}")
    lines.append("passed: the lesson's check passed once; task N: the last check fails at task N;")
    lines.append("-: not checked yet. hints: how many hints the learner asked for (`hint()`).")
    return "\n".join(lines)


def ago(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if moment is None:
        return "-"
    now = now or dt.datetime.now(dt.UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
