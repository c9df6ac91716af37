"""The class's templates, built once by the instructor for every learner of a workshop.

The objects inside a clone keep the template's owner, so they are created as the class's group
role (`SET ROLE`): in every learner's clone they are the learner's to migrate (a learner is a
member of the group). The template database itself stays the instructor's, so no learner can
unmark it (`IS_TEMPLATE false`) or drop it. Measured in research/tooling.md, "PostgreSQL roles for
a shared server".
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from course_db import roles
from course_db.databases import MARKER, admin, comment_of, fixture_hash
from course_db.errors import SetupError
from course_db.lessons import template_sources
from course_db.server import Server


def ensure_templates(server: Server, group: str) -> list[str]:
    """Build the class's templates that are missing or stale; return the names it built."""
    return [
        name
        for key, fixture in template_sources()
        if (name := build_template(server, group, key, fixture))
    ]


def class_marker(group: str, fixture: Path) -> str:
    return f"{MARKER} prefix={group} fixture={fixture_hash(fixture)}"


def build_template(server: Server, group: str, key: str, fixture: Path) -> str | None:
    """Build `course_<class>_<key>_template`, its objects owned by the group; None if up to date."""
    name, wanted = roles.class_template(group, key), class_marker(group, fixture)
    ident = sql.Identifier(name)
    with admin(server) as conn:
        if comment_of(conn, name) == wanted:
            return None
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        if comment_of(conn, name) == wanted:
            return None
        drop_class_database(conn, group, name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                ident, sql.Literal(f"{MARKER} prefix={group} building")
            )
        )
        group_ident = sql.Identifier(group)
        with psycopg.connect(**server.conninfo(name), autocommit=True) as build:
            # The group owns `public` while the fixture runs (some fixtures comment on it), then
            # gives it back to pg_database_owner: in a clone, that is the learner.
            build.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(group_ident))
            build.execute(sql.SQL("SET ROLE {}").format(group_ident))
            build.execute(fixture.read_text())
            build.execute("RESET ROLE")
            build.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
            build.execute("VACUUM ANALYZE")
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true").format(ident)
        )
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(ident, sql.Literal(wanted)))
    return name


def drop_class_database(conn: psycopg.Connection, group: str, name: str) -> bool:
    """Drop a database the class's `init` made (template or progress); False if there is none."""
    comment = comment_of(conn, name)
    if comment is None:
        return False
    if not comment.startswith(f"{MARKER} prefix={group} "):
        raise SetupError(f"A database named {name} exists and is not this workshop's.")
    drop_any(conn, name)
    return True


def drop_any(conn: psycopg.Connection, name: str) -> None:
    """Drop `name`, a template or not, even one a terminated check left half-dropped."""
    ident = sql.Identifier(name)
    # An interrupted DROP leaves a database "invalid" (datconnlimit -2): only DROP works on it,
    # and an ALTER would end this session with a FATAL error.
    row = conn.execute(
        "SELECT datistemplate AND datconnlimit <> -2 FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    if row is None:
        return  # a check's own clean-up dropped it meanwhile
    if row[0]:
        conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident))
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
