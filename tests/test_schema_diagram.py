"""The schema picture of `check()`: read from the check's own database, before and after the
learner's migrations, and drawn as a Mermaid ER diagram that names only what changed."""

from __future__ import annotations

import re
from pathlib import Path

from course_db import schema_diagram
from course_db.lessons import get_lesson
from course_db.runner import run_check

USERS = [["id", "integer", True, True, 1], ["name", "text", False, False, 2]]


def drawn(before: dict, after: dict) -> list[str]:
    return [line.strip() for line in schema_diagram.mermaid(before, after).splitlines()]


def test_added_changed_renamed_and_dropped_are_each_marked() -> None:
    before = {
        "tables": {"users": USERS, "old_log": [["id", "integer", True, True, 1]]},
        "foreign_keys": [],
    }
    after = {
        "tables": {
            "users": [
                ["id", "bigint", True, True, 1],
                ["full_name", "text", True, False, 2],
                ["email", "character varying(255)", False, False, 3],
            ],
            "posts": [["id", "integer", True, True, 1], ["user_id", "integer", True, False, 2]],
        },
        "foreign_keys": [["posts", "user_id", "users"]],
    }
    lines = drawn(before, after)
    assert 'bigint id PK "was integer"' in lines
    assert 'text full_name "renamed from name"' in lines  # same attnum: a rename, not drop + add
    assert 'varchar(255) email "added"' in lines
    assert "class users changed" in lines and "class posts added" in lines
    assert "class old_log dropped" in lines and 'integer id PK "dropped"' in lines
    assert 'users ||--o{ posts : "user_id"' in lines


def test_a_column_dropped_and_another_added_is_not_called_a_rename() -> None:
    after = {"tables": {"users": [USERS[0], ["nick", "text", False, False, 3]]}}
    lines = drawn({"tables": {"users": USERS}}, after)
    assert 'text nick "added"' in lines and 'text name "dropped"' in lines


def test_names_from_the_learners_database_cannot_break_out_of_the_diagram() -> None:
    hostile = 'x" } ; click users call alert(1) %%{init}%% "'
    after = {"tables": {hostile: [[hostile, 'text"}{', False, False, 1]]}}
    word = r"[A-Za-z_][\w(),.\[\]]*"
    shapes = [rf"{word} \{{", r"\}", rf"{word} {word}( PK)?", rf"class {word} added"]
    for line in drawn({"tables": {}}, after)[4:]:  # after the classDef lines
        assert any(re.fullmatch(shape, line) for shape in shapes), line


def test_many_tables_are_cut_to_what_a_notebook_can_show() -> None:
    after = {"tables": {f"t{n:03}": USERS for n in range(100)}}
    lines = drawn({"tables": {}}, after)
    assert sum(line.endswith("{") for line in lines) == schema_diagram.MAX_TABLES


def test_nothing_is_drawn_when_nothing_changed_or_no_upgrade_reached_the_head() -> None:
    schema = {"tables": {"users": USERS}}
    assert schema_diagram.markdown(schema, schema) == ""
    assert schema_diagram.markdown(schema, None) == ""


def test_a_check_draws_what_the_learners_migrations_did(warm: None, tmp_path: Path) -> None:
    """Lesson 03's solution renames a column, adds an enum column and a boolean (real check)."""
    report = run_check("03", project=get_lesson("03").solution_dir)
    assert report.passed, report.as_text()
    assert report.picture.startswith("**What your migrations did to the schema**")
    assert "```mermaid\nerDiagram" in report.picture
    lines = [line.strip() for line in report.picture.splitlines()]
    assert 'text display_name "renamed from fullname"' in lines
    assert "class profiles changed" in lines and "alembic_version" not in report.picture
