"""Lesson 07's grader: the container entrypoint (task 1), the PR workflow (task 2) and the
migration lock in env.py (task 3).

Runs in the isolated child, with the learner's project copied to `root` and `databases.url` a
fresh copy of the lesson's (empty) template. The entrypoint runs for real, with bash, in four
scenarios at once, each against its own `Gate` (a port in front of the real server, see
`proxy.py`):

  late     the gate opens after LATE s: the script must wait, migrate, then exec the command (its
           PID is the script's). Meanwhile the course holds the migration lock, as another replica
           would: with task 3 done, the upgrade waits for it (task 3), then reaches head.
  never    the gate never opens: exit non-zero within DB_WAIT_TIMEOUT (+ grace), naming the server.
  broken   a copy of the project with a failing revision on top, in a schema of its own: exit
           non-zero, the command never starts. (Its upgrade may be the one that waits for the
           lock first: any upgrade that waits for it shows that env.py takes it.)
  unset    DB_HOST is not set: fail at once, naming it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from course_db.alembic_runner import child_env
from course_db.graders.lesson07.proxy import Gate, gates
from course_db.graders.lesson07.script import (
    APP_ARGS,
    NOT_WRITTEN,
    NOT_WRITTEN_OTHERS,
    SCRIPT,
    Reaper,
    ScriptRun,
    is_placeholder,
    script_env,
    start,
    why_it_went_on,
)
from course_db.graders.lesson07.workflow import ROWS as WORKFLOW_ROWS
from course_db.graders.lesson07.workflow import grade_workflow
from course_db.graders.tasklist import every_task
from course_db.inspection import scalar
from course_db.isolation import scratch_dir
from course_db.lesson_databases import Databases
from course_db.processes import kill_group
from course_db.report import Result
from course_db.server import Server, get_server

LOCK_KEY = 7007  # the README's key
LATE = 0.6  # the late server opens after this long
LATE_LIMIT = 12.0
NEVER_WAIT = 2  # DB_WAIT_TIMEOUT in the scenario where the server never comes up
GRACE = 3.0  # one pg_isready and one sleep more than DB_WAIT_TIMEOUT
UNSET_LIMIT = 3.0
BROKEN_LIMIT = 10.0
BROKEN_REVISION = "0099_broken"
BROKEN_SCHEMA = "broken_deploy"  # the broken scenario migrates here, beside the late one
MARKER = "broken-revision-ran"
LATE_NAME = "waits for a server that comes up late, migrates, then `exec`s the command"
NEVER_NAME = "gives up with a clear message when the server never comes up"
BROKEN_NAME = "stops when a migration fails: non-zero exit, the command never starts"
UNSET_NAME = "fails at once, naming it, when DB_HOST is not set"
LOCK_NAME = f"`alembic upgrade head` waits while another replica holds lock {LOCK_KEY}"
TASKS = [
    *((1, name) for name in (LATE_NAME, NEVER_NAME, BROKEN_NAME, UNSET_NAME)),
    *((2, name) for name in WORKFLOW_ROWS),
    (3, LOCK_NAME),
]
BROKEN_SOURCE = '''"""A revision that fails, added by the course's check.

Revision ID: {rev}
Revises: {down}
"""
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    open({marker!r}, "w").close()  # proof that `alembic upgrade head` got here, printed or not
    op.execute("ALTER TABLE no_such_table ADD COLUMN x integer")


def downgrade() -> None:
    pass
'''


def grade(root: Path, databases: Databases) -> list[Result]:
    server = get_server()
    dbname = make_url(databases.url).database or ""
    workflow: list[Result] = []
    reader = threading.Thread(target=lambda: workflow.extend(grade_workflow(root)))
    reader.start()
    script = root / SCRIPT
    text = script.read_text(encoding="utf-8", errors="replace") if script.is_file() else ""
    why = ""
    if not script.is_file():
        message = f"There is no {SCRIPT}: create it (README, task 1)."
        results = [Result(1, LATE_NAME, False, message)]
        results.append(lock_result(root, server, dbname, None))
    elif is_placeholder(text):  # say it once; timing or output of a placeholder means nothing
        results = [Result(1, LATE_NAME, False, NOT_WRITTEN)]
        results.append(lock_result(root, server, dbname, None))
        why = NOT_WRITTEN_OTHERS
    else:
        results = run_scenarios(root, server, dbname, text)
    reader.join()
    return every_task(TASKS, [*results, *workflow], why)


def run_scenarios(root: Path, server: Server, dbname: str, text: str) -> list[Result]:
    with psycopg.connect(**server.conninfo(dbname), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {BROKEN_SCHEMA}")  # a second database costs seconds to drop
    with scratch_dir("07") as tmp, gates(server, 3) as gate:
        work = Path(tmp)
        broken_root = broken_copy(root, work)
        found: dict[str, Result] = {}
        lock: list[str | None] = [None]
        jobs: dict[str, Callable[[], Result]] = {
            "late": lambda: late(root, server, dbname, gate[0], work, lock, reaper),
            "never": lambda: never(root, server, dbname, gate[1], work, reaper),
            "broken": lambda: broken(broken_root, server, dbname, gate[2], work, reaper, text),
            "unset": lambda: unset(root, server, dbname, work, reaper),
        }
        threads = [
            threading.Thread(target=lambda k=key, f=job: found.__setitem__(k, f()))
            for key, job in jobs.items()
        ]
        reaper = Reaper()
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            reaper.close()
    results = [found[key] for key in jobs]
    results.append(lock_result(root, server, dbname, lock[0]))
    return results


def broken_copy(root: Path, work: Path) -> Path:
    """The project with one more revision on top of its head, which fails."""
    copy = work / "broken"
    shutil.copytree(root, copy)
    down = heads_of(copy) or "0002_create_orders"
    source = BROKEN_SOURCE.format(rev=BROKEN_REVISION, down=down, marker=str(work / MARKER))
    (copy / "migrations" / "versions" / f"{BROKEN_REVISION}.py").write_text(source)
    return copy


# The scenarios -------------------------------------------------------------------------------
def late(
    root: Path,
    server: Server,
    dbname: str,
    gate: Gate,
    work: Path,
    lock: list[str | None],
    reaper: Reaper,
) -> Result:
    name = LATE_NAME
    holder = psycopg.connect(**server.conninfo(dbname), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        run = start(root, script_env(server, gate.port, dbname, 30), work, "late", reaper)
        early = run.proc.poll() is not None or _sleep_unless_done(run, LATE)
        gate.open()
        lock[0] = "early" if early else watch_lock(holder, run, LATE_LIMIT)
    finally:
        holder.close()  # releases the lock
    run.wait(LATE_LIMIT)
    head = version(server, dbname)
    if early:
        return fail(
            1,
            name,
            f"Your script ended (exit {run.returncode}) before the database "
            f"came up ({LATE} s after the start): wait in a loop until `pg_isready` "
            "succeeds." + run.output(),
        )
    if run.returncode is None:
        return fail(
            1,
            name,
            f"Your script was still running {LATE_LIMIT:.0f} s after the start, "
            f"although the database came up after {LATE} s." + run.output(),
        )
    command = run.command
    if run.returncode != 0 and command is None and head and head == heads_of(root):
        return fail(
            1,
            name,
            f"Your script migrated, then the command it was given did not run as given (exit "
            f'{run.returncode}): pass it on unchanged with `exec "$@"`, quoted, so an argument '
            "that holds spaces stays one argument." + run.output(),
        )
    if run.returncode != 0:
        return fail(
            1,
            name,
            f"Once the database was up, your script exited with {run.returncode}." + run.output(),
        )
    if command is None:
        return fail(
            1,
            name,
            "Your script exited 0, but the command it was given never ran: end "
            'it with `exec "$@"`.' + run.output(),
        )
    pid, args = command
    if args != APP_ARGS:
        return fail(
            1,
            name,
            f"The command got the arguments {args} instead of {APP_ARGS}: pass "
            'them on unchanged with a quoted `"$@"` (unquoted, `--workers 2` splits).',
        )
    if pid != run.proc.pid:
        return fail(
            1,
            name,
            "The command ran as a child of your script, not in its place: use "
            '`exec "$@"`, so the app gets the container\'s PID and its SIGTERM.',
        )
    if head != heads_of(root):
        return fail(
            1,
            name,
            f"The command ran, but the database is at {head or 'no revision'}, "
            "not head: run `alembic upgrade head` before exec." + run.output(),
        )
    return Result(1, name, True)


def never(
    root: Path, server: Server, dbname: str, gate: Gate, work: Path, reaper: Reaper
) -> Result:
    name = NEVER_NAME
    run = start(
        root, script_env(server, gate.port, dbname, NEVER_WAIT), work, "never", reaper
    ).wait(NEVER_WAIT + GRACE)
    if run.returncode is None:
        return fail(
            1,
            name,
            f"With DB_WAIT_TIMEOUT={NEVER_WAIT}, your script was still waiting "
            f"after {NEVER_WAIT + GRACE:.0f} s (the course stopped it): count the time and "
            "exit 1 once DB_WAIT_TIMEOUT seconds have passed." + run.output(),
        )
    if run.command is not None:
        return fail(1, name, "The database never came up, yet your script started the command.")
    if run.returncode == 0:
        return fail(1, name, "The database never came up, yet your script exited 0: exit 1.")
    if run.seconds < NEVER_WAIT / 4:  # lax: bash SECONDS counts whole seconds of the clock
        return fail(
            1,
            name,
            f"Your script gave up after {run.seconds:.1f} s, although "
            f"DB_WAIT_TIMEOUT={NEVER_WAIT}: keep trying until that many seconds have "
            "passed." + run.output(),
        )
    text = run.text()
    if "127.0.0.1" not in text or str(gate.port) not in text:
        return fail(
            1,
            name,
            "Your script gave up, but its output does not say which server it "
            "waited for: print DB_HOST:DB_PORT and the timeout (e.g. `PostgreSQL at "
            "$DB_HOST:$DB_PORT is not ready after $timeout s`)." + run.output(),
        )
    return Result(1, name, True)


def broken(
    root: Path, server: Server, dbname: str, gate: Gate, work: Path, reaper: Reaper, text: str
) -> Result:
    name = BROKEN_NAME
    gate.open()
    env = script_env(server, gate.port, dbname, 30, BROKEN_SCHEMA)
    run = start(root, env, work, "broken", reaper).wait(BROKEN_LIMIT)
    added = f"migrations/versions/{BROKEN_REVISION}.py"
    if run.returncode is None:
        return fail(
            1,
            name,
            f"With a failing revision ({added}, added by the check), your script "
            f"was still running after {BROKEN_LIMIT:.0f} s." + run.output(),
        )
    # The added revision leaves a file when it runs: its output may go to a log, not the screen.
    ran_alembic = (work / MARKER).is_file() or "no_such_table" in run.text()
    if run.command is not None and ran_alembic:
        return fail(
            1,
            name,
            f"`alembic upgrade head` failed (the check added {added}, which fails), yet your "
            f"script started the app. {why_it_went_on(text)}" + run.output(),
        )
    if run.command is not None:
        return fail(
            1,
            name,
            "Your script started the app without running `alembic upgrade head` (the check "
            f"added {added}, which fails, and its error does not appear)." + run.output(),
        )
    if run.returncode == 0:
        return fail(
            1,
            name,
            f"`alembic upgrade head` failed (the check added {added}), yet your script exited "
            "0: let the failure end it with a non-zero status.",
        )
    if not ran_alembic:
        return fail(
            1,
            name,
            f"Your script exited {run.returncode} before `alembic upgrade head` reached {added} "
            "(the check added it on top of your revisions; it fails, and it never ran)."
            + run.output(),
        )
    return Result(1, name, True)


def unset(root: Path, server: Server, dbname: str, work: Path, reaper: Reaper) -> Result:
    name = UNSET_NAME
    env = script_env(server, 1, dbname, 30)
    del env["DB_HOST"]
    run = start(root, env, work, "unset", reaper).wait(UNSET_LIMIT)
    if run.returncode is None:
        return fail(
            1,
            name,
            f"Without DB_HOST your script was still running after "
            f'{UNSET_LIMIT:.0f} s. `: "${{DB_HOST:?DB_HOST is not set}}"` stops it at once '
            "with a message." + run.output(),
        )
    if run.returncode == 0 or run.command is not None:
        return fail(1, name, "Without DB_HOST your script went on to start the command.")
    if "DB_HOST" not in run.text():
        return fail(
            1,
            name,
            "Without DB_HOST your script failed, but its output does not name "
            "DB_HOST." + run.output(),
        )
    return Result(1, name, True)


# Task 3 ----------------------------------------------------------------------------------------
def watch_lock(
    holder: psycopg.Connection, run: ScriptRun | subprocess.Popen[bytes], limit: float
) -> str:
    """While the course holds the lock: did the upgrade wait for it, or go ahead without it?"""
    proc = run.proc if isinstance(run, ScriptRun) else run
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if scalar(
            holder,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ):
            return "waited"
        if scalar(holder, "SELECT to_regclass('alembic_version') IS NOT NULL"):
            return "ignored"
        time.sleep(0.05)
    if scalar(holder, "SELECT to_regclass('alembic_version') IS NOT NULL"):
        return "ignored"
    return "ended"


def lock_result(root: Path, server: Server, dbname: str, seen: str | None) -> Result:
    """Task 3, from the late scenario; if the script never reached alembic, run alembic alone."""
    name = LOCK_NAME
    if seen not in ("waited", "ignored") and version(server, dbname) is None:
        seen = lock_alone(root, server, dbname)
    if seen == "waited":
        return Result(3, name, True)
    if seen == "ignored":
        return fail(
            3,
            name,
            f"The check held `pg_advisory_lock({LOCK_KEY})`, as a replica that "
            "is migrating does, and your upgrade went ahead anyway: in migrations/env.py, "
            f"take the same lock (`SELECT pg_advisory_xact_lock({LOCK_KEY})`) inside "
            "`context.begin_transaction()`, before `context.run_migrations()`.",
        )
    return fail(
        3,
        name,
        "`alembic upgrade head` failed, so the check could not see whether it "
        "waits for the lock: run `uv run course alembic 07 -- upgrade head` and fix what "
        "it reports.",
    )


def lock_alone(root: Path, server: Server, dbname: str) -> str:
    holder = psycopg.connect(**server.conninfo(dbname), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        proc = subprocess.Popen(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=root,
            env=child_env(server.url(dbname)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        seen = watch_lock(holder, proc, LATE_LIMIT)
    finally:
        holder.close()
    try:
        proc.wait(LATE_LIMIT)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.wait()
    return seen


# Helpers -------------------------------------------------------------------------------------
def _sleep_unless_done(run: ScriptRun, seconds: float) -> bool:
    """Sleep `seconds`; True if the script ended meanwhile."""
    try:
        run.proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    run.returncode = run.proc.returncode
    return True


def version(server: Server, dbname: str) -> str | None:
    with psycopg.connect(**server.conninfo(dbname), autocommit=True) as conn:
        if not scalar(conn, "SELECT to_regclass('alembic_version') IS NOT NULL"):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def heads_of(root: Path) -> str:
    """The project's one head, or "" (several heads, or a project Alembic cannot read)."""
    try:
        heads = ScriptDirectory.from_config(Config(str(root / "alembic.ini"))).get_heads()
    except Exception:  # a broken alembic.ini or revision: the scenarios report it
        return ""
    return heads[0] if len(heads) == 1 else ""


def fail(task: int, name: str, message: str) -> Result:
    return Result(task, name, False, message)
