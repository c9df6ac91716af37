"""The learner's chain of revisions, read the way Alembic reads it.

Lessons whose exercise names its revisions (05, 10) grade each revision on its own, so nothing
else can be checked until the files form exactly the README's chain: the gate says so once, at
task 1, and marks every other task as not run.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from course_db.graders.tasklist import Tasks, every_task
from course_db.inprocess import describe_exception
from course_db.report import Result


def revision_chain(root: Path) -> list[str]:
    """Revision ids from base to head; a branch or a missing file shows up as a different list."""
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def chain_message(chain: list[str], wanted: list[str]) -> str:
    return (
        f"The revisions run in this order: {', '.join(chain) or '(none)'}.\n"
        f"Expected exactly: {', '.join(wanted)}, each `down_revision` naming the one before. "
        "Keep the file names and revision ids of the README."
    )


def not_chained(wanted: list[str]) -> str:
    """Why every task after the first was not run."""
    return f"Not run: the chain of revisions must be right first (task 1's {wanted[0]})."


def chain_gate(root: Path, wanted: list[str], tasks: Tasks) -> list[Result] | None:
    """The whole grade when the revisions are not exactly `wanted`, in order; None when they are.

    Task 1 (named `tasks[0]`) fails with what Alembic read, or with why it could not read it.
    """
    try:
        chain = revision_chain(root)
    except BaseException as exc:  # a revision that does not even import
        message = "Alembic cannot read your revisions:\n" + describe_exception(exc, root)
        return every_task(tasks, [Result(1, tasks[0][1], False, message)])
    if chain != wanted:
        message = chain_message(chain, wanted)
        return every_task(tasks, [Result(1, tasks[0][1], False, message)], not_chained(wanted))
    return None
