"""The course's databases: per-lesson templates, and demo/exercise/check copies cloned from them.

Names are `course_<prefix>_<NN>_<role>`. The prefix is per checkout (kept in `.course/prefix`) or
per learner (`COURSE_LEARNER`), so two checkouts or two learners on one server never meet. Every
database the course creates carries a marker comment with its prefix, and the course only ever drops
databases that carry its marker and its prefix.

A template is built once from the lesson's fixture under an advisory lock, then closed to
connections (`ALLOW_CONNECTIONS false`, `IS_TEMPLATE true`): no session (autovacuum, JupySQL, a
notebook) can then hold it open, which would make `CREATE DATABASE ... TEMPLATE` fail with "being
accessed by other users". Its comment holds the fixture's hash, so an edited fixture rebuilds it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from course_db.errors import SetupError, first_line, full_server_tip
from course_db.output import bar
from course_db.paths import STATE, state_dir
from course_db.processes import pid_alive
from course_db.server import Server

log = logging.getLogger("course_db")

if TYPE_CHECKING:
    from course_db.lessons import Lesson

MARKER = "alembic-course"
NAME_ROOM = 30  # of PostgreSQL's 63 bytes, the prefix's share; roles take the rest
FIXTURE_FORMAT = "1"  # bump to rebuild every template when the build procedure changes


def prefix() -> str:
    """The database name prefix of this checkout, learner or test worker.

    A workshop learner's prefix is their role (`roles.py`): an identity they cannot change.
    """
    from course_db.roles import current_learner

    learner = current_learner()
    if learner is not None:
        return learner.role
    override = os.environ.get("COURSE_DB_PREFIX", "").strip()
    if override:
        return _identifier(override, "COURSE_DB_PREFIX")
    named = os.environ.get("COURSE_LEARNER", "").strip()
    if named:
        return "course_" + _identifier(named, "COURSE_LEARNER")
    path = STATE / "prefix"
    if not path.exists():
        state_dir()
        path.write_text(secrets.token_hex(3) + "\n")
    saved = path.read_text().strip()
    if not saved or re.fullmatch(r"[a-z0-9_]{1,20}", saved) is None:
        raise SetupError(
            f".course/prefix holds {saved!r}, not a name this checkout's databases can carry.",
            tip="delete .course/prefix: the course then picks a new one (your files stay as "
            "they are; the databases start fresh).",
        )
    return "course_" + saved


def _identifier(text: str, source: str) -> str:
    """`text` as part of a database name; distinct texts never give the same name.

    Lower-casing, replacing punctuation and cutting to fit would make `Ana` and `ana`, or `ana.b`
    and `ana-b`, share databases and progress: a name that had to change gets a short hash of
    the original.
    """
    cleaned = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if not cleaned:
        raise SetupError(
            f"{source}={text!r} cannot be part of a database name.",
            tip=f"use letters, digits and underscores in {source}.",
        )
    if cleaned == text and len(cleaned) <= NAME_ROOM:
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{cleaned[: NAME_ROOM - 7]}_{digest}"


def db_name(lesson: str, role: str) -> str:
    """`course_<prefix>_<NN>_<role>`, e.g. `course_3fa9c1_01_exercise`."""
    return f"{prefix()}_{lesson}_{role}"


_numbers = itertools.count(1)


def unused_name(server: Server, lesson: str, stem: str) -> str:
    """`db_name(lesson, f"{stem}_{n}")` for this process's next `n` that names no database.

    A stem with the process's pid is this process's alone while it lives, but a process that had
    the same pid before (pids wrap, at 32768 on many machines) may have left a database under
    that name half made: killed between CREATE DATABASE and its COMMENT, it has no marker, so the
    course neither drops nor replaces it, and a clone onto the name would fail.
    """
    with admin(server) as conn:
        while True:
            name = db_name(lesson, f"{stem}_{next(_numbers)}")
            taken = conn.execute("SELECT FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if taken is None:
                return name


@contextmanager
def admin(server: Server) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the server's maintenance database."""
    try:
        conn = psycopg.connect(**server.conninfo(), autocommit=True)
    except psycopg.OperationalError as exc:
        reason = first_line(exc)
        reason = reason.removeprefix("connection failed: ")
        tip = (
            "check that the server is running and that COURSE_DATABASE_URL is right "
            "(unset it to use the course's embedded PostgreSQL)."
            if server.kind == "external"
            else "run `uv run course db status`; `uv run course db stop` then retry restarts it."
        )
        tip = full_server_tip(exc) or tip
        raise SetupError(f"Cannot connect to {server.describe()}: {reason}", tip=tip) from None
    try:
        yield conn
    finally:
        conn.close()


def fixture_hash(fixture: Path) -> str:
    return hashlib.sha256(FIXTURE_FORMAT.encode() + fixture.read_bytes()).hexdigest()[:16]


def template_marker(fixture: Path) -> str:
    """The comment of this checkout's template that is up to date with `fixture`."""
    return marker(f"fixture={fixture_hash(fixture)}")


def marker(extra: str = "") -> str:
    return f"{MARKER} prefix={prefix()}" + (f" {extra}" if extra else "")


def comment_of(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    return None if row is None else (row[0] or "")


def missing_templates(server: Server, sources: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The (lesson, fixture) of `sources` whose template is missing or older than its fixture."""
    with admin(server) as conn:
        return [
            (lesson, fixture)
            for lesson, fixture in sources
            if comment_of(conn, db_name(lesson, "template")) != template_marker(fixture)
        ]


def prepare_templates(server: Server) -> None:
    """Build the lessons' templates that are missing, saying how far it is (the first start of
    `course lab` takes seconds); a notebook's `lesson()` then only clones. A class's learner
    has the instructor's, built by `course workshop init`."""
    from course_db.lessons import template_sources
    from course_db.roles import learner_of

    if learner_of(server) is not None:
        return
    missing = missing_templates(server, template_sources())
    for done, (key, fixture) in enumerate(missing):
        log.info(
            "[%s] preparing the lessons' databases: %s (%d of %d, first start only)",
            bar(done, len(missing)),
            key,
            done + 1,
            len(missing),
        )
        ensure_template(server, key, fixture)


def ensure_template(server: Server, lesson: str, fixture: Path) -> str:
    """Build the lesson's template from its fixture unless an up-to-date one exists."""
    from course_db.roles import learner_of

    learner = learner_of(server)
    if learner is not None:  # a learner clones the class's template, built by the instructor
        name = learner.template(lesson)
        from course_db.class_templates import class_marker

        with admin(server) as conn:
            if comment_of(conn, name) != class_marker(learner.group, fixture):
                from course_db.roles import missing_template

                raise missing_template(learner, lesson)
        return name
    name = db_name(lesson, "template")
    wanted = template_marker(fixture)
    with admin(server) as conn:
        if comment_of(conn, name) == wanted:
            return name
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        if comment_of(conn, name) == wanted:  # another process built it while we waited
            return name
        drop(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        _set_comment(conn, name, marker("building"))  # ours, but not valid until the end
        with psycopg.connect(**server.conninfo(name), autocommit=True) as build:
            build.execute(fixture.read_text())
            build.execute("VACUUM ANALYZE")
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true").format(
                sql.Identifier(name)
            )
        )
        _set_comment(conn, name, wanted)
    return name


def clone(server: Server, template: str, name: str, comment: str | None = None) -> str:
    """Drop `name` if it is ours, then copy `template` into it (~20 ms); return the URL.

    `comment` is the marker the new database carries (default: the plain marker).
    """
    with admin(server) as conn:
        drop(conn, name)
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
        try:
            conn.execute(create)
        except psycopg.errors.ObjectInUse:  # a racing rebuild of the template: try once more
            time.sleep(0.2)
            conn.execute(create)
        _set_comment(conn, name, comment or marker())
        _close_to_others(server, conn, name)
    return server.url(name)


def _close_to_others(server: Server, conn: psycopg.Connection, name: str) -> None:
    """On a learner's role, nobody else may connect to their database (PUBLIC has CONNECT)."""
    from course_db.roles import learner_of

    if learner_of(server) is not None:
        conn.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(name)
            )
        )


def drop(conn: psycopg.Connection, name: str) -> None:
    """Drop a database, only if it carries this course's marker and prefix."""
    comment = comment_of(conn, name)
    if comment is None:
        return
    if not owned(comment) or not _is_mine(conn, name):
        raise SetupError(
            f"A database named {name} exists but was not made by this checkout of the course; "
            "the course leaves it alone.",
            tip="set COURSE_LEARNER to a name of your own, or drop that database yourself.",
        )
    ident = sql.Identifier(name)
    # An interrupted DROP leaves a database "invalid" (datconnlimit -2): PostgreSQL then allows
    # only DROP on it, and an ALTER ends the session with a FATAL error.
    invalid = conn.execute(
        "SELECT datconnlimit = -2 FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    if not (invalid and invalid[0]):
        conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident))
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def _is_mine(conn: psycopg.Connection, name: str) -> bool:
    """Whether the connected role owns `name` (always, for a superuser).

    On a shared server any role with CREATEDB can create a database with any free name, marker
    comment included: a learner's course trusts only the databases their own role owns.
    """
    row = conn.execute(
        "SELECT pg_has_role(datdba, 'MEMBER') FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    return bool(row and row[0])


def drop_database(server: Server, name: str) -> None:
    with admin(server) as conn:
        drop(conn, name)


def owned(comment: str) -> bool:
    return comment == marker() or comment.startswith(marker() + " ")


def course_databases(server: Server) -> list[str]:
    """Every database of this prefix that carries the course's marker (see `inventory`)."""
    return [info.name for info in inventory(server, sizes=False)]


def _set_comment(conn: psycopg.Connection, name: str, text: str) -> None:
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
    )


def prepare_spare(server: Server, lesson: str, fixture: Path) -> None:
    """Clone the lesson's template into its spare, unless an up-to-date spare is there.

    It never builds a template: once the course's databases are dropped (`course db`, a test
    run's end), a late clean-up must not bring them back.
    """
    from course_db.roles import learner_of

    if learner_of(server) is not None:  # on a class's shared server, disk beats milliseconds
        return
    name, template = db_name(lesson, "spare"), db_name(lesson, "template")
    wanted = marker(f"spare fixture={fixture_hash(fixture)}")
    with admin(server) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))  # two tidy-ups may race
        if comment_of(conn, name) == wanted:
            return
        if comment_of(conn, template) != template_marker(fixture):
            return
        clone(server, template, name)
        _set_comment(conn, name, wanted)


def take_spare(
    server: Server, lesson: str, fixture: Path, new_name: str, comment: str | None = None
) -> str | None:
    """Rename the lesson's spare to `new_name` and return its URL, or None if there is none.

    The rename is atomic: of two processes racing for one spare, the loser gets None and clones.
    """
    name = db_name(lesson, "spare")
    with admin(server) as conn:
        if comment_of(conn, name) != marker(f"spare fixture={fixture_hash(fixture)}"):
            return None
        try:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(name), sql.Identifier(new_name)
                )
            )
        except (psycopg.errors.InvalidCatalogName, psycopg.errors.ObjectInUse):
            return None  # another process took it first, or is cloning it right now
        _set_comment(conn, new_name, comment or marker())
    return server.url(new_name)


def reset(server: Server, lesson: str, fixture: Path, role: str) -> str:
    """Give `role` (demo, exercise) a fresh copy of the lesson's template; return its URL.

    The spare, when one is ready, is renamed into place: milliseconds instead of a clone.
    """
    template = ensure_template(server, lesson, fixture)
    name = db_name(lesson, role)
    with admin(server) as conn:
        drop(conn, name)
    return take_spare(server, lesson, fixture, name) or clone(server, template, name)


def extra_variables(url: str, extra: Mapping[str, str]) -> dict[str, str]:
    """What a lesson with extra databases puts beside `DATABASE_URL`: `MAIN_DATABASE_URL` (its own
    database, `url`, by the name its `env.py` reads once there are several) and each extra one's
    variable (`extra`: `ANALYTICS_DATABASE_URL` -> its URL).

    Empty for a lesson with one database: `DATABASE_URL` alone names it. The one rule for a
    check's databases (`lesson_databases.Databases.env`) and a role's (`extra_env`).
    """
    return {"MAIN_DATABASE_URL": url, **extra} if extra else {}


def extra_env(server: Server, lesson: Lesson, role: str) -> dict[str, str]:
    """`extra_variables` of `role`'s databases (demo, exercise): the notebook's `%alembic` and
    `course alembic` run with them."""
    urls = {extra.env_var: server.url(db_name(extra.key, role)) for extra in lesson.extras}
    return extra_variables(server.url(db_name(lesson.number, role)), urls)


def reset_extras(server: Server, lesson: Lesson, role: str) -> None:
    """`reset` each extra database of the lesson (none for most lessons)."""
    for extra in lesson.extras:
        reset(server, extra.key, extra.fixture_path, role)


def ensure_extras(server: Server, lesson: Lesson, role: str) -> None:
    """Create each extra database of `role` from its template if it does not exist yet."""
    for extra in lesson.extras:
        name = db_name(extra.key, role)
        with admin(server) as conn:
            exists = comment_of(conn, name) is not None
        if not exists:
            clone(server, ensure_template(server, extra.key, extra.fixture_path), name)


STALE_CHECK = 15 * 60  # seconds: longer than any check may run (`runner.MAX_TIMEOUT` and more)


def check_marker() -> str:
    """The marker of a check's database: which machine and process took it, and when.

    `prune` reads it: a pid means something only on the machine that wrote it.
    """
    return marker(f"check host={socket.gethostname()} pid={os.getpid()} created={int(time.time())}")


def left_behind(comment: str, connections: int, now: float | None = None) -> bool:
    """Whether a check database (by its marker) belongs to a check that has ended.

    On this machine: its process is gone. Anywhere: nobody is connected and it is older than any
    check can last, so a live check of another machine is never touched.
    """
    fields = dict(part.split("=", 1) for part in comment.split() if "=" in part)
    if " check " not in f" {comment} " or not fields.get("created", "").isdigit():
        return False
    age = (now or time.time()) - int(fields["created"])
    here = fields.get("host") == socket.gethostname() and fields.get("pid", "").isdigit()
    if here and not pid_alive(int(fields["pid"])):
        return True
    return connections == 0 and age > STALE_CHECK


@dataclass(frozen=True)
class DatabaseInfo:
    name: str
    size: int  # bytes
    leftover: bool  # a check database that an ended check left behind


def inventory(server: Server, sizes: bool = True) -> list[DatabaseInfo]:
    """Every database of this prefix that carries the course's marker, with its size.

    Without `sizes` (the prune before every check) it reads the catalog only: milliseconds.
    """
    size = (
        "CASE WHEN has_database_privilege(d.oid, 'CONNECT') AND d.datconnlimit <> -2 "
        "THEN pg_database_size(d.oid) END"
        if sizes
        else "0"
    )
    with admin(server) as conn:
        rows = conn.execute(
            f"SELECT d.datname, shobj_description(d.oid, 'pg_database'), {size}, "
            "(SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid) "
            "FROM pg_database d WHERE d.datname LIKE %s AND pg_has_role(d.datdba, 'MEMBER') "
            "ORDER BY d.datname",
            (prefix() + "\\_%",),
        ).fetchall()
    return [
        DatabaseInfo(name, size or 0, left_behind(comment, connections))
        for name, comment, size, connections in rows
        if comment and owned(comment)
    ]


def prune(server: Server) -> list[DatabaseInfo]:
    """Drop the check databases of this prefix that ended checks left behind; return them."""
    dropped = [info for info in inventory(server, sizes=False) if info.leftover]
    if dropped:
        with admin(server) as conn:
            for info in dropped:
                drop(conn, info.name)
    return dropped
