"""Notebook 01 as a learner meets it: `course lab`, a real Chromium, Run All, FAIL, a hint, the
solution pasted into the revision in JupyterLab's editor and saved, PASS with the schema's picture,
and on to notebook 02 through the recap's "Next:" link.

Everything runs in a copy of the course (the real `exercises/` is never touched): `course lab`
starts there on a free port, and its kernel and checks import the copy's `course_db`. The copy
shares the checkout's embedded PostgreSQL (its data folder is linked, the test prefix keeps the
databases apart). On failure a screenshot is saved next to the test's temporary files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator

from course_db.lessons import get_lesson
from course_db.paths import ROOT
from course_db.server import Server, pgdata_dir

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TOKEN = "course-browser-test"
LAB = (sys.executable, "-m", "course_db.cli", "lab", "--no-browser", "--")
NOT_COPIED = (".git", ".venv", ".course", "__pycache__", ".pytest_cache", ".ruff_cache")
# The test run's own settings, which a learner's JupyterLab never has (COURSE_SOURCE=solutions
# would grade the solutions and make check() raise; COURSE_DB_PREFIX stays: the test's databases).
NOT_INHERITED = ("COURSE_SOURCE", "DATABASE_URL", "PYTEST_CURRENT_TEST")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def course_copy(target: Path, server: Server) -> Path:
    """A copy of the course to work in; with the embedded server, its data folder linked."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_COPIED))
    if server.kind == "embedded":
        (target / ".course").mkdir()
        (target / ".course" / "pgdata").symlink_to(pgdata_dir())
    return target


def wait_for_lab(base: str, lab: subprocess.Popen, log: Path) -> None:
    headers = {"Authorization": f"token {TOKEN}"}
    request = urllib.request.Request(f"{base}/api/status", headers=headers)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                json.loads(answer.read())
            return
        except OSError:
            assert lab.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)


@pytest.fixture
def lab(tmp_path: Path, server: Server) -> Iterator[tuple[str, Path]]:
    """`course lab` on a copy of the course; yields (its base URL, the copy)."""
    course = course_copy(tmp_path / "course", server)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        PYTHONPATH=str(course),  # the kernel and the checks import the copy's course_db
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
    )
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*LAB, f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}"],
            cwd=course,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_lab(base, process, log)
        yield base, course
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def paste(editor: Locator, text: str) -> None:
    """Paste `text` as a learner's Ctrl+V would: a paste event carrying it (CodeMirror inserts
    pasted text as it is, where typing it would auto-indent every line)."""
    editor.evaluate(
        """(node, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            node.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        text,
    )


def test_notebook_01_runs_all_fails_the_starter_and_passes_once_solved(
    lab: tuple[str, Path], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, course = lab
    lesson = get_lesson("01")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/notebooks/{lesson.notebook.name}?token={TOKEN}")
            # the status bar's kernel button: "Python 3 (ipykernel) | Idle" once it can run cells
            idle = page.get_by_role("button", name=re.compile(r"^Python 3 .*\| Idle$"))
            expect(idle).to_be_visible(timeout=30_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            check = page.locator(".jp-CodeCell").filter(
                has=page.locator(".jp-InputArea-editor", has_text="check()")
            )
            answer = check.locator(".jp-OutputArea-output").first  # the verdict; then the picture
            expect(answer).to_contain_text("FAIL", timeout=60_000)
            expect(idle).to_be_visible(timeout=10_000)
            # JupyterLab shows a traceback, like anything written to stderr, as this mime type
            errors = page.locator(".jp-OutputArea-output[data-mime-type$='stderr']")
            assert errors.count() == 0, errors.all_inner_texts()

            # stuck: hint() in a new cell below gives the hint for the first failing task
            check.locator(".jp-InputPrompt").click()  # selects the cell, in command mode
            page.keyboard.press("b")  # a new cell below
            page.keyboard.press("Enter")  # edit it
            page.keyboard.insert_text("hint()")
            page.keyboard.press("Shift+Enter")
            hinted = page.locator(".jp-CodeCell").filter(
                has=page.locator(".jp-InputArea-editor", has_text="hint()")
            )
            expect(hinted.locator(".jp-OutputArea-output")).to_contain_text(
                re.compile(r"Hint \d of 5, task 2 \(Fill it: one slug per author\)"),
                timeout=20_000,  # which of task 2's hints: the test prefix's record decides
            )

            # the learner solves it in JupyterLab's editor: paste the solution's revision, save
            revision = "migrations/versions/0001_author_slugs.py"
            solved = (course / "solutions" / lesson.slug / revision).read_text()
            page.goto(f"{base}/lab/tree/exercises/{lesson.slug}/{revision}?token={TOKEN}")
            editor = page.locator(".jp-FileEditor .cm-content")
            expect(editor).to_contain_text("def upgrade", timeout=30_000)
            editor.click()
            page.keyboard.press("Control+a")
            paste(editor, solved)
            page.keyboard.press("Control+s")
            written = course / "exercises" / lesson.slug / revision
            deadline = time.monotonic() + 20
            while written.read_text() != solved and time.monotonic() < deadline:
                time.sleep(0.2)
            assert written.read_text() == solved  # saved by JupyterLab, byte for byte

            page.get_by_role("tab", name=re.compile(re.escape(lesson.notebook.name))).click()
            check.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            expect(answer).to_contain_text("checks passed. Well done!", timeout=30_000)
            expect(answer).not_to_contain_text("FAIL")
            # and the picture of what the migration did: JupyterLab draws the ER diagram as an
            # SVG image (a diagram Mermaid cannot parse gets the class jp-mod-warning instead)
            picture = check.locator(".jp-RenderedMermaid:not(.jp-mod-warning) figure img")
            expect(picture).to_be_visible(timeout=20_000)
            svg = urllib.parse.unquote(picture.get_attribute("src") or "")
            assert svg.startswith("data:image/svg+xml,") and "author_slugs" in svg
            # the recap's "Next:" link opens the following lesson in JupyterLab
            following = get_lesson("02").notebook.name
            page.get_by_role("link", name=re.compile(r"^02 · ")).click()
            expect(page.get_by_role("tab", name=re.compile(re.escape(following)))).to_be_visible()
        except Exception:
            screenshot = tmp_path / "notebook01.png"
            page.screenshot(path=str(screenshot))
            print(f"screenshot of the page: {screenshot}")
            raise
        finally:
            browser.close()
