"""A learner's server on JupyterHub: runs as the learner, never as root.

The hub starts this instead of `jupyterhub-singleuser`. At the first login it copies the course
from the hub's read-only snapshot into the learner's home (their own `exercises/`, their own
`.course/`), then starts the single-user JupyterLab on that copy with the same settings as
`course lab`, importing the course's code from the copy.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from course_db.lab import lab_environment
from course_db.paths import HUB_COPY_NAME as COPY_NAME


def own_copy(snapshot: Path, home: Path) -> Path:
    """The learner's copy of the course, made once; a half-made copy (a crash) is made again."""
    copy = home / COPY_NAME
    if not copy.exists():
        partial = home / f".{COPY_NAME}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(snapshot, partial, symlinks=True)
        partial.rename(copy)
    return copy


def main() -> None:
    copy = own_copy(Path(os.environ["COURSE_HUB_SNAPSHOT"]), Path.home())
    env = lab_environment(copy)
    env["PYTHONPATH"] = str(copy)
    os.chdir(copy)
    os.execvpe("jupyterhub-singleuser", ["jupyterhub-singleuser", *sys.argv[1:]], env)


if __name__ == "__main__":
    main()
