"""Draw a project's revision graph as Mermaid, with its heads and the database's current revision.

JupyterLab renders a ```mermaid block in Markdown output (no network needed), and the Markdown
stays plain text in the saved notebook, so the graph is stable and readable on GitHub too.
The text depends only on the revision files and the database: nodes sorted by revision id, edges
sorted by (parent, child), so the same history always draws the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from course_db.inspection import connect, table_exists


def mermaid(project: Path | str, current: Iterable[str] = ()) -> str:
    """`flowchart BT` text: an arrow from each revision to its parent (`down_revision`).

    Heads are marked `(head)`, merge points `(merge)`, and each revision in `current` (the
    database's `alembic_version`) is highlighted and marked `◀ database`.
    """
    revisions, heads = _history(project)
    at = set(current)
    ids = {revision.revision: f"r{number}" for number, revision in enumerate(revisions, 1)}
    lines = ["flowchart BT"]
    for revision in revisions:
        lines.append(f'    {ids[revision.revision]}["{_label(revision, heads, at)}"]')
    edges = sorted(
        (parent, revision.revision)
        for revision in revisions
        for parent in _parents(revision.down_revision)
    )
    lines += [f"    {ids[child]} --> {ids[parent]}" for parent, child in edges if parent in ids]
    if at & set(ids):
        lines.append("    classDef atdb fill:#fde68a,stroke:#b45309")
        lines.append("    class " + ",".join(ids[rev] for rev in sorted(at & set(ids))) + " atdb")
    return "\n".join(lines)


def text(project: Path | str, current: Iterable[str] = ()) -> str:
    """The same graph for a terminal: one line per revision, with what it revises."""
    revisions, heads = _history(project)
    if not revisions:
        return "No revisions yet: `alembic revision -m ...` writes the first one."
    at = set(current)
    width = max(len(_label(revision, heads, at)) for revision in revisions)
    return "\n".join(
        f"{_label(revision, heads, at):<{width}}  revises "
        + (", ".join(_parents(revision.down_revision)) or "nothing (the first revision)")
        for revision in reversed(revisions)
    )


def _history(project: Path | str) -> tuple[list[Script], set[str]]:
    """The project's revisions sorted by id, and its heads."""
    config = Config(str(Path(project) / "alembic.ini"))
    kept = list(sys.path)
    try:
        script = ScriptDirectory.from_config(config)
        revisions = sorted(script.walk_revisions(), key=lambda revision: revision.revision)
        return revisions, set(script.get_heads())
    finally:
        # `from_config` prepends `prepend_sys_path` (`.`) on every call: the kernel or worker
        # drawing the graph would keep importing from whatever folder is current later on.
        sys.path[:] = kept


def _label(revision: Script, heads: set[str], at: set[str]) -> str:
    marks = [
        mark
        for mark, on in (("head", revision.revision in heads), ("merge", revision.is_merge_point))
        if on
    ]
    label = str(revision.revision) + "".join(f" ({mark})" for mark in marks)
    return label + (" ◀ database" if revision.revision in at else "")


def database_revisions(database_url: str) -> list[str]:
    """What `alembic_version` holds (several rows while the database sits on several branches)."""
    with connect(database_url) as conn:
        if not table_exists(conn, "alembic_version"):
            return []
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def show_graph(exercise: bool = False) -> None:
    """In a lesson notebook: draw the scratch project's graph (or the exercise's), marking where
    its database is."""
    from IPython.display import Markdown, display

    from course_db.notebook import current_session

    session = current_session()
    project, url = session.exercise_target() if exercise else session.demo_target()
    drawn = mermaid(project, database_revisions(url))
    display(Markdown(f"```mermaid\n{drawn}\n```"))


def _parents(down_revision: str | Iterable[str] | None) -> tuple[str, ...]:
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)
