"""Python tracebacks as a learner reads them: their own frames and the error, not the libraries'.

Used by `%alembic --short-tb` in notebooks and by graders that show what a learner's script printed.
"""

from __future__ import annotations

import re

from course_db.learner_text import SQLALCHEMY_BACKGROUND

FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line \d+')
HIDDEN = "  ... (frames in Alembic, SQLAlchemy and Python: hidden by the course)"


def shorten_traceback(text: str) -> str:
    """Keep what ran before a traceback, the frames in the project and the final error.

    Each run of library frames (Alembic, SQLAlchemy, importlib) becomes one `...` line, and chained
    tracebacks are dropped: their files and line numbers change with every library release.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line == "Traceback (most recent call last):"]
    if not starts:
        return text
    kept, hidden = [*lines[: starts[0]], lines[starts[-1]]], False
    body = lines[starts[-1] + 1 :]
    i = 0
    while i < len(body) and body[i].startswith("  "):
        end = i + 1
        while end < len(body) and body[end].startswith("    "):
            end += 1
        match = FRAME.match(body[i])
        path = match["path"] if match else ""
        if path and not path.startswith(("/", "<", ".venv")):
            if hidden:
                kept.append(HIDDEN)
                hidden = False
            kept.extend(body[i:end])
        else:
            hidden = True
        i = end
    if hidden:
        kept.append(HIDDEN)
    kept.extend(line for line in body[i:] if not line.startswith(SQLALCHEMY_BACKGROUND))
    return "\n".join(kept) + ("\n" if text.endswith("\n") else "")
