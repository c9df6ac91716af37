"""Lesson 05's grader: the unsafe rename/NOT NULL/index revision, rewritten as six safe ones.

Runs in the isolated child, with the learner's project copied to `root` (its working
directory) and `databases.url` a fresh copy of the lesson's template (100,000 users).

Each revision is run on its own, the way a deploy runs it, while the release of the app that runs
during that step queries `users` from threads (v1, v2: see `app.py`), and while a long
read keeps a transaction open on `users`. A revision that needs ACCESS EXCLUSIVE must give up
within GIVE_UP_WITHIN seconds (its own lock_timeout: the course never sets one), so the app's
queries are never stuck behind it; the check then lets the long read end and runs it again. The
other revisions must finish while the long read is still there. While 0003 builds its index, a
slow request also holds a write transaction open for SLOW_WRITE seconds: the app's writes must
keep flowing. Afterwards each version must read back what the other wrote, and squawk must find
nothing in the SQL of the six revisions.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from course_db.graders.kit.revisions import chain_gate
from course_db.graders.kit.squawk import LINT_NAME, lint_result, offline_sql, run_squawk
from course_db.graders.kit.workload import Op, error_text
from course_db.graders.lesson05.app import (
    APP_NAME,
    LONG_READ_SQL,
    SLOW_WRITE_SQL,
    EmailRenameVersions,
    HeldLock,
    LockWatch,
    app_result,
)
from course_db.graders.lesson05.schema import CHECKS, snapshot
from course_db.inprocess import Step, alembic
from course_db.lesson_databases import Databases
from course_db.report import Result

SQUAWK = Path(__file__).with_name("squawk.toml")  # the course's pinned settings
HOLD = 4.5  # the long read ends after this long, whatever happens
GIVE_UP_WITHIN = 4.0
APP_WAIT_MAX = 3.0
SLOW_WRITE = 0.8  # 0003 runs while a request holds a write transaction open this long
WRITE_WAIT_MAX = 0.5
TAIL = 0.05  # the app keeps running this long after a revision, to see what broke (the next
LAST_TAIL = 0.3  # step's app run shows it too, except after the last one)
RETRIES = 3
EXAMPLES = 3


@dataclass(frozen=True)
class StepSpec:
    revision: str
    task: int
    does: str
    apps: tuple[str, ...]  # the app releases that run while it runs
    gives_up: bool  # True: it needs ACCESS EXCLUSIVE and must give up behind the long read
    slow_write: bool = False


STEPS = (
    StepSpec(
        "0001_expand", 1, "adds email_address next to email, with a sync trigger", ("v1",), True
    ),
    StepSpec("0002_backfill", 2, "copies email into email_address for every user", ("v1",), False),
    StepSpec("0003_index", 3, "builds a valid index on email_address", ("v1", "v2"), False, True),
    StepSpec(
        "0004_not_valid", 4, "adds CHECK (email_address IS NOT NULL) NOT VALID", ("v2",), True
    ),
    StepSpec("0005_validate", 4, "validates that CHECK constraint", ("v2",), False),
    StepSpec("0006_contract", 5, "drops the trigger, its function, then email", ("v2",), True),
)


@dataclass
class Deployment:
    """What happened when one revision ran: first under the long read, then (maybe) again."""

    spec: StepSpec
    first: Step
    seconds: float
    read_held_to_end: bool
    ops: list[Op]
    watch: LockWatch
    retry: Step | None = None
    problems: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.first.ok or (self.retry is not None and self.retry.ok)


def grade(root: Path, databases: Databases) -> list[Result]:
    gate = chain_gate(root, [spec.revision for spec in STEPS], TASKS)
    if gate is not None:
        return gate
    scripts, sql_error = offline_sql(root)
    lint: dict[str, object] = {}
    linter = threading.Thread(target=lambda: lint.update(run_squawk(scripts, SQUAWK)))
    if scripts:
        linter.start()  # squawk reads the SQL while the revisions run
    dsn = databases.url.replace("postgresql+psycopg://", "postgresql://", 1)
    versions = EmailRenameVersions(dsn)
    results: list[Result] = []
    deployments: list[Deployment] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for spec in STEPS:
            if deployments and not deployments[-1].ran:
                blocked = f"Not run: fix {deployments[-1].spec.revision} first."
                results.append(Result(spec.task, step_name(spec), False, blocked))
                continue
            try:
                deployment = grade_step(conn, root, dsn, versions, spec, scripts)
            except psycopg.Error as exc:  # e.g. the learner dropped `users`
                results.append(Result(spec.task, step_name(spec), False, cannot_inspect(spec, exc)))
                break
            deployments.append(deployment)
            message = "\n".join(deployment.problems)
            results.append(Result(spec.task, step_name(spec), not deployment.problems, message))
        results.append(
            app_result(
                [
                    (o.spec.revision, o.spec.apps, o.spec.task, o.ops, o.mismatches)
                    for o in deployments
                ]
            )
        )
    if scripts:
        linter.join()
    results.append(lint_result(6, root, scripts, sql_error, lint))
    return results


def grade_step(
    conn: psycopg.Connection,
    root: Path,
    dsn: str,
    versions: EmailRenameVersions,
    spec: StepSpec,
    scripts: dict[str, str],
) -> Deployment:
    """Run one revision under its step's conditions and judge it, with what it changed."""
    before = snapshot(conn)
    deployment = run_step(root, dsn, versions, spec)
    if deployment.ran:
        after = snapshot(conn)
        sql = scripts.get(spec.revision, "")
        deployment.problems.extend(CHECKS[spec.revision](before, after, sql))
        if spec.revision != "0001_expand":  # writes from before its trigger are the backfill's
            deployment.mismatches = versions.mismatches(conn, after.names)
    return deployment


def cannot_inspect(spec: StepSpec, exc: psycopg.Error) -> str:
    return (
        f"While grading {spec.revision}, the check could not read users: "
        f"{error_text(exc)}. The revisions must keep the users table (and its id, name and "
        "created_at columns)."
    )


def step_name(spec: StepSpec) -> str:
    if spec.gives_up:
        return (
            f"{spec.revision} gives up within {GIVE_UP_WITHIN:.0f} s behind a long read "
            f"(its own lock_timeout), then {spec.does}"
        )
    if spec.slow_write:
        return (
            f"{spec.revision} {spec.does} while the app keeps writing "
            f"(no write waits over {WRITE_WAIT_MAX} s)"
        )
    return f"{spec.revision} {spec.does} while a long read holds users"


# In the README's order, task by task. The app runs during every revision: its row is task 1's
# (the expand it makes possible), whichever revision broke it.
TASKS = [
    (1, step_name(STEPS[0])),
    (1, APP_NAME),
    *((spec.task, step_name(spec)) for spec in STEPS[1:]),
    (6, LINT_NAME),
]


def run_step(root: Path, dsn: str, versions: EmailRenameVersions, spec: StepSpec) -> Deployment:
    """Run one revision under its step's conditions, then again if it gave up."""
    with versions.running(spec.apps) as ops:
        reader = HeldLock(dsn, LONG_READ_SQL, HOLD)
        writer = HeldLock(dsn, SLOW_WRITE_SQL, SLOW_WRITE) if spec.slow_write else None
        ours = {*versions.pids, reader.pid, *([writer.pid] if writer else [])}
        watch = LockWatch(dsn, ours)
        started = time.monotonic()
        first = alembic(root, "upgrade", spec.revision)
        seconds = time.monotonic() - started
        held = reader.released_at is None
        watch.finish()
        reader.close()
        if writer:
            writer.close()
        deployment = Deployment(spec, first, seconds, held, ops, watch)
        if not first.ok and lock_timeout(first):
            for _ in range(RETRIES):
                deployment.retry = alembic(root, "upgrade", spec.revision)
                if deployment.retry.ok or not lock_timeout(deployment.retry):
                    break
                time.sleep(0.2)
        time.sleep(LAST_TAIL if spec is STEPS[-1] else TAIL)
    deployment.problems.extend(judge(deployment, started))
    return deployment


def lock_timeout(step: Step) -> bool:
    return "LockNotAvailable" in step.error or "lock timeout" in step.error


def judge(deployment: Deployment, started: float) -> list[str]:
    """What went wrong with the step's locks, waits and errors, in words for the learner."""
    spec, first = deployment.spec, deployment.first
    shown = f"`alembic upgrade {spec.revision}`"
    during = [op for op in deployment.ops if started <= op.start <= started + deployment.seconds]
    app_wait = max((op.wait for op in during), default=0.0)
    write_wait = max((op.wait for op in during if op.is_write), default=0.0)
    waited = waited_for(deployment.watch)
    problems = []
    if not first.ok and not lock_timeout(first):
        return [first.explain() + hint_for(first.error)]
    share = deployment.watch.held("ShareLock") if spec.slow_write else ""
    if spec.gives_up:
        if first.ok and not deployment.read_held_to_end:
            problems.append(
                f"{shown} waited {deployment.seconds:.1f} s {waited}behind a long read and never "
                f"gave up. It must give up within {GIVE_UP_WITHIN:.0f} s: start upgrade() with "
                "op.execute(\"SET LOCAL lock_timeout = '300ms'\") (at most 2s)."
            )
        elif not first.ok and deployment.seconds > GIVE_UP_WITHIN:
            problems.append(
                f"{shown} gave up, but only after {deployment.seconds:.1f} s: use a lock_timeout "
                "of at most 2s, so the app is never stuck behind it for long."
            )
        if app_wait > APP_WAIT_MAX:
            problems.append(
                f"Meanwhile the app's queries queued behind it for up to {app_wait:.1f} s "
                f"(allowed: {APP_WAIT_MAX:.0f} s): every query waits behind a waiting ALTER TABLE."
            )
    elif share:
        problems.append(
            f"While the index was built, the app's writes waited up to {write_wait:.1f} s "
            f"(allowed: {WRITE_WAIT_MAX} s): `{share}` needs a SHARE lock, which waits for the "
            "slow request and blocks every INSERT, UPDATE and DELETE behind it"
            + (" (then your lock_timeout made it give up)" if not first.ok else "")
            + ". Build it with CREATE INDEX CONCURRENTLY (op.create_index(..., "
            "postgresql_concurrently=True)) inside op.get_context().autocommit_block()."
        )
    elif not first.ok:
        problems.append(
            f"{shown} gave up (lock timeout) while waiting {waited.strip() or 'for a lock'}. "
            + complete_hint(spec)
        )
    elif not deployment.read_held_to_end and waited:
        # Only a lock wait seen behind the read counts: on a busy machine (a class checking at
        # once) a correct step can simply take longer than the read, without ever waiting on it.
        problems.append(
            f"{shown} waited for the long read to end ({deployment.seconds:.1f} s) {waited}: "
            + complete_hint(spec)
        )
    if spec.slow_write and not share and write_wait > WRITE_WAIT_MAX:
        problems.append(
            f"While the index was built, the app's writes waited up to {write_wait:.1f} s "
            f"(allowed: {WRITE_WAIT_MAX} s). Build it with CREATE INDEX CONCURRENTLY."
        )
    if deployment.retry is not None and not deployment.retry.ok:
        again = f"After the long read ended, the check ran it again: {deployment.retry.explain()}"
        if lock_timeout(deployment.retry):
            again += (
                f"\nIt gave up {RETRIES} times with nothing holding users but the app's short "
                "queries: is its lock_timeout only a few milliseconds? Use a few hundred."
            )
        problems.append(again + hint_for(deployment.retry.error))
    return problems


def waited_for(watch: LockWatch) -> str:
    waits = [(mode, query) for kind, mode, query in watch.waited() if kind == "relation"]
    if waits:
        mode, query = waits[0]
        return f"for {readable_lock(mode)} on users (`{query}`) "
    others = [query for kind, _mode, query in watch.waited() if kind == "virtualxid"]
    if others:
        return f"for running transactions to finish (`{others[0]}`) "
    return ""


def readable_lock(mode: str) -> str:
    """AccessExclusiveLock -> an ACCESS EXCLUSIVE lock."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", mode.removesuffix("Lock")).upper()
    return f"an {words} lock" if words[0] in "AEIOU" else f"a {words} lock"


def complete_hint(spec: StepSpec) -> str:
    if spec.revision == "0005_validate":
        return (
            "VALIDATE CONSTRAINT only needs a SHARE UPDATE EXCLUSIVE lock, which lets reads and "
            "writes go on: this revision should do nothing else (SET NOT NULL or a CHECK without "
            "NOT VALID need ACCESS EXCLUSIVE)."
        )
    if spec.revision == "0003_index":
        return (
            "CREATE INDEX CONCURRENTLY waits for transactions that were already writing to users "
            f"(the check keeps one open for {SLOW_WRITE} s, like a slow request): give it a "
            "longer lock_timeout (e.g. SET lock_timeout = '5s' inside the autocommit block), or "
            "it stops and leaves an INVALID index behind."
        )
    return (
        "This step must not need a lock that conflicts with reads: move that statement to a "
        "revision that sets a lock_timeout."
    )


def hint_for(error: str) -> str:
    if "cannot run inside a transaction block" in error:
        return (
            "\nCONCURRENTLY cannot run inside Alembic's transaction: put it in "
            "`with op.get_context().autocommit_block():`."
        )
    if "is violated by some row" in error:
        return (
            "\nSome users have a NULL email_address: the backfill (0002) or the trigger (0001) "
            "missed them. The app's result below shows which writes."
        )
    if "already exists" in error:
        return "\nA revision that gives up must leave nothing behind: keep it in one transaction."
    return ""
