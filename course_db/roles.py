"""Who the course is connected as: a server's admin, or one learner of a workshop's class.

On a shared server every learner logs in as a PostgreSQL role of their own
(`course_<class>_<name>`), a member of the class's NOLOGIN group role (`course_<class>`, marked by
its role comment). The learner's identity is that role, not an environment variable they could
change: it is the prefix of every database their course creates, and the key of their progress rows.
Learner code then runs with the learner's own rights, which reach only the learner's own databases.

A learner role cannot build templates (the objects inside a clone keep the template's owner, and a
template owned by a learner could be dropped or unmarked by the others), so it clones the class's
templates, built once by the instructor (`workshop.py`), and never keeps spare databases: on a
server shared by a class, disk is the scarce thing, and a clone costs tens of milliseconds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg

from course_db.errors import SetupError
from course_db.server import Server, parse_admin_url

CLASS_COMMENT = "alembic-course workshop"  # the comment that marks a class's group role
ROLE_PREFIX = "course_"
MAX_CLASS = 10  # role and database names stay within the course's 37-character prefix limit
MAX_NAME = 18
RESERVED = {"grader"}  # `--project` checks run as throwaway roles named course_<class>_grader...


@dataclass(frozen=True)
class Learner:
    """The learner a connection belongs to, and the class they are in."""

    role: str  # course_<class>_<name>: also the prefix of every database they create
    group: str  # course_<class>: the class's templates and progress database carry this name

    @property
    def progress_db(self) -> str:
        return progress_db(self.group)

    def template(self, key: str) -> str:
        return class_template(self.group, key)


def group_role(workshop: str) -> str:
    """`course_<workshop>`: the NOLOGIN role every learner of the class is a member of."""
    cleaned = normalize(workshop)
    if not cleaned or len(cleaned) > MAX_CLASS or not cleaned[0].isalpha():
        raise SetupError(
            f"'{workshop}' cannot name a workshop.",
            tip=f"use 1-{MAX_CLASS} letters and digits, starting with a letter (e.g. `class`).",
        )
    return ROLE_PREFIX + cleaned


def learner_role(group: str, name: str) -> str:
    return f"{group}_{normalize(name)}"


def progress_db(group: str) -> str:
    return f"{group}_progress"


def class_template(group: str, key: str) -> str:
    return f"{group}_{key}_template"


def normalize(name: str) -> str:
    """Lower case, letters and digits only: `Ana-María` -> `anamara`, `Bob.K` -> `bobk`.

    No underscores, so `course_class_ana` can never be the start of another learner's role.
    """
    return re.sub(r"[^a-z0-9]+", "", name.strip().lower())


def validate_names(names: list[str]) -> dict[str, str]:
    """{normalized name: name as given}; refuses a name that is empty, too long or collides."""
    seen: dict[str, str] = {}
    for given in names:
        short = normalize(given)
        if not short or not short[0].isalpha() or len(short) > MAX_NAME:
            raise SetupError(
                f"'{given}' cannot be a learner's name.",
                tip=f"use 1-{MAX_NAME} letters and digits, starting with a letter.",
            )
        if short in RESERVED or short.startswith("grader"):
            raise SetupError(f"'{given}' is reserved by the course.", tip="pick another name.")
        if short in seen:
            raise SetupError(
                f"'{seen[short]}' and '{given}' would both become the learner '{short}'.",
                tip="make the names differ in their letters or digits (e.g. `ana2`).",
            )
        seen[short] = given
    return seen


_known: dict[Server, Learner | None] = {}


def learner_of(server: Server) -> Learner | None:
    """The learner `server`'s user is, or None for a superuser, the embedded server or a plain role.

    One query per process and server: answers are cached, a failed connection is not (a server
    that was down a moment must not turn a learner into an admin for a whole notebook session).
    """
    if server.kind != "external":
        return None
    if server not in _known:
        try:
            _known[server] = _ask(server)
        except _Unreachable:
            return None  # the caller's own connection reports the problem, with its TIP
    return _known[server]


class _Unreachable(Exception):
    """The server did not answer the question: nothing to cache."""


def _ask(server: Server) -> Learner | None:
    try:
        with psycopg.connect(**server.conninfo(), autocommit=True) as conn:
            rows = conn.execute(
                """
                SELECT r.rolsuper, g.rolname
                FROM pg_roles r
                LEFT JOIN pg_auth_members m ON m.member = r.oid
                LEFT JOIN pg_roles g ON g.oid = m.roleid
                     AND shobj_description(g.oid, 'pg_authid') = %s
                WHERE r.rolname = current_user
                """,
                (CLASS_COMMENT,),
            ).fetchall()
    except psycopg.OperationalError:
        raise _Unreachable from None
    if not rows or rows[0][0]:
        return None
    groups = sorted(group for _, group in rows if group)
    return Learner(server.user, groups[0]) if groups else None


def current_learner() -> Learner | None:
    """The learner of `COURSE_DATABASE_URL`, if it names a learner's role."""
    url = os.environ.get("COURSE_DATABASE_URL", "").strip()
    if not url:
        return None
    try:
        return learner_of(parse_admin_url(url))
    except SetupError:
        return None  # get_server() reports a bad URL where it matters


def missing_template(learner: Learner, key: str) -> SetupError:
    return SetupError(
        f"Your class has no up-to-date template for {key} ({learner.template(key)}).",
        tip="ask your instructor to run `uv run course workshop init` again (it is safe to "
        "re-run): it builds the class's templates for the current lessons.",
    )
