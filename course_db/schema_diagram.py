"""What the learner's migrations did to the schema, drawn as a Mermaid ER diagram for `check()`.

In the check's grader, `inprocess.alembic` reads the lesson database's tables before its first
Alembic command (`note_before`) and again after the first `upgrade head` that succeeds
(`note_after`); the two readings travel back with the check's answer (`isolation.attach`). The
notebook draws them: every table after the upgrade, plus the tables it dropped, with what was
added (green), changed (a thick frame, each change named on its column) or dropped (red).
JupyterLab renders the ```mermaid block itself, offline.

What is read comes from a database the learner's code ran on, so names are cut to what Mermaid
accepts and the drawing to a size a notebook can show.
"""

from __future__ import annotations

import os
import re
from typing import Any

from course_db.inspection import connect
from course_db.isolation import IN_CHECK, attach, attached

MAX_TABLES = 25
MAX_COLUMNS = 30
IGNORED = ("alembic_version",)
SHORT_TYPES = (  # PostgreSQL's names have spaces, which Mermaid's attribute types may not
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("character varying", "varchar"),
    ("double precision", "float8"),
    ("character", "char"),
)  # Alembic's own bookkeeping, not the learner's schema

# table -> [[column, type, not null, primary key, position], ...]; foreign keys as
# [table, column, target]. A column keeps its position (attnum) when renamed, never when re-added.
Schema = dict[str, Any]

COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p'
               AND a.attnum = ANY (p.conkey)), a.attnum
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""
FOREIGN_KEYS = """
SELECT c.relname, a.attname, t.relname
FROM pg_constraint f
JOIN pg_class c ON c.oid = f.conrelid
JOIN pg_class t ON t.oid = f.confrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.conkey[1]
WHERE f.contype = 'f' AND n.nspname = 'public'
ORDER BY 1, 2
"""


def read(database_url: str) -> Schema:
    """The tables, columns and foreign keys of `public` in the database at `database_url`."""
    tables: dict[str, list[list[Any]]] = {}
    with connect(database_url) as conn:
        for table, *column in conn.execute(COLUMNS):
            if table not in IGNORED:
                tables.setdefault(table, []).append(column)
        foreign = [list(row) for row in conn.execute(FOREIGN_KEYS)]
    return {"tables": tables, "foreign_keys": foreign}


def note_before() -> None:
    """In a check: read the lesson database once, before the first Alembic command runs."""
    _note("schema_before")


def note_after() -> None:
    """In a check: read it again after the first `upgrade head` that succeeded."""
    _note("schema_after")


def _note(key: str) -> None:
    url = os.environ.get("DATABASE_URL")
    if not os.environ.get(IN_CHECK) or not url or key in attached():
        return
    try:
        attach(key, read(url))
    except Exception:  # a picture is a bonus: never let it change the check's verdict
        attach(key, None)


def mermaid(before: Schema, after: Schema) -> str:
    """An `erDiagram`: the tables after, plus those dropped, changes marked and coloured."""
    old, new = before.get("tables", {}), after.get("tables", {})
    lines = [
        "erDiagram",
        "    classDef added fill:#dafbe1,stroke:#1a7f37",
        "    classDef changed stroke:#9a6700,stroke-width:3px",  # a fill would stripe every row
        "    classDef dropped fill:#ffebe9,stroke:#cf222e",
    ]
    names = sorted({*old, *new})[:MAX_TABLES]
    for table in names:
        state, body = _table(old.get(table), new.get(table))
        lines.append(f"    {_name(table)} {{")
        lines.extend(f"        {line}" for line in body)
        lines.append("    }")
        if state:
            lines.append(f"    class {_name(table)} {state}")
    shown = set(names)
    for table, column, target in after.get("foreign_keys", []):
        if table in shown and target in shown:
            lines.append(f'    {_name(target)} ||--o{{ {_name(table)} : "{_name(column)}"')
    return "\n".join(lines)


def _table(old: list[list[Any]] | None, new: list[list[Any]] | None) -> tuple[str, list[str]]:
    """The table's state (added, changed, dropped or '') and its attribute lines."""
    if new is None:
        return "dropped", [_attribute(column, "dropped") for column in (old or [])[:MAX_COLUMNS]]
    if old is None:
        return "added", [_attribute(column, "") for column in new[:MAX_COLUMNS]]
    before = {column[0]: column for column in old}
    after = {column[0]: column for column in new}
    renamed = {column[4]: column for column in old if column[0] not in after}
    body = []
    for column in new[:MAX_COLUMNS]:
        was = before.get(column[0])
        if was is None and column[4] in renamed:
            was = renamed.pop(column[4])
            note = f"renamed from {_name(was[0])}"
        elif was is None:
            note = "added"
        elif was[1] != column[1]:
            note = f"was {was[1]}"
        elif was[2] != column[2]:
            note = "now NOT NULL" if column[2] else "now nullable"
        else:
            note = ""
        body.append(_attribute(column, note))
    body += [_attribute(column, "dropped") for column in renamed.values()]
    changed = any('"' in line for line in body)
    return ("changed" if changed else ""), body


def _attribute(column: list[Any], note: str) -> str:
    name, kind, _not_null, primary, _position = column
    for long, short in SHORT_TYPES:
        kind = str(kind).replace(long, short)
    kind = re.sub(r"[^A-Za-z0-9_(),.\[\]]", "_", kind)
    key = " PK" if primary else ""
    comment = f' "{note}"' if note else ""
    return f"{kind} {_name(name)}{key}{comment}"


def _name(text: Any) -> str:
    """A name Mermaid reads as one word: letters, digits and underscores, starting with a letter."""
    cleaned = re.sub(r"\W", "_", str(text), flags=re.ASCII)[:60] or "_"
    return cleaned if cleaned[0].isalpha() else f"t_{cleaned}"


def markdown(before: Schema | None, after: Schema | None) -> str:
    """The picture under a one-line caption, for the notebook; '' when there is nothing to draw."""
    if not before or not after or before == after:
        return ""  # no upgrade reached the head, or nothing to show (lesson 09 rebuilds the same)
    return (
        "**What your migrations did to the schema** (after `alembic upgrade head`; green: added, "
        "thick frame: changed, red: dropped):\n\n```mermaid\n" + mermaid(before, after) + "\n```"
    )
