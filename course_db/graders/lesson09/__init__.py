"""Lesson 09's grader: repair a project with two heads, a hand-made table and a forgotten import.

Runs in the isolated child, with the learner's project copied to `project` (its working
directory) and `databases.url` a fresh copy of the lesson's template: the production database,
at 0003_order_status (Ana's branch), never touched by Ben's 0002_user_phone, with a `coupons`
table made by hand and its 40 rows. The steps, all on that copy:

  read the revision files        task 1: one head; 0004_merge_heads merges both branches
  run env.py offline, no steps   task 2: its target_metadata holds every model's table
  bash repair.sh                 task 4: exits 0, the database ends at the head,
                                         coupons and its rows untouched (stamped, not re-created),
                                         users' and orders' rows untouched,
  alembic check                          the models and the repaired database agree
  (every table dropped)          task 3: on an empty database, as a new one, 0005_add_coupons
  upgrade head, alembic check,           creates coupons as the model says, and its downgrade
  downgrade 0004_merge_heads             drops it again
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from course_db.graders.lesson09.repair import Repair, run_repair
from course_db.inprocess import alembic, describe_exception
from course_db.inspection import (
    checksum,
    connect,
    quote_ident,
    scalar,
    schema_snapshot,
    table_exists,
)
from course_db.learner_text import relative_paths
from course_db.lesson_databases import Databases
from course_db.report import Result

ANA, BEN = "0003_order_status", "0002_user_phone"
MERGE, COUPONS = "0004_merge_heads", "0005_add_coupons"
HAND_MADE = "coupons"
MODEL_TABLES = ("users", "orders", HAND_MADE)
KEPT_ROWS = {"users": "id, email, name", "orders": "*"}  # columns no repair may change
HAND_MADE_ROWS = 40  # in the fixture's production copy

MERGED = f"one head: {MERGE} merges {ANA} and {BEN}"
METADATA = f"env.py's target_metadata has every model's table: {', '.join(MODEL_TABLES)}"
NEW_DATABASE = (
    f"{COUPONS} gives a new database the {HAND_MADE} table: upgrade head, check, downgrade"
)
RAN = "`bash repair.sh` runs to the end (exit code 0)"
AT_HEAD = "after repair.sh, the database is at the head revision"
UNTOUCHED = f"{HAND_MADE} and its {HAND_MADE_ROWS} rows are untouched (stamped, not re-created)"
ROWS_KEPT = "users' and orders' rows are untouched"
MATCH = "`alembic check` on the repaired database: the models and the database agree"
TASKS = [
    (1, MERGED),
    (2, METADATA),
    (3, NEW_DATABASE),
    *((4, name) for name in (RAN, AT_HEAD, UNTOUCHED, ROWS_KEPT, MATCH)),
]
NOT_STARTED = (
    "repair.sh runs no command yet (only its `# TODO:`). Write the alembic commands that repair "
    f"the live database, one a line: run what never ran here (Ben's {BEN}, by upgrading to "
    f"{MERGE}), then record the hand-made {HAND_MADE} as done with `alembic stamp {COUPONS}` "
    "(README, task 4)."
)
NOT_STARTED_YET = "Not checked: repair.sh runs no command yet (see above)."


def grade(project: Path, databases: Databases) -> list[Result]:
    with connect(databases.url) as conn:  # idle between reads (autocommit): it holds no lock
        conn.autocommit, conn.prepare_threshold = True, None  # the schema changes under it
        results = _grade(project, conn)
    return results


def _grade(root: Path, conn: psycopg.Connection) -> list[Result]:
    before = _hand_made(conn), _kept_rows(conn)
    graph, heads = _merge_result(root)
    models = _metadata_result(root)
    repair = run_repair(root, os.environ["DATABASE_URL"])
    results = [graph, models, _ran(repair), _at_head(conn, heads, repair)]
    if repair.found and not repair.started:  # nothing ran: "untouched" would be an empty pass
        results += [Result(4, name, False, NOT_STARTED_YET) for name in (UNTOUCHED, ROWS_KEPT)]
    else:
        results += [_untouched(conn, before[0]), _rows_kept(conn, before[1])]
    results.append(_models_match(root))
    results.append(_new_database(root, conn, heads))
    return results


# Task 1 -------------------------------------------------------------------------------------
def _merge_result(root: Path) -> tuple[Result, tuple[str, ...]]:
    name = MERGED
    try:
        script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
        heads = tuple(script.get_heads())
        merge = script.get_revision(MERGE) if MERGE in _revision_ids(script) else None
    except BaseException as exc:  # a revision that does not even import, a broken chain
        message = f"Alembic cannot read your revisions:\n{describe_exception(exc, root)}"
        return Result(1, name, False, _located(message)), ()
    problems = []
    if merge is None:
        problems.append(
            f'There is no revision {MERGE}: create it with `alembic merge -m "merge heads" '
            f"{ANA} {BEN} --rev-id {MERGE}` (migrations/versions/{MERGE}.py)."
        )
    elif set(_tuple(merge.down_revision)) != {ANA, BEN}:
        problems.append(
            f"{MERGE} revises {_listed(_tuple(merge.down_revision))}; a merge revises both heads: "
            f'down_revision = ("{ANA}", "{BEN}").'
        )
    if len(heads) != 1:
        problems.append(
            f"The revisions have {len(heads)} heads ({_listed(heads)}), so `alembic upgrade head` "
            'fails with "Multiple head revisions are present": `alembic heads` shows them.'
        )
    return Result(1, name, not problems, "\n".join(problems)), heads


def _revision_ids(script: ScriptDirectory) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


# Task 4 -------------------------------------------------------------------------------------
def _ran(repair: Repair) -> Result:
    name = RAN
    if not repair.found:
        message = "There is no repair.sh in your project: create it next to alembic.ini (task 4)."
        return Result(4, name, False, message)
    if not repair.started:
        return Result(4, name, False, NOT_STARTED)
    if repair.ok:
        return Result(4, name, True)
    message = f"`bash repair.sh` exited with code {repair.returncode}. It printed:\n{repair.tail()}"
    return Result(4, name, False, message + _advice(repair.output, repair.script))


def _advice(output: str, script: str) -> str:
    """What a failed command in repair.sh usually means in this lesson."""
    if "\r" in script:
        return "\nrepair.sh has Windows line endings (CRLF): save it with LF line endings."
    if "course alembic" in script:
        return (
            "\n`course alembic 09 -- ...` works on your exercise folder and database, not on the "
            "copy the check runs repair.sh on: write the plain `alembic ...` commands."
        )
    if "Multiple head revisions are present" in output:
        return f"\nTwo heads: merge them first (task 1), then upgrade to {MERGE} or head."
    if "already exists" in output and HAND_MADE in output:
        return (
            f"\n{HAND_MADE} exists already (made by hand): `alembic stamp {COUPONS}` records "
            "its revision as done instead of running it."
        )
    if "command not found" in output or "No such file or directory" in output:
        return "\nrepair.sh runs with bash in the project folder; `alembic` is on PATH."
    if "Can't locate revision" in output:
        return "\nUse the revision ids of migrations/versions (`alembic history` lists them)."
    return ""


def _at_head(conn: psycopg.Connection, heads: tuple[str, ...], repair: Repair) -> Result:
    name = AT_HEAD
    version = _version(conn)
    if len(heads) != 1:
        message = "Not checked: the revisions need exactly one head first (task 1); the database "
        return Result(4, name, False, message + f"is at {version or 'no revision'}.")
    if version == heads[0]:
        return Result(4, name, True)
    message = (
        f"After repair.sh the database is at {version or 'no revision'}, not at the head "
        f"{heads[0]}. repair.sh runs what never ran here (Ben's {BEN}) and records what exists "
        f"already ({HAND_MADE}) with `alembic stamp`."
    )
    if repair.found and not repair.output.strip():
        message += " Your repair.sh ran no command."
    elif "course alembic" in repair.script:
        message += _advice("", repair.script)
    return Result(4, name, False, message)


def _hand_made(conn: psycopg.Connection) -> tuple[dict[str, str], str, int]:
    """coupons' columns, constraints and indexes, a checksum of its rows, and how many."""
    if not table_exists(conn, HAND_MADE):
        return {}, "", 0
    shape = {key: value for key, value in schema_snapshot(conn).items() if HAND_MADE in key}
    count = scalar(conn, f"SELECT count(*) FROM {HAND_MADE}")
    return shape, checksum(conn, HAND_MADE, "id"), count


def _untouched(conn: psycopg.Connection, before: tuple[dict[str, str], str, int]) -> Result:
    name = UNTOUCHED
    shape, rows, count = _hand_made(conn)
    stamp = f"`alembic stamp {COUPONS}` records the table without touching it."
    if not shape:
        return Result(4, name, False, f"After repair.sh there is no table {HAND_MADE}. {stamp}")
    if count != before[2]:
        message = f"{HAND_MADE} had {before[2]} rows and now has {count}: was it dropped and "
        return Result(4, name, False, message + f"created again by {COUPONS}? {stamp}")
    problems = []
    if shape != before[0]:
        changed = sorted(set(shape.items()) ^ set(before[0].items()))
        problems.append(f"{HAND_MADE}'s structure changed: " + "; ".join(k for k, _ in changed))
    if rows != before[1]:
        problems.append(f"the same number of rows, but their values changed. {stamp}")
    return Result(4, name, not problems, ". ".join(problems))


def _kept_rows(conn: psycopg.Connection) -> dict[str, str]:
    sums = {}
    for table, columns in KEPT_ROWS.items():
        if table_exists(conn, table):
            sums[table] = scalar(
                conn,
                f"SELECT md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) "
                f"FROM (SELECT ({columns})::text AS row_text FROM {table} t) r"
                if columns != "*"
                else f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM {table} t",
            )
    return sums


def _rows_kept(conn: psycopg.Connection, before: dict[str, str]) -> Result:
    name = ROWS_KEPT
    try:
        now = _kept_rows(conn)
    except psycopg.Error as exc:  # a repair that dropped a column
        return Result(4, name, False, f"Cannot read them after repair.sh: {exc}".strip())
    lost = [table for table in before if now.get(table) != before[table]]
    message = f"repair.sh changed the rows of {_listed(lost)}: repairing history loses no data."
    return Result(4, name, not lost, message if lost else "")


# Task 2 -------------------------------------------------------------------------------------
def _metadata_result(root: Path) -> Result:
    name = METADATA
    try:
        tables = _metadata_tables(root)
    except BaseException as exc:  # learner code: env.py or a model module that fails
        message = f"Running migrations/env.py failed:\n{describe_exception(exc, root)}"
        return Result(2, name, False, _located(message))
    if tables is None:
        return Result(2, name, False, "migrations/env.py sets no target_metadata.")
    missing = [table for table in MODEL_TABLES if table not in tables]
    if not missing:
        return Result(2, name, True)
    message = (
        f"target_metadata has no {_listed(missing)} table, so autogenerate and `alembic check` "
        f"do not see its model: they would even DROP the hand-made {HAND_MADE}. A model is in "
        "Base.metadata only once its module is imported: does migrations/env.py import "
        "app.models.coupons?"
    )
    return Result(2, name, False, message)


def _metadata_tables(root: Path) -> set[str] | None:
    """The tables of the learner's `target_metadata`, as env.py sets it (offline: no database).

    Alembic's own commands work this way: env.py calls `context.configure(...)` and
    `run_migrations()`, which asks `fn` for the steps to run; `fn` reads the options and says none.
    """
    config = Config(str(root / "alembic.ini"))
    script = ScriptDirectory.from_config(config)
    found: dict[str, object] = {}

    def no_steps(revision: object, context: MigrationContext) -> list[object]:
        found["metadata"] = context.opts.get("target_metadata")
        return []

    quiet = io.StringIO()
    environment = EnvironmentContext(config, script, fn=no_steps, as_sql=True, output_buffer=quiet)
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), environment:
        script.run_env()
    metadata = found.get("metadata")
    return None if metadata is None else set(getattr(metadata, "tables", {}))


def _models_match(root: Path) -> Result:
    name = MATCH
    step = alembic(root, "check")
    if step.ok:
        return Result(4, name, True)
    message = _located(step.explain())
    if "remove_table" in step.error and HAND_MADE in step.error:
        message += (
            f"\nAutogenerate would DROP {HAND_MADE}: Base.metadata has no {HAND_MADE} table, "
            "because migrations/env.py never imports app.models.coupons (task 2)."
        )
    elif "Target database is not up to date" in step.error:
        message += "\nThe repaired database should be at the head: see the result above."
    elif "add_column" in step.error and "phone" in step.error:
        message += f"\nusers has no phone column: {BEN} never ran (was it stamped over?)."
    return Result(4, name, False, message)


# Task 3 -------------------------------------------------------------------------------------
def _new_database(root: Path, conn: psycopg.Connection, heads: tuple[str, ...]) -> Result:
    name = NEW_DATABASE
    if len(heads) != 1:
        return Result(3, name, False, "Not checked: needs exactly one head first (task 1).")
    if heads[0] != COUPONS:
        message = f"The head is {heads[0]}, not {COUPONS}: create migrations/versions/{COUPONS}.py"
        return Result(3, name, False, message + f' (down_revision = "{MERGE}").')
    _empty(conn)  # a new database, whatever repair.sh left in this one
    step = alembic(root, "upgrade", "head")
    if not step.ok:
        message = f"On an empty database, {_located(step.explain())}"
        return Result(3, name, False, message)
    if not table_exists(conn, HAND_MADE):
        message = f"`upgrade head` on an empty database did not create {HAND_MADE}: {COUPONS}'s "
        return Result(3, name, False, message + "upgrade() creates it, with op.create_table.")
    step = alembic(root, "check")
    if not step.ok:
        message = f"On a new database built by your revisions, {_located(step.explain())}"
        message += f"\n{COUPONS} must create {HAND_MADE} exactly as the hand-made one (the model)."
        return Result(3, name, False, message)
    step = alembic(root, "downgrade", MERGE)
    if not step.ok:
        return Result(3, name, False, _located(step.explain()))
    if table_exists(conn, HAND_MADE):
        message = f"After `downgrade {MERGE}`, {HAND_MADE} is still there: {COUPONS}'s downgrade "
        return Result(3, name, False, message + "drops the table its upgrade creates.")
    return Result(3, name, True)


def _empty(conn: psycopg.Connection) -> None:
    """Drop every table in `public`: the check's copy of production is not needed any more."""
    tables = [
        row[0]
        for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    if tables:
        conn.execute("DROP TABLE " + ", ".join(quote_ident(table) for table in tables) + " CASCADE")


# Reading the database, and messages ---------------------------------------------------------
def _version(conn: psycopg.Connection) -> str | None:
    if not table_exists(conn, "alembic_version"):
        return None
    version: str | None = scalar(conn, "SELECT string_agg(version_num, ', ') FROM alembic_version")
    return version


def _tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _listed(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(sorted(items)) or "nothing"


def _located(text: str) -> str:
    """Paths of the check's temporary copy, made relative to the learner's project."""
    return relative_paths(text, os.getcwd())
