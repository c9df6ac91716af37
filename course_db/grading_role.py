"""Grade someone else's folder on a shared server as a throwaway role, never as the instructor.

`course check NN --project PATH` runs the folder's code. With the instructor's admin URL that code
could do anything to the class's server (COURSE_DESIGN §8). So, on a server that holds the class
(`course workshop init`), the check runs in a fresh interpreter whose only URL is a throwaway
role's: a member of the class (it clones the class's templates like any learner), `CREATEDB` and
nothing else, valid for an hour at most. It reaches only the databases it creates for this one
check; afterwards the instructor's process drops them and the role.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql

from course_db import roles
from course_db.databases import admin
from course_db.report import Report
from course_db.server import Server

# What the grading interpreter never inherits: any URL but its own, and the caller's identity.
NOT_PASSED = (
    "COURSE_DATABASE_URL",
    "DATABASE_URL",
    "COURSE_DB_PREFIX",
    "COURSE_LEARNER",
    "MAIN_DATABASE_URL",
    "PGPASSWORD",
    "PGUSER",
    "PGHOST",
    "PGSERVICE",
)
SLACK = 120.0  # seconds beyond the check's own limit: interpreter start and clean-up


def class_for_grading(server: Server, workshop: str) -> str | None:
    """The group role of `workshop` on this server if grading there needs a throwaway role.

    None on the embedded server, for a learner's own URL (their code runs as them anyway), for an
    admin that cannot create roles, and where no such class exists (a server without learner roles
    runs everyone's code as its admin already).
    """
    if server.kind != "external" or roles.learner_of(server) is not None:
        return None
    group = roles.group_role(workshop)
    with admin(server) as conn:
        row = conn.execute(
            "SELECT shobj_description(g.oid, 'pg_authid') = %s AND "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
            "FROM pg_roles g WHERE g.rolname = %s",
            (roles.CLASS_COMMENT, group),
        ).fetchone()
    return group if row and row[0] else None


def check_as_throwaway_role(
    server: Server, group: str, number: str, project: Path | str, timeout: float | None
) -> Report:
    """Grade `project` for lesson `number` in a fresh interpreter logged in as a throwaway role."""
    from course_db.workshop import learner_url

    role = f"{group}_grader{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    with admin(server) as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} WITH LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS CONNECTION LIMIT 40 PASSWORD {} "
                "VALID UNTIL {} IN ROLE {}"
            ).format(
                sql.Identifier(role),
                sql.Literal(password),
                sql.Literal(_in_an_hour(conn)),
                sql.Identifier(group),
            )
        )
    try:
        env = {key: value for key, value in os.environ.items() if key not in NOT_PASSED}
        env["COURSE_DATABASE_URL"] = learner_url(server, role, password, None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        argv = [sys.executable, "-m", "course_db.grading_role", number, str(project)]
        argv += [str(timeout)] if timeout else []
        limit = (timeout or 600.0) + SLACK
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return Report(
                lesson=number,
                error=f"Grading {project} did not finish in {limit:.0f} s.",
                tip="run it again with --verbose; report it if it keeps happening.",
            )
        lines = done.stdout.strip().splitlines()
        try:
            return Report.from_dict(json.loads(lines[-1]))
        except (IndexError, ValueError, KeyError):
            return Report(
                lesson=number,
                error="The grading process ended without an answer.",
                tip="run it again with --verbose and report what it prints.",
                detail=done.stderr[-4000:],
            )
    finally:
        drop_role(server, role)


def _in_an_hour(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT (now() + interval '1 hour')::text").fetchone()
    return str(row[0]) if row else "infinity"


def drop_role(server: Server, role: str) -> None:
    """End the role's sessions, drop every database it owns, then the role."""
    from course_db.class_templates import drop_any

    ident = sql.Identifier(role)
    with admin(server) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(ident))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        owned = conn.execute(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s", (role,)
        ).fetchall()
        for (name,) in owned:
            drop_any(conn, name)
        conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))


def _main(argv: list[str]) -> None:
    """In the throwaway role's interpreter: grade, print the report as one JSON line."""
    from course_db.isolation import settle
    from course_db.runner import run_check

    number, project = argv[0], argv[1]
    timeout = float(argv[2]) if len(argv) > 2 else None
    report = run_check(number, project, timeout)
    settle()
    sys.stdout.write("\n" + json.dumps(report.to_dict()) + "\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
