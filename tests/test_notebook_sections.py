"""Long notebooks open with a list of their sections; every link lands on a heading.

JupyterLab gives a rendered heading the id of its text with spaces turned into dashes
(`createHeaderId`), backticks gone; a link whose anchor no heading has does nothing when clicked.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from course_db.lessons import Lesson, all_lessons

LONG = 80  # cells: a notebook this long lists its sections at the top


def markdown_cells(notebook: dict) -> list[str]:
    cells = notebook["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


@pytest.mark.parametrize("lesson", all_lessons(), ids=lambda lesson: lesson.number)
def test_a_long_notebook_lists_its_sections_and_each_link_lands(lesson: Lesson) -> None:
    notebook = json.loads(lesson.notebook.read_text(encoding="utf-8"))
    cells = markdown_cells(notebook)
    headings = [
        line[3:].replace("`", "")
        for text in cells
        for line in text.splitlines()
        if re.match(r"## \d+\. ", line)
    ]
    anchors = re.findall(r"\]\(#([^()\s]+(?:\([^)]*\)[^()\s]*)*)\)", cells[0])
    if len(notebook["cells"]) < LONG:
        assert not anchors or len(anchors) == len(headings)
        return
    assert [urllib.parse.unquote(anchor) for anchor in anchors] == [
        heading.replace(" ", "-") for heading in headings
    ]
