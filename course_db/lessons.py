"""The lesson registry: `lessons.toml` is the one list of lessons; everything else reads it here."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from course_db.errors import SetupError
from course_db.paths import ROOT

REGISTRY = ROOT / "lessons.toml"


@dataclass(frozen=True)
class Hint:
    task: int  # the README's task it helps with: `hint()` starts at the first failing one
    text: str


@dataclass(frozen=True)
class Lesson:
    number: str
    slug: str
    title: str
    seed_section: str
    teaches: str
    data_size: str
    fixture: str
    ready: bool
    check_timeout: float
    memory_limit_mb: int = 2048  # the check's processes together, resident (Linux)
    copy_limit_mb: int = 50  # the project a check copies, files together
    hints: tuple[Hint, ...] = ()
    # name -> fixture of each database the lesson has besides its main one (lesson 08: analytics)
    extra_databases: dict[str, str] = field(default_factory=dict)

    @property
    def extras(self) -> tuple[ExtraDatabase, ...]:
        """The lesson's extra databases, in the order `lessons.toml` lists them."""
        return tuple(
            ExtraDatabase(name, f"{self.number}_{name}", fixture)
            for name, fixture in self.extra_databases.items()
        )

    @property
    def starter_dir(self) -> Path:
        return ROOT / "exercises" / self.slug

    @property
    def solution_dir(self) -> Path:
        return ROOT / "solutions" / self.slug

    @property
    def exercise_dir(self) -> Path:
        """The project checks and `course alembic` work on: the learner's, or the solution in CI."""
        return self.solution_dir if source() == "solutions" else self.starter_dir

    @property
    def notebook(self) -> Path:
        return ROOT / "notebooks" / f"{self.slug}.ipynb"

    @property
    def fixture_path(self) -> Path:
        return ROOT / "course_db" / "fixtures" / f"{self.fixture}.sql"


@dataclass(frozen=True)
class ExtraDatabase:
    """A second (third...) database of one lesson, with its own fixture and template.

    `key` stands where a lesson number stands in database names (`course_<prefix>_08_analytics_
    exercise`), so the demo, exercise, spare, check and template roles, the marker comment and the
    clean-ups all work for it as they do for a lesson's main database.
    """

    name: str  # "analytics": every process the course starts gets ANALYTICS_DATABASE_URL
    key: str  # "08_analytics"
    fixture: str

    @property
    def fixture_path(self) -> Path:
        return ROOT / "course_db" / "fixtures" / f"{self.fixture}.sql"

    @property
    def env_var(self) -> str:
        return f"{self.name.upper()}_DATABASE_URL"


def source() -> str:
    """`exercises` (the learner's work) or `solutions` (CI, `course verify`)."""
    value = os.environ.get("COURSE_SOURCE", "exercises").strip() or "exercises"
    if value not in ("exercises", "solutions"):
        raise SetupError(
            f"COURSE_SOURCE={value!r} is not understood.",
            tip="use COURSE_SOURCE=solutions or leave it unset.",
        )
    return value


@cache
def all_lessons() -> tuple[Lesson, ...]:
    data = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))
    return tuple(
        Lesson(
            number=item["number"],
            slug=item["slug"],
            title=item["title"],
            seed_section=item["seed_section"],
            teaches=item["teaches"],
            data_size=item["data_size"],
            fixture=item.get("fixture", ""),
            ready=item.get("ready", False),
            check_timeout=float(item.get("check_timeout", 30)),
            memory_limit_mb=int(item.get("memory_limit_mb", 2048)),
            copy_limit_mb=int(item.get("copy_limit_mb", 50)),
            hints=tuple(Hint(int(hint["task"]), hint["text"]) for hint in item.get("hints", [])),
            extra_databases=dict(item.get("extra_databases", {})),
        )
        for item in data["lesson"]
    )


def get_lesson(number: str | int) -> Lesson:
    """Look a lesson up by number (`1`, `"01"`) or slug, with a helpful error."""
    key = str(number).strip()
    key = key.zfill(2) if key.isdigit() else key
    for lesson in all_lessons():
        if key in (lesson.number, lesson.slug):
            if not lesson.ready:
                raise SetupError(
                    f"Lesson {lesson.number} ({lesson.title}) is not ready yet.",
                    tip="`uv run course list` shows the lessons you can take now.",
                )
            return lesson
    known = ", ".join(lesson.number for lesson in all_lessons())
    raise SetupError(f"There is no lesson {number!r}.", tip=f"lessons are {known}.")


def template_sources() -> list[tuple[str, Path]]:
    """(key, fixture) of every template a lesson's course can ask for: each lesson, each extra."""
    found: list[tuple[str, Path]] = []
    for lesson in all_lessons():
        if lesson.ready:
            found.append((lesson.number, lesson.fixture_path))
            found.extend((extra.key, extra.fixture_path) for extra in lesson.extras)
    return found
