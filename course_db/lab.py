"""JupyterLab as the course opens it: settings, environment and the first notebook.

Two paths start a learner's JupyterLab: `course lab` on a laptop, and the learner's server on
JupyterHub (`hub_learner.py`). Both take the same environment from here, so a classroom sees the
course exactly as a learner at home does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# The course's own JupyterLab settings: no news pop-up (it asks every new learner about Jupyter
# news; the course has nothing to do with it), and Markdown files (the exercises' READMEs) open
# rendered, as a learner reads them, not as source in the editor.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"defaultViewers": {"markdown": "Markdown Preview"}},
}


def lab_environment(root: Path) -> dict[str, str]:
    """The variables JupyterLab and its kernels get for the course at `root`.

    Settings and workspaces live in the course's `.course/`; the lesson database's `DATABASE_URL`
    is never inherited (each lesson sets its own); JupySQL's telemetry stays off.
    """
    settings = root / ".course" / "jupyter" / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        if not path.exists():  # a learner's own change to a setting stays
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values) + "\n")
    workspaces = root / ".course" / "jupyter" / "workspaces"
    workspaces.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.setdefault("PLOOMBER_STATS_ENABLED", "false")
    env.setdefault("PLOOMBER_VERSION_CHECK_DISABLED", "1")
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def first_notebook() -> Path:
    """Lesson 01's notebook, relative to the course's folder: where a learner starts."""
    from course_db.lessons import all_lessons
    from course_db.paths import ROOT

    return all_lessons()[0].notebook.relative_to(ROOT)
