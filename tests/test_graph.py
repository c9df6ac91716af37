"""`course graph NN`: the exercise's revision graph in the terminal (or as Mermaid text)."""

from __future__ import annotations

import pytest

from course_db.cli import main


def test_course_graph_draws_the_exercises_heads_and_what_each_revision_revises(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_SOURCE", "exercises")  # the starter, whatever the run grades
    assert main(["graph", "09"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "0003_order_status",
        "0002_user_phone",
        "0002_add_orders",
        "0001_create_users",
    ]
    assert sum("(head)" in line for line in lines) == 2  # lesson 09's exercise: two heads
    assert lines[1].endswith("revises 0001_create_users")
    assert lines[-1].endswith("revises nothing (the first revision)")


def test_course_graph_mermaid_is_the_notebooks_drawing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "01", "--mermaid"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "flowchart BT",
        '    r1["0001_author_slugs (head)"]',
    ]
