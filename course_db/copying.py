"""Copy a learner's project for a check: only the project, never more than the limit.

A check grades a copy so that nothing it runs can change the learner's files. The copy is guarded:
a symbolic link that stays inside the project is copied as a link; one that leaves the project,
points nowhere or loops is refused with a message naming it (following it could copy a 3 GB file on
every check, or never end); so are special files such as FIFOs (reading one blocks forever). The
total size is capped, and the copy runs inside the check's time limit.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from course_db.errors import SetupError

KEPT_DOT_FOLDERS = (".github",)  # lesson 07 grades .github/workflows/migrations.yml


def skipped(name: str, is_dir: bool) -> bool:
    """Bytecode, `__pycache__` and dot-files (.venv, .git) stay out, except KEPT_DOT_FOLDERS."""
    if name == "__pycache__" or name.endswith(".pyc"):
        return True
    return name.startswith(".") and not (is_dir and name in KEPT_DOT_FOLDERS)


def copy_project(source: Path, target: Path, limit: int) -> None:
    """Copy the project `source` to `target` (which must not exist), at most `limit` bytes."""
    root = source.resolve()
    total = 0
    target.mkdir(parents=True)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        relative = here.relative_to(root)
        dirs[:] = sorted(name for name in dirs if not skipped(name, is_dir=True))
        for name in list(dirs):
            path = here / name
            if path.is_symlink():
                dirs.remove(name)  # os.walk does not descend into linked folders; copy the link
                _copy_link(root, target, path, target / relative / name)
            else:
                (target / relative / name).mkdir()
        for name in sorted(files):
            if skipped(name, is_dir=False):
                continue
            path = here / name
            if path.is_symlink():
                _copy_link(root, target, path, target / relative / name)
                continue
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise SetupError(
                    f"{_shown(root, path)} in your project is not a regular file "
                    "(a pipe, socket or device); the check cannot copy it.",
                    tip="delete it from the exercise folder, then check again.",
                )
            total += info.st_size
            if total > limit:
                raise SetupError(
                    f"Your project holds more than {limit // 2**20} MB (the course's limit for a "
                    f"check's copy); {_shown(root, path)} is where it went over.",
                    tip="move large files (data, virtual environments) out of the exercise "
                    "folder, then check again.",
                )
            shutil.copy2(path, target / relative / name, follow_symlinks=False)


def _copy_link(root: Path, copy: Path, link: Path, destination: Path) -> None:
    """Re-create `link` at `destination` if it points inside the project; refuse it otherwise.

    The new link is relative and points into the copy, even where the learner's link is absolute:
    a check must never reach the learner's own files through it.
    """
    shown = _shown(root, link)
    try:
        resolved = link.resolve(strict=True)
    except FileNotFoundError:
        raise SetupError(
            f"{shown} in your project is a link to {os.readlink(link)}, which does not exist.",
            tip="delete the link or make it point to a file inside the exercise folder.",
        ) from None
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, later OSError
        raise SetupError(
            f"{shown} in your project is a link that loops back on itself.",
            tip="delete the link, then check again.",
        ) from None
    if not resolved.is_relative_to(root):
        raise SetupError(
            f"{shown} in your project is a link to {resolved}, outside the exercise folder; "
            "a check copies only the project itself.",
            tip="copy the file into the exercise folder instead of linking to it.",
        )
    inside = copy / resolved.relative_to(root)
    destination.symlink_to(os.path.relpath(inside, destination.parent))


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root))
