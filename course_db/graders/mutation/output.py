"""pytest's output, as the learner reads it: no temp or library paths, no timings, no noise.

Used by the mutation harness (`harness.py`) for every run's summary. Frames in the learner's
project stay; frames in pytest-alembic, Alembic, SQLAlchemy and Python become one line.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from course_db.learner_text import SQLALCHEMY_BACKGROUND, relative_paths

SUMMARY_LINES = 30
PROGRESS = re.compile(r"^[.FEsxX]+\s*(\[\s*\d+%\])?$")
TIMING = re.compile(r" in \d+(\.\d+)?s( \(\d+:\d\d:\d\d\))?")
FRAME = re.compile(r"^(?P<path>\S+|<frozen [\w.]+>):\d+: in \S+$")
RESULT_LINE = re.compile(r"^=+ (?P<counts>\d+ (passed|failed|error).*?) =+$")
HIDDEN = "  ... (frames in pytest-alembic, Alembic, SQLAlchemy: hidden by the course)"


def clean_output(text: str, project: Path) -> str:
    """pytest's output without temp paths, library frames or timings, cut to what matters."""
    text = relative_paths(text, *{str(project.resolve()), str(project)})
    text = text.replace(str(project.parent), "...")
    for prefix in {sys.prefix, sys.base_prefix}:
        text = re.sub(re.escape(prefix) + r"/lib/python[\d.]+/site-packages/", "", text)
        text = text.replace(prefix + os.sep, "")
    text = re.sub(r"/tmp/course-[\w-]+", "...", text)
    text = TIMING.sub("", text)
    mine = tuple(f"{entry.name}/" for entry in project.iterdir()) if project.is_dir() else ()
    lines: list[str] = []
    hiding = False
    for line in text.strip().splitlines():
        line = line.rstrip()
        frame = FRAME.match(line)
        if frame:
            hiding = not frame.group("path").startswith(mine)
            if hiding and lines[-1:] != [HIDDEN]:
                lines.append(HIDDEN)
            if hiding:
                continue
        elif hiding and line.startswith(" "):
            continue
        else:
            hiding = False
        if PROGRESS.match(line) or SQLALCHEMY_BACKGROUND in line:
            continue
        counts = RESULT_LINE.match(line)
        lines.append(counts.group("counts") if counts else line)
    while lines and not lines[0].strip():
        lines.pop(0)
    if len(lines) > SUMMARY_LINES:
        lines = ["...", *lines[-SUMMARY_LINES:]]
    return "\n".join(lines)
