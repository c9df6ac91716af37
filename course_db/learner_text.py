"""What the course shows a learner of another program's output: their paths, not the machine's.

A check runs the learner's project in a temporary copy, so tracebacks, pytest and Alembic name
files there (`/tmp/course-check-x1/project/migrations/env.py`). A message names them as they are
in the learner's project (`migrations/env.py`), and leaves out SQLAlchemy's link to its error
pages, which says nothing about the learner's code.
"""

from __future__ import annotations

import os
from pathlib import Path

SQLALCHEMY_BACKGROUND = "(Background on this error at"  # the start of SQLAlchemy's link line


def relative_paths(text: str, *folders: str | Path) -> str:
    """Paths in each folder made relative: `<folder>/env.py` -> `env.py`, the folder -> `.`."""
    for folder in folders:
        root = str(folder)
        text = text.replace(root + os.sep, "").replace(root, ".")
    return text
