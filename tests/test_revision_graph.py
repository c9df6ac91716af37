"""The revision graph (Mermaid) of a real project: heads, merges and the database's revision."""

from __future__ import annotations

import sys

import pytest

from course_db.lessons import get_lesson
from course_db.revision_graph import mermaid

pytestmark = pytest.mark.server_agnostic
LESSON = get_lesson("09")  # its solution has two branches, a merge and a head after it


def test_revision_graph_marks_heads_merges_and_the_database() -> None:
    path = list(sys.path)
    text = mermaid(LESSON.solution_dir, ["0003_order_status"])
    assert sys.path == path  # Alembic prepended `.`: the graph must not leave it to the kernel
    assert text.splitlines() == [
        "flowchart BT",
        '    r1["0001_create_users"]',
        '    r2["0002_add_orders"]',
        '    r3["0002_user_phone"]',
        '    r4["0003_order_status ◀ database"]',
        '    r5["0004_merge_heads (merge)"]',
        '    r6["0005_add_coupons (head)"]',
        "    r2 --> r1",
        "    r3 --> r1",
        "    r4 --> r2",
        "    r5 --> r3",
        "    r5 --> r4",
        "    r6 --> r5",
        "    classDef atdb fill:#fde68a,stroke:#b45309",
        "    class r4 atdb",
    ]
    starter = mermaid(LESSON.starter_dir).splitlines()
    assert '    r3["0002_user_phone (head)"]' in starter
    assert '    r4["0003_order_status (head)"]' in starter
    assert not any("atdb" in line for line in starter)
