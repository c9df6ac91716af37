"""Plain helpers for the tests: a folder's fingerprint and exact, loud edits of copied files."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from course_db.lessons import Lesson
from course_db.report import Report, Result

ProjectCopy = Callable[..., Path]  # project("solutions" | "exercises") -> a fresh copy
Grade = Callable[..., Report]  # grade(project, timeout=None) -> the lesson's report
Mutation = Callable[[Path], None]  # edits a copied project in place
GradeMutant = Callable[[Mutation], Report]  # grade_mutant(mutate) -> a learner's failure

REVISION = Path("migrations/versions/0001_author_slugs.py")
MODELS = Path("app/models.py")


def tree_hash(path: Path) -> str:
    """sha256 over every entry's relative path and every file's bytes, in sorted order.

    Directories count too, so an empty `__pycache__/` left behind changes the hash. A symbolic
    link counts by where it points: it is never followed (it may lead out of the folder).
    """
    digest = hashlib.sha256()
    entries = []
    for folder, dirs, files in os.walk(path):
        entries.extend(Path(folder) / name for name in [*dirs, *files])
    for entry in sorted(entries):
        relative = entry.relative_to(path).as_posix()
        if entry.is_symlink():
            digest.update(f"link {relative} {os.readlink(entry)}\0".encode())
        elif entry.is_file():
            digest.update(f"file {relative}\0".encode())
            digest.update(entry.read_bytes())
        elif entry.is_dir():
            digest.update(f"dir {relative}\0".encode())
        else:
            digest.update(f"special {relative}\0".encode())
    return digest.hexdigest()


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`; fail loudly if the solution changed."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"expected exactly one {old!r} in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def replace(path: Path | str, *pairs: str) -> Mutation:
    """replace(path, old, new, old2, new2, ...): `edit` each pair in the project's `path`."""

    def mutate(project: Path) -> None:
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            edit(project / path, old, new)

    return mutate


def append(path: Path | str, text: str) -> Mutation:
    """`text` added at the end of the project's `path` (a syntax error, a second definition)."""

    def mutate(project: Path) -> None:
        target = project / path
        target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")

    return mutate


def write(path: Path | str, text: str) -> Mutation:
    """The project's `path` written anew with `text` (the seed's file, tests that test nothing)."""

    def mutate(project: Path) -> None:
        (project / path).write_text(text, encoding="utf-8")

    return mutate


def delete(path: Path | str) -> Mutation:
    """The project's `path` deleted (a file the learner forgot, or removed)."""

    def mutate(project: Path) -> None:
        (project / path).unlink()

    return mutate


def loop_after(path: Path | str, line: str) -> Mutation:
    """An endless `while True: pass` right after `line` (a `def ...:` line) of `path`."""
    return replace(path, line, line + "    while True:\n        pass\n")


def combine(*mutations: Mutation) -> Mutation:
    """One mutation that applies `mutations` in order."""

    def mutate(project: Path) -> None:
        for mutation in mutations:
            mutation(project)

    return mutate


class Absent(str):
    """A phrase the learner must not read: `assert_says` asserts that it is missing.

    Where advice would mislead (telling a script that has `set -e` to add it), its absence is what
    the grader must get right, so it stands in the same list as the phrases that must be there.
    """

    __slots__ = ()


def failure_text(report: Report) -> str:
    """Every failed result's task, name and message, for asserting on what the learner reads."""
    return "\n".join(f"task {r.task}: {r.name}\n{r.message}" for r in report.failures())


def assert_says(report: Report, phrases: Iterable[str]) -> None:
    """Each phrase stands in what the learner reads of the failures (`failure_text`); an `Absent`
    one does not."""
    text = failure_text(report)
    for phrase in phrases:
        if isinstance(phrase, Absent):
            assert phrase not in text, report.as_text()
        else:
            assert phrase in text, report.as_text()


def result_named(report: Report, starts: str) -> Result:
    """The one result whose name starts with `starts` (a revision id, "squawk"): where several rows
    share a task, its name says which row a test means."""
    (found,) = [item for item in report.results if item.name.startswith(starts)]
    return found


def assert_learner_failure(report: Report) -> None:
    """A failed check the learner can act on: exit 1, no setup error, no traceback, and no path of
    the check's copy in any message, folded or not (`failure_text`)."""
    assert report.status == "failed", report.as_text()
    assert report.exit_code == 1
    assert not report.error and not report.tip
    assert report.failures()
    text = report.as_text()
    assert "Traceback (most recent call last)" not in text
    for shown in (text, failure_text(report)):
        assert "/tmp/" not in shown and "course-check-" not in shown, report.as_text()


def copies(tmp_path: Path, lesson: Lesson) -> ProjectCopy:
    """`copy("solutions")` or `copy("exercises")`: a fresh copy of the lesson's folder each call."""
    counter = itertools.count(1)

    def copy(source: str = "solutions") -> Path:
        folder = {"solutions": lesson.solution_dir, "exercises": lesson.starter_dir}[source]
        target = tmp_path / f"{source}-{next(counter)}" / lesson.slug
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return target

    return copy


def grade_untouched(folder: Path, grade: Grade, timeout: float | None = None) -> Report:
    """Grade `folder`, asserting the check left it exactly as it was (no bytecode either), even
    when it was stopped at `timeout`."""
    before = tree_hash(folder)
    report = grade(folder, timeout=timeout)
    assert tree_hash(folder) == before
    assert not list(folder.rglob("__pycache__"))
    return report
