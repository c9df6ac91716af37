"""`course watch`: the exercise is checked again on every save, until Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import REVISION, ProjectCopy, tree_hash


def wait_for(log: Path, text: str, count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text().count(text) < count:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_watch_checks_again_on_every_save_until_ctrl_c(
    project_copy: ProjectCopy, tmp_path: Path
) -> None:
    starter, solution = project_copy("exercises"), project_copy("solutions")
    log = tmp_path / "watch.log"
    with log.open("w") as out:
        watch = subprocess.Popen(
            [sys.executable, "-m", "course_db.cli", "watch", "01", "--project", str(starter)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(log, "Watching", 1, watch)
        assert "FAIL" in log.read_text()
        # Saved at once: the next check's database is still being prepared (on a busy server a
        # DROP DATABASE waits for a checkpoint), and the save must not be missed meanwhile.
        shutil.copy(solution / REVISION, starter / REVISION)  # the learner saves a solution

        wait_for(log, "Watching", 2, watch)

        answers = log.read_text().split("Watching")
        assert "all 4 checks passed" in answers[1], answers[1]
        before = tree_hash(starter)
        os.killpg(watch.pid, signal.SIGINT)
        assert watch.wait(timeout=20) in (0, 130)
        assert tree_hash(starter) == before
        assert "Traceback" not in log.read_text()
    finally:
        if watch.poll() is None:
            os.killpg(watch.pid, signal.SIGKILL)
