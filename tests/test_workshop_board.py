"""The class board: the terminal table, and `--serve`'s page in a real browser (Debian's Chromium).

The page must work with no network: no script, no CDN, the chart inline SVG. The browser test runs
on the PostgreSQL service with Chromium installed; it skips with the reason otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from workshop_support import Class, a_class, learner_env, needs_service

from course_db.board import Board, Cell, Row, render_text
from course_db.board_web import chart_svg, render_html
from course_db.paths import ROOT
from course_db.roles import progress_db
from course_db.server import parse_admin_url

BOARD = [sys.executable, "-m", "course_db.cli", "workshop", "board"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sample_board() -> Board:
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    ana = Row("ana", {"01": Cell("passed", None, 3), "02": Cell("failing", 2, 1)}, 4, 2, now)
    bob = Row("bob", {"01": Cell("failing", 1, 1), "02": Cell("not started")}, 1, 0, now)
    return Board("class", ["01", "02"], [ana, bob])


def test_board_text_shows_status_task_and_totals() -> None:
    now = dt.datetime(2026, 12, 5, 12, 5, tzinfo=dt.UTC)
    lines = render_text(sample_board(), now).splitlines()
    assert lines[0].split() == ["learner", "01", "02", "checks", "hints", "last", "activity"]
    assert lines[1].split() == ["ana", "passed", "task", "2", "4", "2", "5", "min", "ago"]
    assert lines[2].split() == ["bob", "task", "1", "-", "1", "0", "5", "min", "ago"]
    assert lines[3].split() == ["passed", "1/2", "0/2"]


def test_board_page_is_offline_and_read_only_html() -> None:
    page = render_html(sample_board(), refresh=5)
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert page.count("http://") == 1 and "https://" not in page  # the SVG namespace only
    assert '<meta http-equiv="refresh" content="5">' in page
    svg = chart_svg(sample_board())
    assert 'class="bar passed" data-lesson="01" data-count="1"' in svg
    assert 'class="bar failing" data-lesson="01" data-count="1"' in svg
    assert 'class="bar not-started" data-lesson="02" data-count="1"' in svg


@pytest.fixture(scope="module")
def klass() -> Iterator[Class]:
    with a_class(["ana", "bob"]) as made:
        yield made


def record(klass: Class, learner: str, lesson: str, status: str, failing: int | None) -> None:
    """Record a check result the way a learner's course does: as their role, by the function."""
    server = parse_admin_url(klass.urls[learner])
    with psycopg.connect(**server.conninfo(progress_db(klass.group)), autocommit=True) as conn:  # type: ignore[arg-type]
        passed = 3 if status == "passed" else 1
        conn.execute("SELECT record_progress(%s, %s, %s, 3, %s)", (lesson, status, passed, failing))


@needs_service
def test_board_command_lists_every_learner(klass: Class) -> None:
    record(klass, "ana", "01", "failed", 2)
    result = subprocess.run(
        [*BOARD, "--workshop", klass.name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=learner_env(klass.server.url()),
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:3]}
    assert rows["ana"][:3] == ["task", "2", "-"] and rows["bob"][:2] == ["-", "-"]


@pytest.fixture
def served(klass: Class) -> Iterator[str]:
    """`course workshop board --serve 0 --refresh 1`, run as the instructor; yields its URL."""
    with subprocess.Popen(  # leaving the `with` closes its pipes and waits for it
        [*BOARD, "--workshop", klass.name, "--serve", "0", "--refresh", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=learner_env(klass.server.url()),
    ) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert "http://127.0.0.1:" in line, line + (proc.stderr.read() if proc.stderr else "")
            yield line.split("at ", 1)[1].split()[0]
        finally:
            proc.terminate()


@needs_service
def test_board_serve_refuses_writes(served: str) -> None:
    request = urllib.request.Request(served, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    caught.value.close()  # the error holds the response and its socket
    assert caught.value.code == 405


@needs_service
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`)",
)
def test_board_serve_page_in_a_browser_refreshes_itself(
    klass: Class, served: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    record(klass, "ana", "02", "passed", None)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(served)
            expect(page.locator("h1")).to_have_text(f"Class board: {klass.name}")
            expect(page.locator("#board tbody tr")).to_have_count(2)
            ana = page.locator('tr[data-learner="ana"] td')
            expect(ana.nth(0)).to_have_text("task 2")
            expect(ana.nth(1)).to_have_text("passed")
            passed_02 = page.locator('#chart rect.passed[data-lesson="02"]')
            expect(passed_02).to_have_attribute("data-count", "1")
            assert page.locator("#chart rect").count() >= 10  # a bar for every lesson
            # Bob passes lesson 02: the page shows it by itself, within a refresh or two.
            record(klass, "bob", "02", "passed", None)
            expect(passed_02).to_have_attribute("data-count", "2", timeout=15_000)
            expect(page.locator('tr[data-learner="bob"] td').nth(1)).to_have_text("passed")
        finally:
            browser.close()
    assert requested and all(url.startswith(served) for url in requested), requested


def test_ci_installs_chromium_when_missing() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install -y chromium" in script
    assert "\nplaywright install" not in script and "uv run playwright" not in script
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
