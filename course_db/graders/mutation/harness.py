"""Grade a learner's migration tests by mutation: they must pass on good histories, fail on broken.

Used by lesson 06 (the learner's `tests/` against the course's histories) and lesson 10 (the
learner's tests against broken variants of their own chain). Public API (stable):

- `History(name, project, should_pass)`: one complete project folder (alembic.ini, migrations/,
  app/); every history of a run has the same paths and revision ids, so tests cannot tell them
  apart by name. `name` is what the learner reads ("a downgrade that leaves a table behind").
- `run_tests_against(tests_dir, histories, server, template, timeout, parallel=None, lesson="06")
  -> list[HistoryRun]`: runs pytest on `tests_dir` once per history, all in parallel (at most
  `parallel` at once; default: all), each in its own process, each with a wall-clock `timeout`.
  `server` is the `Server` whose databases are used; `template` the database every test's fresh
  database is cloned from (empty or seeded); `lesson` names the databases (`databases.db_name`).
- `HistoryRun(history, passed, summary, timed_out)`: `summary` is pytest's short output, trimmed
  and free of temporary paths and timings.
- `good_result(task, runs, name=...)`: one result for the good histories (showing the failing
  test's short output); `broken_result(task, runs, name=...)`: one for the broken ones (listing
  those the tests missed); a grader may split the broken histories over several tasks.
- `run_pytest(project, server, template, args=(), timeout=60, lesson="06", plain_env=None)
  -> HistoryRun`: the same run for one folder, for a notebook cell (`!pytest` would use the
  kernel's environment); with `plain_env`, without the course's fixtures (the seed's way).

How a run is set up: the history is copied with the tests into a temporary folder; pytest runs
there with a course-owned configuration (`-c` a course ini, `--rootdir` the copy,
`-p no:cacheprovider`, plugin autoloading off, `PYTHONDONTWRITEBYTECODE=1`), so the learner's
folder is never written to, and with the course's fixture plugin (`plugin.py`): every test
gets a fresh database, `DATABASE_URL` pointing at it, and pytest-alembic's `alembic_config` and
`alembic_engine` fixtures. Where `fork` exists the runs are forked from this (warm) process, which
has imported pytest and pytest-alembic once, and stay in its process group, so a check killed at
its own limit takes them along; elsewhere each is a fresh interpreter. Every database a run
created is dropped at the end, also after a timeout or a crash; those of a run whose process was
killed are dropped by the next run (`drop_stale_runs`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from course_db import databases
from course_db.alembic_runner import child_env
from course_db.graders.mutation.output import clean_output
from course_db.graders.mutation.plugin import drop_run_databases, drop_stale_runs
from course_db.isolation import forget_project_imports, scratch_dir
from course_db.processes import kill_group, print_to, start_forked
from course_db.report import Result
from course_db.server import Server

PLUGIN = "course_db.graders.mutation.plugin"
COURSE_INI = """\
# The course's pytest configuration for the learner's migration tests (not the learner's own).
[pytest]
python_files = test_*.py *_test.py
python_functions = test_*
pythonpath = {project}
"""


@dataclass(frozen=True)
class History:
    name: str  # shown to the learner, e.g. "a downgrade that leaves a table behind"
    project: Path  # a complete project folder (alembic.ini, migrations/, app/) of this history
    should_pass: bool  # True for the good history and the equivalent reformatted one


@dataclass(frozen=True)
class HistoryRun:
    history: History
    passed: bool  # did the learner's tests pass on it
    summary: str  # pytest's short result lines, trimmed and free of temp paths
    timed_out: bool


def pytest_args(
    ini: Path, rootdir: Path, extra: Sequence[str] = (), plugin: bool = True
) -> list[str]:
    """The course's pytest command line: its own ini and plugin, no cache, short output."""
    return [
        "-c",
        str(ini),
        "--rootdir",
        str(rootdir),
        "-p",
        "no:cacheprovider",
        "-p",
        "pytest_alembic.plugin",
        *(["-p", PLUGIN] if plugin else []),
        "-q",
        "--no-header",
        "--tb=short",
        "-rfE",
        "--force-short-summary",
        "--color=no",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",  # the plugins are imported before the fork
        *extra,
    ]


def run_tests_against(
    tests_dir: Path,
    histories: list[History],
    server: Server,
    template: str,
    timeout: float,
    parallel: int | None = None,
    lesson: str = "06",
) -> list[HistoryRun]:
    """Run the tests in `tests_dir` on every history, in parallel; see the module docstring."""
    preload()
    drop_stale_runs(server, lesson)
    stem = databases.db_name(lesson, f"m{os.getpid()}")
    with scratch_dir("tests") as tmp:
        runs: list[_Run] = []
        for index, history in enumerate(histories):
            folder = Path(tmp) / f"h{index}"
            project = folder / "project"
            _copy(history.project, project)
            if (project / "tests").exists():
                shutil.rmtree(project / "tests")
            _copy(tests_dir, project / "tests")
            # a broken history needs one failing test: stop there (-x), half the work on average
            extra = ["tests"] if history.should_pass else ["-x", "tests"]
            runs.append(_Run(history, project, f"{stem}x{index}", timeout, extra))
        try:
            _run_all(runs, server, template, parallel or len(runs))
        finally:
            drop_run_databases(server, stem + "x")
        return [run.result() for run in runs]


def run_pytest(
    project: Path,
    server: Server,
    template: str,
    args: Sequence[str] = (),
    timeout: float = 60.0,
    lesson: str = "06",
    plain_env: dict[str, str] | None = None,
) -> HistoryRun:
    """Run the course's pytest on one project (its own `tests/`), for a notebook cell.

    Always a fresh interpreter, never a fork of the caller (a notebook kernel must not fork).
    With `plain_env` (which must hold `DATABASE_URL`), the course's fixture plugin is left out and
    the tests see exactly that environment: how the seed runs its tests, for the walkthrough.
    """
    history = History(project.name, project, should_pass=True)
    stem = databases.db_name(lesson, f"p{os.getpid()}")
    with scratch_dir("tests") as tmp:
        copy = Path(tmp) / "project"
        _copy(project, copy)
        # never forked: a notebook kernel must not fork itself (its event loop and threads)
        run = _Run(history, copy, stem + "x0", timeout, list(args), fork=False)
        run.plain_env = plain_env
        try:
            _run_all([run], server, template, 1)
        finally:
            drop_run_databases(server, stem + "x")
        return run.result()


def good_result(
    task: int, runs: list[HistoryRun], name: str = "Your tests pass on the good migration histories"
) -> Result:
    """Passed when the tests pass on every history that should pass; else pytest's short output."""
    failing = [run for run in runs if run.history.should_pass and not run.passed]
    if not failing:
        return Result(task, name, True)
    first = failing[0]
    names = " and ".join(run.history.name for run in failing)
    why = (
        "They did not finish in time: look for an endless loop, or a wait on a lock."
        if first.timed_out
        else "pytest said:"
    )
    message = (
        f"Your tests fail on {names}, whose migrations work: a test must pass there. {why}\n"
        f"{first.summary}"
    )
    return Result(task, name, False, message)


def broken_result(
    task: int,
    runs: list[HistoryRun],
    name: str = "Your tests fail on every broken migration history",
) -> Result:
    """Passed when the tests fail on every broken history; else the list of those they missed."""
    broken = [run for run in runs if not run.history.should_pass]
    missed = [run for run in broken if run.passed]
    if not missed:
        return Result(task, name, True)
    lines = "\n".join(f"  - {run.history.name}" for run in missed)
    message = (
        f"Your tests passed on {len(missed)} of {len(broken)} broken histories, so they would let "
        f"these bugs through:\n{lines}\nAdd a test that fails on each (the broken histories have "
        "the same file names and revision ids as the good one: only what the migrations do "
        "differs)."
    )
    return Result(task, name, False, message)


def preload() -> None:
    """Import pytest, pytest-alembic and the plugin once, before forking the runs."""
    import pytest  # noqa: F401
    import pytest_alembic.plugin  # noqa: F401

    import course_db.graders.mutation.plugin  # noqa: F401


def _copy(source: Path, target: Path) -> None:
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    )


class _Run:
    """One pytest process on one history copy."""

    def __init__(
        self,
        history: History,
        project: Path,
        stem: str,
        timeout: float,
        extra: Sequence[str] = ("tests",),
        fork: bool = True,
    ) -> None:
        self.history, self.project, self.stem, self.timeout = history, project, stem, timeout
        self.extra = list(extra) or ["tests"]
        self.fork = fork and hasattr(os, "fork")
        self.log = project.parent / "pytest.log"
        self.ini = project.parent / "course-pytest.ini"
        self.ini.write_text(COURSE_INI.format(project=project), encoding="utf-8")
        self.pid = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.code: int | None = None
        self.plain_env: dict[str, str] | None = None  # run_pytest's seed-style runs
        self.timed_out = False

    def env(self, server: Server, template: str) -> dict[str, str]:
        """The run's environment; its output must not depend on the caller's terminal or CI.

        pytest trims the short summary to the terminal's width, except where `CI` is set: with
        `--force-short-summary` (in `pytest_args`) and a fixed width, every machine prints the
        same lines, so a notebook's recorded output matches on a laptop and in CI.
        """
        common = {
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONPATH": str(self.project),
            "COLUMNS": "80",
        }
        if self.plain_env is not None:
            env = child_env(self.plain_env["DATABASE_URL"], {**self.plain_env, **common})
        else:
            env = child_env(
                "postgresql+psycopg://",  # each test gets its own (the plugin sets it per test)
                {
                    "COURSE_TEST_SERVER": json.dumps(asdict(server)),
                    "COURSE_TEST_TEMPLATE": template,
                    "COURSE_TEST_DB_STEM": self.stem,
                    **common,
                },
            )
        env.pop("PYTEST_ADDOPTS", None)  # the course's command line only
        return env

    def start(self, server: Server, template: str) -> None:
        env = self.env(server, template)
        args = pytest_args(self.ini, self.project, self.extra, plugin=self.plain_env is None)
        self.started = time.monotonic()
        if self.fork:
            self.pid = _fork_pytest(self.project, args, env, self.log)
        else:
            with self.log.open("wb") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "pytest", *args],
                    cwd=self.project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a timeout kills what the tests started, too
                )
            self.pid = self.proc.pid

    def poll(self) -> bool:
        """True once the run has ended (or was stopped at its time limit)."""
        if self.code is not None:
            return True
        if self.proc is not None:
            code = self.proc.poll()
        else:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            code = None if done == 0 else os.waitstatus_to_exitcode(status)
        if code is None and time.monotonic() - self.started > self.timeout:
            self.kill()
            self.timed_out = True
            code = -int(signal.SIGKILL)
        if code is not None:
            self.code = code
        return self.code is not None

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc.pid)
            self.proc.wait()
        else:
            kill_group(self.pid)
            os.waitpid(self.pid, 0)

    def result(self) -> HistoryRun:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        summary = clean_output(text, self.project)
        if self.timed_out:
            summary = (
                f"(stopped after {self.timeout:.0f} s, the course's limit for one run)\n{summary}"
            )
        passed = self.code == 0 and not self.timed_out
        return HistoryRun(self.history, passed, summary, self.timed_out)


def _run_all(runs: list[_Run], server: Server, template: str, parallel: int) -> None:
    waiting, running = list(runs), list[_Run]()
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                run = waiting.pop(0)
                run.start(server, template)
                running.append(run)
            running = [run for run in running if not run.poll()]
            time.sleep(0.02)
    finally:
        for run in running:
            run.kill()


def _fork_pytest(project: Path, args: list[str], env: dict[str, str], log: Path) -> int:
    """Fork a child that runs `pytest.main(args)` in `project`; return its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid:
        os.close(fd)
        return pid
    code = 3
    try:  # the child: never returns
        start_forked(env)
        # No setsid: the run stays in the check's process group, so the check's own time limit
        # (isolation.py kills the group) ends it too.
        # Rebinds sys.stdout too: the caller's may not write to fd 1 (pytest's capture replaces it).
        print_to(fd, fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.chdir(project)
        forget_project_imports()  # the grader may have imported another copy's `app`
        sys.path.insert(0, str(project))
        import pytest

        code = int(pytest.main(args))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
