"""The bench's harness: what `bench.py`'s measurements run on, and nothing they measure.

- rows and the table (`Row`, `render`), repetition (`Plan`), timing (`timed`, `sample`,
  `alternate`: a row and its floor measured in turns), and `guarded` sections;
- helpers around the course's library (lesson 01's template, a copy of its solution);
- throwaway embedded servers, process groups, and the clean-up of everything the bench made.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from course_db.lessons import Lesson

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LESSON = "01"
BENCH_PREFIX = f"course_bench_{os.getpid()}"


@dataclass(frozen=True)
class Plan:
    """How many times each measurement is repeated."""

    worker_check: int = 10
    inprocess_check: int = 10
    cli_check: int = 10  # and as many runs of its floor, in turns
    uv_run_check: int = 5
    reset: int = 20  # and as many runs of its floor, in turns
    server_cold: int = 3
    attach: int = 20
    lab: int = 3
    other_lessons: int = 5


FULL = Plan()
QUICK = Plan(3, 3, 3, 2, 5, 1, 5, 2, 2)


class BenchError(Exception):
    """A measured operation did not do its job (a failed check, a non-zero exit): no timing."""


# --------------------------------------------------------------------------------------------
# Rows and the table


@dataclass
class Row:
    """One line of the table. No target and no ratio limit: the row is for information."""

    metric: str
    samples: list[float] = field(default_factory=list)
    target: float | None = None  # the median must be <= this many seconds
    floor: Row | None = None  # the row this one is compared with
    max_ratio: float | None = None  # the median must be <= max_ratio x the floor's median
    is_floor: bool = False
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def ratio(self) -> float | None:
        if self.floor is None or not self.samples or not self.floor.samples:
            return None
        return self.median / self.floor.median

    def verdict(self) -> str:
        """PASS/MISS against every limit the row has; `info` when it has none."""
        if self.target is None and self.max_ratio is None:
            return "info"
        ok = self.target is None or self.median <= self.target
        ratio = self.ratio()
        if self.max_ratio is not None:
            ok = ok and ratio is not None and ratio <= self.max_ratio
        return "PASS" if ok else "MISS"

    def cells(self) -> list[str]:
        if self.error or not self.samples:
            return [self.metric, "-", "-", "-", "0", f"ERROR: {self.error or 'no samples'}", "-"]
        limits = []
        if self.target is not None:
            limits.append(f"<= {seconds(self.target)}")
        if self.max_ratio is not None:
            limits.append(f"<= {self.max_ratio:g}x floor")
        verdict = self.verdict()
        target = f"{' and '.join(limits)}: {verdict}" if limits else verdict
        ratio = self.ratio()
        if self.is_floor:
            relation = "floor"
        elif ratio is not None and self.floor is not None:
            relation = f"{ratio:.2f}x of {seconds(self.floor.median)}"
        else:
            relation = ""
        return [
            self.metric,
            seconds(self.median),
            seconds(min(self.samples)),
            seconds(max(self.samples)),
            str(len(self.samples)),
            target,
            relation,
        ]


def seconds(value: float) -> str:
    """Milliseconds below a second (most rows), seconds above; attach times need 0.01 ms."""
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def render(rows: list[Row]) -> str:
    header = ["metric", "median", "min", "max", "n", "target", "floor/ratio"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def sample(action: Callable[[], object], n: int) -> list[float]:
    return [timed(action) for _ in range(n)]


def alternate(
    n: int, *actions: tuple[Callable[[], object], Callable[[], object] | None]
) -> list[list[float]]:
    """Time each (action, untimed preparation) n times, taking turns.

    A row and its floor measured in turns see the same machine: on a VM whose disk or CPU
    slows down for a while, back-to-back blocks would put the drift into the ratio.
    """
    samples: list[list[float]] = [[] for _ in actions]
    for _ in range(n):
        for (action, before), out in zip(actions, samples, strict=True):
            if before is not None:
                before()
            out.append(timed(action))
    return samples


def guarded(rows: list[Row], metric: str, measure: Callable[[], list[Row]]) -> None:
    """Run one section; a broken section becomes an ERROR row instead of ending the report."""
    try:
        rows.extend(measure())
    except Exception as exc:  # BenchError, SetupError, a psycopg error...
        rows.append(Row(metric, error=f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]))


# --------------------------------------------------------------------------------------------
# Helpers around the course's library


def lesson() -> Lesson:
    from course_db.lessons import get_lesson

    return get_lesson(LESSON)


def require_pass(report: Any) -> None:
    if not report.passed:
        raise BenchError(f"check {LESSON} did not pass on the solution: {report.as_text()}")


def run_ok(argv: list[str], **kwargs: Any) -> None:
    """Run a command to completion; a non-zero exit means the timing is meaningless."""
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {' / '.join(tail)}")


def build_template() -> str:
    """Lesson 01's template under the bench prefix (built once, outside every timing)."""
    from course_db import databases
    from course_db.server import get_server

    return databases.ensure_template(get_server(), LESSON, lesson().fixture_path)


def fresh_database(role: str) -> str:
    """Clone lesson 01's template into a bench database (the course's own clone); its URL."""
    from course_db import databases
    from course_db.server import get_server

    server = get_server()
    template = databases.ensure_template(server, LESSON, lesson().fixture_path)
    return databases.clone(server, template, databases.db_name(LESSON, role))


def copy_solution(scratch: Path) -> Path:
    """A private copy of the solution project, so nothing is ever written into solutions/."""
    target = Path(tempfile.mkdtemp(prefix="project-", dir=scratch)) / "project"
    shutil.copytree(
        lesson().solution_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    )
    return target


def describe_environment() -> str:
    """PostgreSQL version, Python version and which server: never a password."""
    import psycopg

    from course_db.server import get_server

    server = get_server()
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        version = conn.execute("SHOW server_version").fetchone()[0]
        try:
            data_directory = Path(conn.execute("SHOW data_directory").fetchone()[0])
        except psycopg.errors.InsufficientPrivilege:  # not a superuser: skip the note
            data_directory = None
    if server.kind == "embedded":
        where = "embedded server (.course/pgdata, unix socket)"
    else:
        where = f"COURSE_DATABASE_URL ({server.user}@{server.host}:{server.port or 5432})"
    local = server.kind == "embedded" or server.host in ("127.0.0.1", "localhost", "::1")
    note = filesystem_note(data_directory) if local and data_directory else ""
    return (
        f"Environment: PostgreSQL {version} via {where}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"bench database prefix {BENCH_PREFIX}{note}"
    )


def filesystem_note(path: Path) -> str:
    """Flag a data directory on ext4 mounted without a journal (Linux only; else "").

    There ext4 skips inodes freed in the last 60-300 s when it creates a file, so each CREATE
    DATABASE (about 300 files) slows down while checks and resets keep creating and dropping
    databases: a property of the machine that the clone rows below then carry.
    """
    try:
        device = os.stat(path).st_dev
        block = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}").resolve().name
        journal = Path(f"/sys/fs/ext4/{block}/journal_task").read_text().strip()
    except OSError:
        return ""
    if journal != "<none>":
        return ""
    return (
        "; NOTE: its data directory is on ext4 without a journal (slow file creation under churn)"
    )


# --------------------------------------------------------------------------------------------
# Throwaway embedded servers, never the project's own


@contextlib.contextmanager
def embedded_at(state: Path) -> Iterator[None]:
    """Point course_db.server at another `.course` folder.

    server.py takes its folder from module functions (`pgdata_dir`, `state_dir`) and has no
    parameter for it, so the bench swaps them for the duration. Refuses the project's own folder.
    """
    from course_db import server
    from course_db.paths import STATE

    if state.resolve() == STATE.resolve():
        raise BenchError("refusing to point the bench at the project's own .course folder")
    saved = server.pgdata_dir, server.state_dir
    server.pgdata_dir = lambda: state / "pgdata"
    server.state_dir = lambda *parts: state.joinpath(*parts)
    try:
        yield
    finally:
        server.pgdata_dir, server.state_dir = saved


def stop_throwaway(state: Path) -> None:
    """Stop the server in `state` the way `course db stop` would, then kill any leftover."""
    from course_db import server
    from course_db.errors import SetupError

    with embedded_at(state), contextlib.suppress(SetupError):
        server.stop_embedded()
    pgdata = str(state / "pgdata")
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if pgdata in cmdline and "postgres" in Path(cmdline[0]).name:
                os.kill(int(proc.name), signal.SIGKILL)


@contextlib.contextmanager
def throwaway_state(scratch: Path) -> Iterator[Path]:
    """A new, empty `.course`-like folder that the `pgserver` user can traverse (as root)."""
    scratch.chmod(0o755)
    state = Path(tempfile.mkdtemp(prefix="srv-", dir=scratch))
    state.chmod(0o755)
    try:
        yield state
    finally:
        stop_throwaway(state)
        shutil.rmtree(state, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Process groups (a `course lab` and everything it starts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process_group(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Start `argv` in its own process group, and always end the whole group."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        end_group(proc)


def end_group(proc: subprocess.Popen) -> None:
    """SIGTERM lets Jupyter remove its runtime files; SIGKILL whatever is left after 10 s."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(proc.pid):
            proc.poll()
            time.sleep(0.05)
        if not group_alive(proc.pid):
            break
    proc.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Timing calls inside the library (--breakdown)


def timing(func: Callable[..., Any], label: str, sink: Path) -> Callable[..., Any]:
    @functools.wraps(func)
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            with open(sink, "a") as out:  # one short O_APPEND write: safe across the fork
                out.write(json.dumps([label, time.perf_counter() - started]) + "\n")

    return timed_call


# --------------------------------------------------------------------------------------------
# Cleanup of the bench's databases


def progress_database_exists() -> bool:
    from course_db import databases, progress
    from course_db.server import get_server

    with databases.admin(get_server()) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (progress.PROGRESS_DB,))
        return row.fetchone() is not None


def wait_for_detached_tidies(timeout: float = 30.0) -> None:
    """Let the clean-up helpers that `course check` leaves behind finish.

    `course check` hands its clean-up to a detached `python -m course_db.runner` process, which
    drops the used database and clones the next spare. Left running, they would load the disk
    during the reset rows and could re-create a database after the final clean-up. So the bench
    waits for its own helpers (found by the bench prefix in their environment; Linux only,
    elsewhere it does not wait).
    """
    deadline = time.monotonic() + timeout
    while detached_tidies() and time.monotonic() < deadline:
        time.sleep(0.1)


def detached_tidies() -> list[int]:
    ours = f"COURSE_DB_PREFIX={BENCH_PREFIX}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if b"course_db.runner" in (proc / "cmdline").read_bytes() and ours in (
                (proc / "environ").read_bytes().split(b"\0")
            ):
                found.append(int(proc.name))
    return found


def drop_bench_databases(progress_existed: bool) -> None:
    """Drop every database of the bench prefix, its progress rows, and a progress db it made."""
    import psycopg
    from psycopg import sql

    from course_db import databases, progress
    from course_db.server import get_server

    wait_for_detached_tidies()  # else one could clone a spare after the drops below
    server = get_server()
    for name in databases.course_databases(server):
        databases.drop_database(server, name)
    raw = sql.Identifier(databases.db_name(LESSON, "bench_raw"))
    with databases.admin(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(raw))
    with (
        contextlib.suppress(psycopg.OperationalError),
        psycopg.connect(
            **server.conninfo(progress.PROGRESS_DB),
            autocommit=True,  # type: ignore[arg-type]
        ) as conn,
    ):
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            conn.execute("DELETE FROM progress WHERE prefix = %s", (BENCH_PREFIX,))
        others = 0
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            others = conn.execute("SELECT count(*) FROM progress").fetchone()[0]
    if not progress_existed and not others:
        with databases.admin(server) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {progress.PROGRESS_DB} WITH (FORCE)")


# --------------------------------------------------------------------------------------------
# Signals


def interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: ignore further signals so the cleanup below can finish."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
