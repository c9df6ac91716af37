"""Benchmark the course's hot paths and print one Markdown table.

Run from the repo root: `uv run python bench/bench.py` (or `--quick` for fewer repetitions).
It is a report, not a test: it always exits 0 (130 on Ctrl-C) and marks each row PASS/MISS
against its target. See bench/README.md for what each row means. The measurements are here;
the harness they run on (rows, timing, throwaway servers, clean-up) is `harness.py`.

Everything the bench creates is its own and is removed at the end, even on Ctrl-C:
- databases: all named with a bench-only prefix (`COURSE_DB_PREFIX=course_bench_<pid>`), so a run
  never resets the learner's exercise database nor records progress for the learner's prefix;
- temp folders (project copies, throwaway embedded servers, JupyterLab runtime files);
- processes (the grading worker, `course lab` process groups, throwaway PostgreSQL servers).
The project's own embedded server in .course/pgdata is attached to, never stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from harness import (
    BENCH_PREFIX,
    BIN,
    FULL,
    LESSON,
    QUICK,
    ROOT,
    BenchError,
    Plan,
    Row,
    alternate,
    build_template,
    copy_solution,
    describe_environment,
    drop_bench_databases,
    embedded_at,
    free_port,
    fresh_database,
    guarded,
    interrupt,
    lesson,
    process_group,
    progress_database_exists,
    render,
    require_pass,
    run_ok,
    sample,
    seconds,
    stop_throwaway,
    throwaway_state,
    timed,
    timing,
    wait_for_detached_tidies,
)

if TYPE_CHECKING:
    pass

LAB_TOKEN = "bench"
LESSON_TARGETS = {
    "02": 0.5,
    "03": 0.5,
    "04": 0.5,
    "05": 5.0,
    "06": 10.0,
    "07": 3.0,
    "08": 3.0,
    "09": 3.0,
    "10": 3.0,
}  # seconds, from the issues
LEARNER_PAUSE = 2.0  # seconds between two checks: a learner reads the result and edits a file
LAB_DEADLINE = 120.0  # seconds before a `course lab` start counts as failed


# --------------------------------------------------------------------------------------------
# (a) check("01") in a warm process


def measure_warm_check(plan: Plan) -> list[Row]:
    """What a notebook's check() costs once its worker is warm, and the CLI's in-process path."""
    from course_db.worker import WorkerClient

    client = WorkerClient()
    try:
        first = timed(lambda: require_pass(client.check(LESSON)))
        paced = []
        for _ in range(plan.worker_check):
            time.sleep(LEARNER_PAUSE)  # the worker readies the next database meanwhile
            paced.append(timed(lambda: require_pass(client.check(LESSON))))
        worker = sample(lambda: require_pass(client.check(LESSON)), plan.worker_check)
    finally:
        client.close()
    return [
        Row(
            f'check("01") via warm worker, {LEARNER_PAUSE:.0f} s apart (notebook path)',
            paced,
            target=0.3,
        ),
        Row("  the same, back to back (each waits for the previous clean-up)", worker),
        Row('  first check("01") of a new worker (incl. its start)', [first]),
        Row('run_check("01") in-process after preload() (CLI path)', measure_inprocess(plan)),
    ]


def measure_other_lessons(plan: Plan) -> list[Row]:
    """check("NN") of every other ready lesson, through one warm worker, at a learner's pace."""
    from course_db.lessons import all_lessons
    from course_db.worker import WorkerClient

    rows = []
    client = WorkerClient()
    try:
        for info in all_lessons():
            if not info.ready or info.number == LESSON:
                continue
            require_pass(client.check(info.number))  # builds the template and a spare
            paced = []
            for _ in range(plan.other_lessons):
                time.sleep(LEARNER_PAUSE)
                paced.append(timed(lambda n=info.number: require_pass(client.check(n))))
            target = LESSON_TARGETS.get(info.number)
            rows.append(
                Row(
                    f'check("{info.number}") via warm worker, {LEARNER_PAUSE:.0f} s apart',
                    paced,
                    target=target,
                )
            )
    finally:
        client.close()
    return rows


def measure_inprocess(plan: Plan) -> list[float]:
    """`course check` minus the interpreter: preload, then run_check forks a child per check."""
    from course_db.isolation import preload
    from course_db.runner import run_check

    preload()
    require_pass(run_check(LESSON))  # warm-up
    return sample(lambda: require_pass(run_check(LESSON)), plan.inprocess_check)


# --------------------------------------------------------------------------------------------
# (b) `course check 01` from a cold shell, against a bare `alembic upgrade head`


def measure_cold_check(plan: Plan, scratch: Path) -> list[Row]:
    """`course check 01` as a new process, in turns with its floor: one cold `alembic upgrade`."""
    project = copy_solution(scratch)
    env = {**os.environ, "DATABASE_URL": ""}
    floor_argv = [str(BIN / "alembic"), "upgrade", "head"]
    cli_argv = [str(BIN / "course"), "check", LESSON]

    def fresh() -> None:
        env["DATABASE_URL"] = fresh_database("bench_floor")

    floor_samples, cli_samples = alternate(
        plan.cli_check,
        (lambda: run_ok(floor_argv, cwd=project, env=env), fresh),
        (lambda: run_ok(cli_argv, cwd=ROOT), None),
    )
    floor = Row("floor: bare `alembic upgrade head` CLI (fresh db)", floor_samples, is_floor=True)
    cold = Row(
        "`course check 01`, cold shell (.venv/bin/course)",
        cli_samples,
        target=1.0,
        floor=floor,
        max_ratio=1.5,
    )
    return [cold, measure_uv_run(plan, floor), floor]


def measure_uv_run(plan: Plan, floor: Row) -> Row:
    """What the README tells learners to type: the same check behind `uv run`."""
    metric = "`uv run course check 01`"
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        return Row(metric, error="uv is not on PATH")
    argv = [uv, "run", "course", "check", LESSON]
    return Row(metric, sample(lambda: run_ok(argv, cwd=ROOT), plan.uv_run_check), floor=floor)


# --------------------------------------------------------------------------------------------
# (b2) a notebook's `%alembic upgrade head`: forked warm, against a fresh `python -m alembic`


def measure_alembic_command(plan: Plan, scratch: Path) -> list[Row]:
    """`run_alembic(warm=True)` (what `%alembic` runs) in turns with a fresh interpreter's."""
    from course_db.alembic_runner import run_alembic
    from course_db.forkserver import warm_up

    project = copy_solution(scratch)
    url = {"now": ""}

    def fresh() -> None:
        url["now"] = fresh_database("bench_alembic")

    def upgrade(warm: bool) -> None:
        result = run_alembic(project, ["upgrade", "head"], url["now"], warm=warm)
        if not result.ok:
            raise BenchError(f"alembic upgrade head failed:\n{result.output[-2000:]}")

    warm_up()
    fresh()
    upgrade(warm=True)  # untimed: the forkserver's imports, as `lesson()` does them
    cold_samples, warm_samples = alternate(
        plan.cli_check,
        (lambda: upgrade(warm=False), fresh),
        (lambda: upgrade(warm=True), fresh),
    )
    floor = Row("floor: `python -m alembic upgrade head` (fresh db)", cold_samples, is_floor=True)
    warm = Row("`%alembic upgrade head`, forked warm (fresh db)", warm_samples, floor=floor)
    return [warm, floor]


# --------------------------------------------------------------------------------------------
# (c) `course reset 01` (the database part), against a bare DROP + CREATE ... TEMPLATE


def reset_exercise_database() -> None:
    """What cmd_reset does for the database, without its print (under the bench prefix).

    A learner resets now and then, so a spare is ready (cmd_reset prepares the next one in the
    background); the bench prepares it untimed, then times the reset.
    """
    from course_db import databases
    from course_db.server import get_server

    info = lesson()
    databases.reset(get_server(), info.number, info.fixture_path, "exercise")


def prepare_spare() -> None:
    """What `course reset` leaves behind in the background for the next reset (untimed)."""
    from course_db import databases
    from course_db.server import get_server

    databases.prepare_spare(get_server(), LESSON, lesson().fixture_path)


def measure_reset(plan: Plan) -> list[Row]:
    """The reset, in turns with its floor.

    The floor is the two statements a reset cannot avoid, sent on a connection that is already
    open, to a bench-only database that carries no course marker (so it is dropped right here).
    """
    import psycopg
    from psycopg import sql

    from course_db import databases
    from course_db.server import get_server

    wait_for_detached_tidies()  # the cold checks' helpers would still be cloning during the rows
    server = get_server()
    template = databases.ensure_template(server, LESSON, lesson().fixture_path)
    target = sql.Identifier(databases.db_name(LESSON, "bench_raw"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(target)
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(target, sql.Identifier(template))
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]

        def bare() -> None:
            conn.execute(drop)
            conn.execute(create)

        try:
            bare()  # warm-up, as is the next line
            reset_exercise_database()
            floor_samples, reset_samples = alternate(
                plan.reset, (bare, None), (reset_exercise_database, prepare_spare)
            )
        finally:
            conn.execute(drop)
    floor = Row(
        "floor: DROP ... WITH (FORCE) + CREATE ... TEMPLATE, open connection",
        floor_samples,
        is_floor=True,
    )
    reset = Row(
        "`course reset 01` database (a spare renamed into place)",
        reset_samples,
        target=0.1,
        floor=floor,
    )
    return [reset, floor]


# --------------------------------------------------------------------------------------------
# (d) the embedded server: cold start, restart, attach; always in throwaway folders


def embedded_child(state: Path) -> None:
    """The subprocess side of a timed start: embedded_server() on `state`; prints its own time."""
    from course_db import server

    with embedded_at(state):
        seconds_in_call = timed(server.embedded_server)
    print(json.dumps({"in_call": seconds_in_call}))


def start_in_subprocess(state: Path) -> tuple[float, float]:
    """(end to end, inside embedded_server()) for one start of the server in `state`."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--embedded-child", str(state)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    end_to_end = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"starting a server in {state} failed: {done.stderr.strip()[-300:]}")
    return end_to_end, json.loads(done.stdout.strip().splitlines()[-1])["in_call"]


def measure_embedded(plan: Plan, scratch: Path) -> list[Row]:
    """Cold start, restart and attach, each repetition in a new folder.

    Cold is initdb + start; restart follows a stop done the way `course db stop` does it; the
    last repetition also times attaching to its running server.
    """
    cold: list[float] = []
    cold_call: list[float] = []
    restart: list[float] = []
    restart_call: list[float] = []
    attach: list[float] = []
    for repetition in range(plan.server_cold):
        with throwaway_state(scratch) as state:
            end_to_end, in_call = start_in_subprocess(state)
            cold.append(end_to_end)
            cold_call.append(in_call)
            stop_throwaway(state)
            end_to_end, in_call = start_in_subprocess(state)
            restart.append(end_to_end)
            restart_call.append(in_call)
            if repetition == plan.server_cold - 1:
                attach = measure_attach(plan, state)
    return [
        Row("embedded cold start, new pgdata (subprocess end to end)", cold, target=2.0),
        Row("  of which inside embedded_server()", cold_call),
        Row("embedded restart of a stopped server (subprocess end to end)", restart),
        Row("  of which inside embedded_server()", restart_call),
        Row("embedded attach to a running server (in-process)", attach),
    ]


def measure_attach(plan: Plan, state: Path) -> list[float]:
    from course_db import server

    with embedded_at(state):
        server.embedded_server()  # warm-up
        return sample(server.embedded_server, plan.attach)


# --------------------------------------------------------------------------------------------
# (e) `course lab` until JupyterLab answers


def lab_once(scratch: Path, index: int) -> float:
    """Seconds from `course lab` to the first 200 of /api/status.

    cli.py passes its extra arguments to `jupyter lab` verbatim, including a leading `--`, after
    which Jupyter reads `--ServerApp.port=...` as a file to open and exits; without `--`, argparse
    rejects them. So the port and token go in through Jupyter's own environment variables.
    """
    port = free_port()
    runtime = scratch / "jupyter-runtime"
    env = {
        **os.environ,
        "JUPYTER_PORT": str(port),
        "JUPYTER_PORT_RETRIES": "0",
        "JUPYTER_TOKEN": LAB_TOKEN,
        "JUPYTER_RUNTIME_DIR": str(runtime),
    }
    url = f"http://127.0.0.1:{port}/api/status?token={LAB_TOKEN}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    log = scratch / f"lab-{index}.log"
    started = time.perf_counter()
    with process_group([str(BIN / "course"), "lab", "--no-browser"], log, env) as proc:
        while time.perf_counter() - started < LAB_DEADLINE:
            if answers(opener, url):
                return time.perf_counter() - started
            if proc.poll() is not None:
                tail = " / ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
                raise BenchError(f"course lab exited {proc.returncode}: {tail}")
            time.sleep(0.05)
    raise BenchError(f"JupyterLab did not answer within {LAB_DEADLINE:.0f} s")


def answers(opener: urllib.request.OpenerDirector, url: str) -> bool:
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False


def measure_lab(plan: Plan, scratch: Path) -> list[Row]:
    samples = [lab_once(scratch, index) for index in range(plan.lab)]
    return [
        Row("`course lab` until /api/status 200, first start", samples[:1]),
        Row("`course lab` until /api/status 200, warm", samples[1:], target=5.0),
    ]


# --------------------------------------------------------------------------------------------
# --breakdown: where a warm check's time goes

# (module, attribute, label). Patching a module attribute reaches the forked grader too, since
# the child is a fork of this process; every timed call appends one JSON line to a shared file.
PHASES = [
    ("course_db.runner", "get_server", "get_server()"),
    ("course_db.databases", "prune", "prune(): leftovers of dead checks"),
    ("course_db.runner", "prune_scratch_dirs", "prune_scratch_dirs()"),
    ("course_db.databases", "ensure_template", "ensure_template()"),
    ("course_db.databases", "clone", "clone() the check database"),
    ("course_db.runner", "run_isolated", "run_isolated(): guardian + grader, until answered"),
    ("course_db.runner", "copy_project", "  in grader: copy_project()"),
    ("course_db.graders.lesson01", "connect", "  in child: psycopg connect()"),
    ("course_db.graders.lesson01", "alembic", "  in child: alembic steps (up, down, up)"),
    ("course_db.databases", "drop_database", "  in guardian: drop_database(), after answering"),
    ("course_db.runner", "settle", "settle(): wait for the guardian's clean-up"),
    ("course_db.progress", "record", "progress.record()"),
]


def breakdown(plan: Plan, scratch: Path) -> str:
    """Per-phase mean time of a warm in-process run_check, as a second Markdown table."""
    import importlib

    from course_db.isolation import preload
    from course_db.runner import run_check

    preload()
    require_pass(run_check(LESSON))  # warm-up, untimed
    sink = scratch / "phases.jsonl"
    with contextlib.ExitStack() as patches:
        for module_name, attribute, label in PHASES:
            module = importlib.import_module(module_name)
            wrapped = timing(getattr(module, attribute), label, sink)
            patches.enter_context(mock.patch.object(module, attribute, wrapped))
        totals = sample(lambda: require_pass(run_check(LESSON)), plan.inprocess_check)
    spent: dict[str, list[float]] = {label: [] for _, _, label in PHASES}
    for line in sink.read_text().splitlines():
        label, seconds_spent = json.loads(line)
        spent[label].append(seconds_spent)
    n = len(totals)
    lines = [
        f"Where a warm in-process check's time goes (mean per check, n={n}, "
        f"median total {seconds(statistics.median(totals))}):",
        "",
        "| phase | per check | calls per check |",
        "|---|---|---|",
    ]
    for label, values in spent.items():
        lines.append(f"| {label} | {seconds(sum(values) / n)} | {len(values) / n:g} |")
    return "\n".join(lines)


def guarded_breakdown(plan: Plan, scratch: Path) -> str:
    try:
        return breakdown(plan, scratch)
    except Exception as exc:  # the table above still stands
        return f"Breakdown failed: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# Main


def run(plan: Plan, scratch: Path, lessons_only: bool = False) -> list[Row]:
    rows: list[Row] = []
    guarded(rows, 'check("01") via warm worker', lambda: measure_warm_check(plan))
    guarded(rows, "checks of the other lessons", lambda: measure_other_lessons(plan))
    if lessons_only:
        return rows
    guarded(rows, "`course check 01`, cold shell", lambda: measure_cold_check(plan, scratch))
    guarded(rows, "`%alembic upgrade head`", lambda: measure_alembic_command(plan, scratch))
    guarded(rows, "`course reset 01` database", lambda: measure_reset(plan))
    guarded(rows, "embedded server", lambda: measure_embedded(plan, scratch))
    guarded(rows, "`course lab`", lambda: measure_lab(plan, scratch))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the phases of a warm check"
    )
    parser.add_argument(
        "--lessons-only", action="store_true", help="only the check of every ready lesson"
    )
    parser.add_argument("--embedded-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embedded_child:
        embedded_child(args.embedded_child)
        return 0

    os.environ["COURSE_DB_PREFIX"] = BENCH_PREFIX  # never touch the learner's databases
    os.environ["COURSE_SOURCE"] = "solutions"
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    plan = QUICK if args.quick else FULL
    progress_existed = True
    try:
        with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
            try:
                print(describe_environment(), flush=True)
                progress_existed = progress_database_exists()
                build_template()
                rows = run(plan, Path(tmp), args.lessons_only)
                extra = guarded_breakdown(plan, Path(tmp)) if args.breakdown else ""
            finally:
                drop_bench_databases(progress_existed)
    except KeyboardInterrupt:
        print("Interrupted; everything the bench created has been removed.", file=sys.stderr)
        return 130
    print()
    print(render(rows))
    if extra:
        print()
        print(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
