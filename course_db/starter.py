"""Restore an exercise's starter files from git, keeping a backup of the learner's (`course reset
NN --files`)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from course_db.errors import SetupError
from course_db.paths import ROOT, state_dir

if TYPE_CHECKING:
    from course_db.lessons import Lesson


def restore_starter(lesson: Lesson) -> Path:
    """Back the exercise folder up under .course/backups, then check the starter out of git.

    Two resets at once take turns (a lock in .course/), and each keeps its own backup.
    """
    with state_lock("reset"):
        return _restore_starter(lesson)


def _restore_starter(lesson: Lesson) -> Path:
    folder = lesson.starter_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = Path(tempfile.mkdtemp(prefix=f"{lesson.slug}-{stamp}-", dir=state_dir("backups")))
    if folder.exists():
        shutil.copytree(folder, backup, symlinks=True, dirs_exist_ok=True)
    ref = next(
        (
            ref
            for ref in ("origin/HEAD", "origin/main", "HEAD")
            if _git_ok("rev-parse", "--verify", "-q", ref)
        ),
        None,
    )
    if ref is None:
        raise SetupError(
            "This folder is not a git checkout of the course.",
            tip="clone the course with git to restore starter files.",
        )
    relative = str(folder.relative_to(ROOT))
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run(
        ["git", "checkout", ref, "--", relative], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["git", "reset", "-q", "--", relative], cwd=ROOT, capture_output=True)
    return backup.relative_to(ROOT)


@contextlib.contextmanager
def state_lock(name: str) -> Iterator[None]:
    """An exclusive lock between processes of this checkout (`.course/NAME.lock`)."""
    with open(state_dir() / f"{name}.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; the course supports it through WSL
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _git_ok(*args: str) -> bool:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True).returncode == 0
