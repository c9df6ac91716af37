"""Learner Ana's revision attacks learner Bob: each attack fails, Bob's work stays.

Every attack is a real revision in a copy of lesson 01's solution, graded by `course check 01
--project` in Ana's shell (her join line's URL, nothing else), so it runs exactly where a learner's
code runs: in the check's child process, with her role. It writes what PostgreSQL answered to a
file and raises. Runs on the PostgreSQL 15 service; the embedded server has one user.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from workshop_support import Class, a_class, course, needs_service

from course_db.lessons import get_lesson
from course_db.roles import progress_db
from course_db.server import parse_admin_url

pytestmark = needs_service

REVISION = Path("migrations/versions/0001_author_slugs.py")

HOSTILE = '''"""A hostile revision."""
import os

import psycopg
from alembic import op
from sqlalchemy.engine import make_url

revision = "0001_author_slugs"
down_revision = None
branch_labels = None
depends_on = None

RESULT = {result!r}
VICTIM_ROLE = {victim_role!r}
VICTIM_DB = {victim_db!r}
PROGRESS_DB = {progress_db!r}
ADMIN_URL = {admin_url!r}


def dsn(dbname):
    """Ana's own credentials (from the DATABASE_URL the course gave her), another database."""
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql", database=dbname)
    return url.render_as_string(hide_password=False)


def attack():
{body}


def upgrade():
    try:
        attack()
        outcome = "no error: the attack worked"
    except Exception as exc:
        outcome = f"{{type(exc).__name__}}: {{exc}}"
    with open(RESULT, "w") as handle:
        handle.write(outcome)
    raise RuntimeError("the attack ended: " + outcome)


def downgrade():
    pass
'''

ATTACKS = {
    "connect_to_victims_database": (
        "psycopg.connect(dsn(VICTIM_DB)).close()",
        "User does not have CONNECT privilege",
    ),
    "drop_victims_database": (
        """
with psycopg.connect(dsn("postgres"), autocommit=True) as conn:
    conn.execute(f'DROP DATABASE "{VICTIM_DB}" WITH (FORCE)')
""",
        "must be owner of database",
    ),
    "update_victims_progress_row": (
        """
with psycopg.connect(dsn(PROGRESS_DB), autocommit=True) as conn:
    conn.execute("UPDATE progress SET status = 'passed', checks = 0 WHERE prefix = %s",
                 (VICTIM_ROLE,))
""",
        "permission denied for table progress",
    ),
    "insert_a_progress_row_for_the_victim": (
        """
with psycopg.connect(dsn(PROGRESS_DB), autocommit=True) as conn:
    conn.execute("INSERT INTO progress (prefix, lesson, status, passed_tasks, total_tasks) "
                 "VALUES (%s, '02', 'passed', 5, 5)", (VICTIM_ROLE,))
""",
        "permission denied for table progress",
    ),
    "copy_to_program": (
        "op.execute(\"COPY (SELECT 1) TO PROGRAM 'id > /tmp/course-attack-pwned'\")",
        "pg_execute_server_program",
    ),
    "read_server_files": (
        """
op.execute("CREATE TABLE loot (line text)")
op.execute("COPY loot FROM '/etc/passwd'")
""",
        "pg_read_server_files",
    ),
    "terminate_victims_session": (
        """
with psycopg.connect(dsn("postgres"), autocommit=True) as conn:
    pids = conn.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s",
                        (VICTIM_ROLE,)).fetchall()
    assert pids, "the victim's session is not visible"
    for (pid,) in pids:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
""",
        "must be a member of the role whose process is being terminated",
    ),
    "create_a_role": (
        "op.execute(\"CREATE ROLE course_attack_evil LOGIN PASSWORD 'x'\")",
        "permission denied to create role",
    ),
    "read_the_admin_url_from_the_environment": (
        """
with open("/proc/self/environ", "rb") as handle:
    raw = handle.read().decode(errors="replace")
leaked = [key for key, value in os.environ.items() if ADMIN_URL in value]
if leaked or ADMIN_URL in raw:
    return
me = make_url(os.environ["DATABASE_URL"]).username
course = make_url(os.environ["COURSE_DATABASE_URL"]).username
raise LookupError(f"no admin URL in the environment; DATABASE_URL is {me}, "
                  f"COURSE_DATABASE_URL is {course}")
""",
        "no admin URL in the environment",
    ),
}


@pytest.fixture(scope="module")
def klass() -> Iterator[Class]:
    with a_class(["ana", "bob"]) as made:
        bob = made.urls["bob"]
        assert course(bob, "reset", "01").returncode == 0
        assert course(bob, "alembic", "01", "--", "upgrade", "head").returncode == 0
        assert course(bob, "check", "01").returncode == 1  # a recorded "failed" row
        yield made


def victim_db(klass: Class) -> str:
    return f"{klass.role('bob')}_01_exercise"


def victims_work(klass: Class) -> tuple:
    """What an attack must leave as it was: Bob's database, its data and his progress row."""
    tables = klass.admin_sql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
        "WHERE schemaname = 'public'",
        dbname=victim_db(klass),
    )
    authors = klass.admin_sql("SELECT count(*) FROM authors", dbname=victim_db(klass))
    version = klass.admin_sql("SELECT version_num FROM alembic_version", dbname=victim_db(klass))
    row = klass.admin_sql(
        "SELECT prefix, lesson, status, passed_tasks, checks, last_checked_at FROM progress",
        dbname=progress_db(klass.group),
    )
    return tables, authors, version, row


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_fails_and_the_victims_work_stays(attack: str, klass: Class, tmp_path: Path) -> None:
    _, expected = ATTACKS[attack]
    before = victims_work(klass)
    assert before[3] and before[3][0][:3] == (klass.role("bob"), "01", "failed")
    project, result = hostile_project(tmp_path, klass, attack)
    victim = bob_session(klass)  # a live session of Bob's, for the attack that ends it
    try:
        graded = course(klass.urls["ana"], "check", "01", "--project", str(project))
        assert graded.returncode == 1, graded.stdout + graded.stderr
        assert "Traceback" not in graded.stderr
        outcome = result.read_text()
        assert expected in outcome, outcome
        assert victim.execute("SELECT 1").fetchone() == (1,)  # Bob's session is still alive
    finally:
        victim.close()
    assert victims_work(klass) == before
    assert not Path("/tmp/course-attack-pwned").exists()
    roles = klass.admin_sql("SELECT 1 FROM pg_roles WHERE rolname = 'course_attack_evil'")
    assert roles == []


def bob_session(klass: Class) -> psycopg.Connection:
    server = parse_admin_url(klass.urls["bob"])
    return psycopg.connect(**server.conninfo(victim_db(klass)), autocommit=True)  # type: ignore[arg-type]


def test_a_learner_reads_only_their_own_progress(klass: Class) -> None:
    """Row-level security: Ana's SELECT sees no row of Bob's; the instructor sees them all."""
    ana = parse_admin_url(klass.urls["ana"])
    with psycopg.connect(**ana.conninfo(progress_db(klass.group)), autocommit=True) as conn:  # type: ignore[arg-type]
        seen = conn.execute("SELECT prefix FROM progress").fetchall()
        assert all(prefix == klass.role("ana") for (prefix,) in seen), seen
        conn.execute("SELECT record_progress('02', 'passed', 1, 1, NULL)")  # her own row only
        mine = conn.execute("SELECT prefix, lesson FROM progress").fetchall()
        assert (klass.role("ana"), "02") in mine
    everyone = klass.admin_sql(
        "SELECT DISTINCT prefix FROM progress", dbname=progress_db(klass.group)
    )
    assert {klass.role("bob"), klass.role("ana")} <= {prefix for (prefix,) in everyone}


def hostile_project(tmp_path: Path, klass: Class, attack: str) -> tuple[Path, Path]:
    """A copy of lesson 01's solution whose revision runs `attack`; (project, result file)."""
    body, _ = ATTACKS[attack]
    project = tmp_path / attack
    shutil.copytree(get_lesson("01").solution_dir, project)
    result = tmp_path / f"{attack}.txt"
    (project / REVISION).write_text(
        HOSTILE.format(
            result=str(result),
            victim_role=klass.role("bob"),
            victim_db=victim_db(klass),
            progress_db=progress_db(klass.group),
            admin_url=os.environ["COURSE_DATABASE_URL"],
            body=textwrap.indent(textwrap.dedent(body).strip(), "    "),
        )
    )
    return project, result


@pytest.mark.parametrize(
    "attack",
    ["connect_to_victims_database", "read_the_admin_url_from_the_environment", "create_a_role"],
)
def test_instructor_grading_a_hostile_folder_runs_it_as_a_throwaway_role(
    attack: str, klass: Class, tmp_path: Path
) -> None:
    """`course check 01 --project` with the admin URL: the folder's code is not the admin."""
    _, expected = ATTACKS[attack]
    before = victims_work(klass)
    project, result = hostile_project(tmp_path, klass, attack)
    admin_url = os.environ["COURSE_DATABASE_URL"]
    graded = course(admin_url, "check", "01", "--project", str(project), "--workshop", klass.name)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    outcome = result.read_text()
    assert expected in outcome, outcome
    if attack == "read_the_admin_url_from_the_environment":
        assert f"DATABASE_URL is {klass.group}_grader" in outcome, outcome
    assert victims_work(klass) == before
    # The throwaway role and everything it made are gone.
    assert (
        klass.admin_sql(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (klass.group + "\\_grader%",)
        )
        == []
    )
    assert (
        klass.admin_sql(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (klass.group + "\\_grader%",)
        )
        == []
    )


def test_instructor_grading_a_good_folder_as_a_throwaway_role_passes(
    klass: Class, tmp_path: Path
) -> None:
    project = tmp_path / "good"
    shutil.copytree(get_lesson("01").solution_dir, project)
    admin_url = os.environ["COURSE_DATABASE_URL"]
    graded = course(admin_url, "check", "01", "--project", str(project), "--workshop", klass.name)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "all 4 checks passed" in graded.stdout
