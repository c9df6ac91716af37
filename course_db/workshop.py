"""A workshop on one shared PostgreSQL: learner roles, the class's templates, progress, the end.

The trust model (COURSE_DESIGN §8): the instructor's admin URL stays with the instructor. Each
learner gets a LOGIN role of their own (`CREATEDB`, never superuser, a connection limit), a member
of the class's NOLOGIN group role, and a join line with their own `COURSE_DATABASE_URL`. With it
their course creates databases their role owns, closed to everyone else (`databases.clone`).

The class's templates are built once, by the instructor (`class_templates.py`), and its progress
lives in a database of its own where each learner sees and writes only their own rows
(`class_progress.py`). `end` saves that progress as CSV, then drops every role and database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from course_db import roles
from course_db.class_progress import ensure_progress, export_csv
from course_db.class_templates import drop_any, ensure_templates
from course_db.databases import MARKER, admin
from course_db.errors import SetupError
from course_db.paths import state_dir
from course_db.server import Server

DEFAULT_CONNECTION_LIMIT = 40  # measured peak 33: lesson 06 grades several histories at once


@dataclass(frozen=True)
class JoinLine:
    """What one learner needs: their own `COURSE_DATABASE_URL`."""

    name: str
    url: str

    def text(self) -> str:
        return f"{self.name}\texport COURSE_DATABASE_URL={self.url}"


def workshop_name() -> str:
    return os.environ.get("COURSE_WORKSHOP", "").strip() or "class"


def join_file(workshop: str) -> Path:
    """`.course/workshop/<class>/join.txt`: the passwords, readable by the instructor only."""
    folder = state_dir("workshop", roles.normalize(workshop))
    folder.chmod(0o700)
    return folder / "join.txt"


def require_admin(server: Server) -> None:
    """Workshop commands need the admin URL of an external server; say so plainly otherwise."""
    if server.kind != "external":
        raise SetupError(
            "A workshop runs on a shared PostgreSQL server, not on the embedded one.",
            tip="set COURSE_DATABASE_URL to the admin URL of the class's server, e.g. "
            "postgresql+psycopg://postgres:PASSWORD@HOST:5432/postgres",
        )
    with admin(server) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        raise SetupError(
            f"`course workshop` needs a superuser; COURSE_DATABASE_URL logs in as {server.user}.",
            tip="use the server's admin URL (a learner's join line cannot run a workshop).",
        )


def init(
    server: Server,
    workshop: str,
    names: list[str],
    host: str | None = None,
    connection_limit: int = DEFAULT_CONNECTION_LIMIT,
) -> list[JoinLine]:
    """Create (or bring up to date) the class and the named learners; return every join line.

    Safe to re-run: existing learners keep their passwords (read back from the join file),
    templates are rebuilt only when a fixture changed, nothing is dropped.
    """
    require_admin(server)
    group = roles.group_role(workshop)
    wanted = roles.validate_names(names)
    path = join_file(workshop)
    known = read_join(path)
    with admin(server) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (group,))  # two inits may race
        ensure_group(conn, group)
        for short in wanted:
            role = roles.learner_role(group, short)
            old = known.get(short)
            kept = password_of(old) if old else None
            password = ensure_learner(conn, group, role, kept, connection_limit)
            known[short] = JoinLine(short, learner_url(server, role, password, host))
    ensure_progress(server, group)
    ensure_templates(server, group)
    write_join(path, known)
    return [known[short] for short in wanted]


def ensure_group(conn: psycopg.Connection, group: str) -> None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", (group,)
    ).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
        conn.execute(
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                sql.Identifier(group), sql.Literal(roles.CLASS_COMMENT)
            )
        )
    elif row[0] != roles.CLASS_COMMENT:
        raise SetupError(
            f"A role named {group} exists on this server and is not a course workshop's.",
            tip="pick another workshop name with --workshop.",
        )


def ensure_learner(
    conn: psycopg.Connection, group: str, role: str, password: str | None, limit: int
) -> str:
    """Create `role` in `group`, or re-assert its limits; return its password."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists and not is_member(conn, group, role):
        raise SetupError(
            f"A role named {role} exists on this server and is not a learner of this workshop.",
            tip="rename the learner in the list, or pick another workshop name with --workshop.",
        )
    password = password or secrets.token_urlsafe(18)
    options = sql.SQL(
        "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT "
        "CONNECTION LIMIT {} PASSWORD {}"
    ).format(sql.Literal(limit), sql.Literal(password))
    ident = sql.Identifier(role)
    if exists:
        conn.execute(sql.SQL("ALTER ROLE {} WITH ").format(ident) + options)
    else:
        conn.execute(
            sql.SQL("CREATE ROLE {} WITH ").format(ident)
            + options
            + sql.SQL(" IN ROLE {}").format(sql.Identifier(group))
        )
    return password


def is_member(conn: psycopg.Connection, group: str, role: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = %s AND r.rolname = %s",
            (group, role),
        ).fetchone()
    )


def members(conn: psycopg.Connection, group: str) -> list[str]:
    """The roles of the class (learners, and any throwaway grading roles), by name."""
    rows = conn.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = %s ORDER BY r.rolname",
        (group,),
    ).fetchall()
    return [row[0] for row in rows]


def learner_url(server: Server, role: str, password: str, host: str | None) -> str:
    """The learner's `COURSE_DATABASE_URL`: the admin URL's server, the learner's role."""
    where = host or f"{server.host}:{server.port or 5432}"
    return f"postgresql+psycopg://{role}:{password}@{where}/{server.admin_db}"


def password_of(line: JoinLine) -> str | None:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(line.url).password or "") or None


def read_join(path: Path) -> dict[str, JoinLine]:
    lines: dict[str, JoinLine] = {}
    if path.exists():
        for text in path.read_text().splitlines():
            name, _, rest = text.partition("\t")
            url = rest.removeprefix("export COURSE_DATABASE_URL=")
            if name and url:
                lines[name] = JoinLine(name, url)
    return lines


def write_join(path: Path, lines: dict[str, JoinLine]) -> None:
    """Write the join lines with mode 600 from the start: never readable by others, even briefly."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(line.text() + "\n" for line in sorted(lines.values(), key=_by_name))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _by_name(line: JoinLine) -> str:
    return line.name


# --- the end of a workshop ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    roles: list[str]
    databases: list[str]
    csv: Path | None


def plan_end(server: Server, workshop: str) -> Ending:
    """What `end` would drop: every role of the class and every database they or the class own."""
    require_admin(server)
    group = roles.group_role(workshop)
    with admin(server) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (group,)).fetchone()
        if not exists:
            raise SetupError(
                f"There is no workshop '{workshop}' on this server (no role {group}).",
                tip="name it with --workshop (or COURSE_WORKSHOP), as at `workshop init`.",
            )
        learners = members(conn, group)
        rows = conn.execute(
            """
            SELECT datname FROM pg_database d
            WHERE pg_get_userbyid(datdba) = ANY(%s)
               OR (datname LIKE %s AND shobj_description(oid, 'pg_database') LIKE %s)
            ORDER BY datname
            """,
            (learners, group + "\\_%", f"{MARKER} prefix={group} %"),
        ).fetchall()
    return Ending(learners, [row[0] for row in rows], None)


def end(server: Server, workshop: str) -> Ending:
    """Save the class's progress as CSV, then drop every role and database of the workshop."""
    group = roles.group_role(workshop)
    saved = export_csv(server, group, join_file(workshop).parent)
    with admin(server) as conn:
        # First nobody of the class can log in or stay connected, so no check of theirs creates a
        # database while the list of what to drop is made.
        for role in members(conn, group):
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
            (members(conn, group),),
        )
    plan = plan_end(server, workshop)
    with admin(server) as conn:
        for name in plan.databases:
            drop_any(conn, name)
        for role in [*plan.roles, group]:
            ident = sql.Identifier(role)
            try:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))
            except psycopg.errors.DependentObjectsStillExist as exc:
                raise SetupError(
                    f"The role {role} still owns objects elsewhere: {exc.diag.message_detail}",
                    tip=f"drop them (or `REASSIGN OWNED BY {role} TO postgres`), then run "
                    "`course workshop end` again.",
                ) from None
    join_file(workshop).unlink(missing_ok=True)
    return Ending(plan.roles, plan.databases, saved)
