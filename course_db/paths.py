"""Where the course lives on disk: the repo root and its private `.course/` folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".course"


def state_dir(*parts: str) -> Path:
    """Return a folder under `.course/`, created on first use (it is git-ignored)."""
    path = STATE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


# A workshop's JupyterHub keeps its environment, state and learners' homes here (`hub.py`), and
# each learner's copy of the course is this folder in their home (`hub_learner.py`).
DEFAULT_HUB_HOME = "/srv/alembic-course"
HUB_COPY_NAME = "alembic-course"
