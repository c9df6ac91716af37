"""Lesson 08's grader: one env.py, two databases, each migrated only with its own revisions' code.

Runs in the isolated child, with the learner's project copied to `root` (its working directory)
and `databases` holding a fresh, empty main database (`MAIN_DATABASE_URL`, also `DATABASE_URL`)
and a fresh, empty analytics database (`ANALYTICS_DATABASE_URL`). The steps:

  -x db=main upgrade head        task 1: users and orders in main, main at head, analytics empty
  -x db=main check               task 1: main's target_metadata is main's models
  -x db=analytics upgrade head   task 2: page_views and daily_stats in analytics, at head; main
  -x db=analytics check                  unchanged; the analytics models only
  -x db=analytics downgrade base task 2: analytics back to no tables; main still at head
  -x db=reporting upgrade head   task 3: fails, naming main and analytics; nothing changes
  upgrade head (no -x db)        task 3: the same
  -x db=NAME upgrade head --sql  task 4: each database's SQL, with every URL unreachable
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg

from course_db.graders.tasklist import not_checked
from course_db.inprocess import Step, alembic
from course_db.inspection import connect, table_exists
from course_db.lesson_databases import Databases
from course_db.report import Result

HEAD = "0002_orders_and_daily_stats"
TABLES = {"main": ("users", "orders"), "analytics": ("page_views", "daily_stats")}
OTHER = {"main": "analytics", "analytics": "main"}
VARIABLES = {"main": "MAIN_DATABASE_URL", "analytics": "ANALYTICS_DATABASE_URL"}
UNKNOWN = "reporting"
# Port 1 on the loopback: nothing listens there, so a connection attempt fails at once.
UNREACHABLE_URL = "postgresql+psycopg://nobody@127.0.0.1:1/no_server_here"


def grade(root: Path, databases: Databases) -> list[Result]:
    urls = {name: databases.env()[variable] for name, variable in VARIABLES.items()}
    with connect(urls["main"]) as main, connect(urls["analytics"]) as analytics:
        conns = {"main": main, "analytics": analytics}
        for conn in conns.values():  # idle between reads (autocommit): it holds no lock
            conn.autocommit, conn.prepare_threshold = True, None
        results = _migrate(root, conns, "main") + _migrate(root, conns, "analytics")
        results.append(_downgrade(root, conns, results[-1].task == 2 and results[-1].passed))
        results += [_refusal(root, conns, [f"db={UNKNOWN}"]), _refusal(root, conns, [])]
    results += [_offline(root, "main"), _offline(root, "analytics")]
    return results


def state(conn: psycopg.Connection) -> tuple[list[str], str | None]:
    """(the tables in public, the alembic_version row or None when the table is missing)."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    if not table_exists(conn, "alembic_version"):
        return tables, None
    row = conn.execute("SELECT string_agg(version_num, ', ') FROM alembic_version").fetchone()
    return tables, (row[0] if row else None) or ""


def describe(found: tuple[list[str], str | None]) -> str:
    tables, version = found
    shown = ", ".join(table for table in tables if table != "alembic_version") or "no tables"
    at = "no alembic_version" if version is None else f"alembic_version {version or 'empty'}"
    return f"{shown} ({at})"


def upgrade_title(name: str) -> str:
    return f"`-x db={name} upgrade head` creates {' and '.join(TABLES[name])} in {name} only"


def check_title(name: str) -> str:
    return f"`-x db={name} check`: {_of(name)} target_metadata holds {_of(name)} models only"


def refusal_title(x: list[str]) -> str:
    shown = f"-x {x[0]} " if x else ""
    what = "an unknown name" if x else "no -x db=... at all"
    return f"`alembic {shown}upgrade head` ({what}) stops with an error naming main and analytics"


def offline_title(name: str) -> str:
    return f"`-x db={name} upgrade head --sql` writes {_of(name)} SQL without a database"


# Tasks 1 and 2 ------------------------------------------------------------------------------
def _migrate(root: Path, conns: dict[str, psycopg.Connection], name: str) -> list[Result]:
    """`-x db=NAME upgrade head`: NAME's tables and version in NAME, none of them in the other."""
    task, other = (1 if name == "main" else 2), OTHER[name]
    before_other = state(conns[other])
    title = upgrade_title(name)
    step = alembic(root, "upgrade", "head", x=[f"db={name}"])
    if not step.ok:
        failed = Result(task, title, False, _why(step))
        return [failed, Result(task, check_title(name), False, not_checked(failed))]
    problems = []
    tables, version = state(conns[name])
    missing = [table for table in TABLES[name] if table not in tables]
    if missing:
        problems.append(
            f"{name} has no {', '.join(missing)}: {_of(name)} URL is {VARIABLES[name]}, and "
            f"context.run_migrations(engine_name={name!r}) runs each revision's upgrade_{name}()."
        )
        if "Running upgrade" not in step.output:
            problems.append(
                "Alembic ran no revision at all: the database it connected to was already at "
                f"head. Which URL does your env.py use for -x db={name}?"
            )
    foreign = [table for table in TABLES[other] if table in tables]
    if foreign:
        problems.append(
            f"{name} also got {_of(other)} {', '.join(foreign)}: run only upgrade_{name}() "
            f"(engine_name={name!r})."
        )
    if version != HEAD:
        problems.append(f"{name}'s alembic_version is {version or 'missing'}, expected {HEAD}.")
    after_other = state(conns[other])
    if after_other != before_other:
        problems.append(
            f"the {other} database changed too: it was {describe(before_other)}, now "
            f"{describe(after_other)}. `-x db={name}` must connect to {VARIABLES[name]} only."
        )
    results = [Result(task, title, not problems, "\n".join(problems))]
    if problems:
        return [*results, Result(task, check_title(name), False, not_checked(results[0]))]
    title = check_title(name)
    step = alembic(root, "check", x=[f"db={name}"])
    message = "" if step.ok else _why(step)
    if not step.ok and "AutogenerateDiffsDetected" in step.error:
        base = "MainBase" if name == "main" else "AnalyticsBase"
        message += f"\nFor {name}, target_metadata is {base}.metadata (app.models)."
    return [*results, Result(task, title, step.ok, message)]


def _downgrade(root: Path, conns: dict[str, psycopg.Connection], upgraded: bool) -> Result:
    title = "`-x db=analytics downgrade base` drops analytics' tables and leaves main alone"
    if not upgraded:
        return Result(2, title, False, "Not checked: `-x db=analytics upgrade head` fails above.")
    before_main = state(conns["main"])
    step = alembic(root, "downgrade", "base", x=["db=analytics"])
    if not step.ok:
        return Result(2, title, False, _why(step))
    problems = []
    tables, version = state(conns["analytics"])
    left = [table for table in TABLES["analytics"] if table in tables]
    if left:
        problems.append(f"analytics still has {', '.join(left)} after the downgrade.")
    if version:
        problems.append(f"analytics' alembic_version is still {version}.")
    if state(conns["main"]) != before_main:
        problems.append(
            f"main changed: it was {describe(before_main)}, now {describe(state(conns['main']))}."
            " Pass engine_name to run_migrations() online and offline, so downgrade_analytics()"
            " runs, on ANALYTICS_DATABASE_URL."
        )
    return Result(2, title, not problems, "\n".join(problems))


# Task 3 -------------------------------------------------------------------------------------
def _refusal(root: Path, conns: dict[str, psycopg.Connection], x: list[str]) -> Result:
    shown = f"-x {x[0]} " if x else ""
    title = refusal_title(x)
    before = {name: state(conn) for name, conn in conns.items()}
    step = alembic(root, "upgrade", "head", x=x)
    changed = [name for name, conn in conns.items() if state(conn) != before[name]]
    problems = []
    if step.ok:
        problems.append(
            f"`alembic {shown}upgrade head` ran"
            + (f" and migrated {' and '.join(changed)}" if changed else "")
            + (
                ": with no -x db=..., env.py must not pick a database for you (the seed's "
                "`.get('db', 'main')` quietly migrates main)."
                if not x
                else f": {UNKNOWN!r} is not one of the databases."
            )
        )
    elif "UnboundLocalError" in step.error or "NameError" in step.error:
        problems.append(
            "It failed, but with the seed's bug, not a message for the person who typed it: "
            f"{_first_line(step.error)}. When the name is neither main nor analytics, raise "
            "an error that says which names are valid (alembic.util.CommandError prints cleanly)."
        )
    elif not names_both(step.exception):
        problems.append(
            "It failed, but the error does not name the valid databases (main and analytics):\n"
            + step.error
        )
    elif changed:
        problems.append(f"It failed, but only after it changed {' and '.join(changed)}.")
    return Result(3, title, not problems, "\n".join(problems))


# Task 4 -------------------------------------------------------------------------------------
def _offline(root: Path, name: str) -> Result:
    """`--sql` with every URL pointing at a server that does not exist: nothing may connect."""
    title = offline_title(name)
    saved = {key: os.environ[key] for key in (*VARIABLES.values(), "DATABASE_URL")}
    os.environ.update({key: UNREACHABLE_URL for key in saved})
    try:
        step = alembic(root, "upgrade", "head", x=[f"db={name}"], sql=True)
    finally:
        os.environ.update(saved)
    if not step.ok:
        message = _why(step)
        if "127.0.0.1" in step.error or "Connection refused" in step.error:
            message += "\nOffline mode only calls context.configure(url=...): no engine."
        return Result(4, title, False, message)
    sql = step.output
    problems = [
        f"no CREATE TABLE {table}" for table in TABLES[name] if f"CREATE TABLE {table} " not in sql
    ]
    problems += [
        f"CREATE TABLE {table} belongs to {OTHER[name]}"
        for table in TABLES[OTHER[name]]
        if f"CREATE TABLE {table} " in sql
    ]
    if "alembic_version" not in sql:
        problems.append("no alembic_version")
    message = f"The SQL has {'; '.join(problems)}." if problems else ""
    if problems:
        message += f" Offline too, run_migrations(engine_name={name!r})."
    return Result(4, title, not problems, message)


def _why(step: Step) -> str:
    """The failed step, plus what it usually means in this lesson."""
    text = step.explain()
    if "missing 1 required positional argument: 'engine_name'" in step.error:
        text += (
            "\nEach revision's upgrade(engine_name) needs the database's name: "
            "context.run_migrations(engine_name=name), as Alembic's multidb template does."
        )
    if "KeyError: 'DATABASE_URL'" in step.error:
        text += "\nThe URLs are in MAIN_DATABASE_URL and ANALYTICS_DATABASE_URL."
    return text


def _of(name: str) -> str:
    """main's, analytics'."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def names_both(exc: BaseException | None) -> bool:
    """Does the learner's own error message name main and analytics? Only its message counts:
    the location the course adds (`in choose_main_or_analytics`) is not what the learner reads
    when alembic stops."""
    message = str(exc) if exc is not None else ""
    return all(re.search(rf"\b{name}\b", message) for name in TABLES)


def _first_line(error: str) -> str:
    return next((line for line in error.splitlines() if "Error" in line), error.strip())


TASKS = [
    (1, upgrade_title("main")),
    (1, check_title("main")),
    (2, upgrade_title("analytics")),
    (2, check_title("analytics")),
    (2, "`-x db=analytics downgrade base` drops analytics' tables and leaves main alone"),
    (3, refusal_title([f"db={UNKNOWN}"])),
    (3, refusal_title([])),
    (4, offline_title("main")),
    (4, offline_title("analytics")),
]
