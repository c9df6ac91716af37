"""`course lab`: JupyterLab on the course, opening lesson 01, with the course's own settings."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_db import databases
from course_db.lessons import all_lessons, template_sources
from course_db.server import Server

TOKEN = "course-lab-test"
LAB = (sys.executable, "-m", "course_db.cli", "lab", "--no-browser", "--")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_course_lab_opens_lesson_01_and_renders_markdown(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        lab = subprocess.Popen(
            [*LAB, f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            },
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/api/status")
                break
            except OSError:
                assert lab.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        viewer = get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        assert viewer["settings"]["defaultViewers"]["markdown"] == "Markdown Preview"
        news = get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification")
        assert news["settings"]["fetchNews"] == "false"
        first = all_lessons()[0].notebook.name
        # what the browser is sent to (the printed URL stays `/lab?token=...`, as tools expect)
        (opener,) = (tmp_path / "runtime").glob("jpserver-file-to-run-*-open.html")
        assert f"/lab/tree/notebooks/{first}?token=" in opener.read_text()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)


def test_course_lab_first_builds_the_missing_lesson_databases_saying_how_far_it_is(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under a prefix of its own, every template is missing: one progress line each, in order;
    a second start finds them all and says nothing."""
    monkeypatch.setenv("COURSE_DB_PREFIX", f"{databases.prefix()}_lab")
    sources = template_sources()
    try:
        with caplog.at_level(logging.INFO, logger="course_db"):
            databases.prepare_templates(server)
        lines = [record.getMessage() for record in caplog.records]
        assert len(lines) == len(sources) > 10, lines
        assert lines[0].startswith("[....................] preparing the lessons' databases: 01")
        assert lines[-1].endswith(f"({len(sources)} of {len(sources)}, first start only)")
        assert databases.missing_templates(server, sources) == []
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="course_db"):
            databases.prepare_templates(server)
        assert caplog.records == []
    finally:
        with databases.admin(server) as conn:
            for name in databases.course_databases(server):
                databases.drop(conn, name)
