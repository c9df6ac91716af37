"""Lesson 04, every task: a revision never imports the app's models.

The grader cannot see this in the data: today the models match the schema, so a revision that
uses them gives the right rows. It breaks later, when the models change. So the source of each
revision is read (its syntax tree: an import in a comment or a string does not count), and the
data row of its task fails naming the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

from course_db.graders.lesson04.addresses import ADDR_ROWS
from course_db.graders.lesson04.full_name import FN_VALUES
from course_db.graders.lesson04.tables import FULL_NAME
from course_db.report import Result


def frozen_in_time(root: Path, results: list[Result]) -> list[Result]:
    """Fail the data row of each revision that imports the app's models, naming the import."""
    rows = {result.name: result for result in results}
    for path in sorted((root / "migrations" / "versions").glob("*.py")):
        imports = app_imports(path)
        if not imports:
            continue
        row = FN_VALUES if path.stem <= FULL_NAME else ADDR_ROWS
        old = rows.get(row)
        if old is None:  # not reached: an earlier row failed, and says why
            continue
        message = (
            f"migrations/versions/{path.name} imports the app's models ("
            + "; ".join(imports)
            + "). The README says not to: app/models.py describes the schema of today and "
            "changes with the app (a column renamed, a model removed), while this revision must "
            "keep running, on a fresh database, against the schema of its own day. A migration "
            "is frozen in time: write the data step in SQL with op.execute(...) or "
            "op.get_bind().execute(sa.text(...)), or use a table declared inside the revision "
            "(sa.table(...), sa.column(...))."
        )
        if not old.passed and old.message:
            message += "\n" + old.message
        task = 1 if row == FN_VALUES else 2
        rows[row] = Result(task, row, False, message)
    return [rows[result.name] for result in results]


def app_imports(path: Path) -> list[str]:
    """`line 9: from app.models import User` for each import of the app's package in `path`."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):  # Alembic's own error says what is wrong
        return []
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        else:
            continue
        if any(module == "app" or module.startswith("app.") for module in modules):
            found.append(f"line {node.lineno}: `{lines[node.lineno - 1].strip()}`")
    return found
