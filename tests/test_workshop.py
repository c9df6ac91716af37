"""`course workshop`: learner roles, the class's templates and progress, one learner's whole course.

The server tests run on the PostgreSQL service (COURSE_DATABASE_URL set) and skip on the embedded
server, which has one user. Each module makes its own class with a random name and ends it.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator

import pytest
from workshop_support import Class, a_class, course, learner_env, needs_service

from course_db import roles, workshop
from course_db.errors import SetupError
from course_db.lessons import template_sources
from course_db.paths import ROOT
from course_db.server import Server, get_server


def test_learner_names_are_normalized_and_must_not_collide() -> None:
    assert roles.validate_names(["Ana-María", "bob.k", "carl2"]) == {
        "anamara": "Ana-María",
        "bobk": "bob.k",
        "carl2": "carl2",
    }
    with pytest.raises(SetupError, match="would both become the learner 'ana'"):
        roles.validate_names(["ana", "A.N.A"])
    for bad in ("", "2ana", "x" * 19, "grader1", "___"):
        with pytest.raises(SetupError):
            roles.validate_names([bad])
    with pytest.raises(SetupError, match="cannot name a workshop"):
        roles.group_role("a-very-long-class-name")


@pytest.mark.skipif(bool(os.environ.get("COURSE_DATABASE_URL")), reason="embedded server only")
def test_workshop_refuses_the_embedded_server() -> None:
    with pytest.raises(SetupError, match="shared PostgreSQL server") as caught:
        workshop.init(get_server(), "nope", ["ana"])
    assert "COURSE_DATABASE_URL" in caught.value.tip


@pytest.fixture(scope="module")
def klass() -> Iterator[Class]:
    with a_class(["ana", "bob"]) as made:
        yield made


@needs_service
def test_workshop_init_writes_one_join_line_per_learner_mode_600(klass: Class) -> None:
    path = workshop.join_file(klass.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    lines = path.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["ana", "bob"]
    for line, name in zip(lines, ["ana", "bob"], strict=True):
        assert line.endswith(klass.urls[name])
        assert f"export COURSE_DATABASE_URL=postgresql+psycopg://{klass.role(name)}:" in line


@needs_service
def test_workshop_init_again_is_safe_and_keeps_passwords(klass: Class) -> None:
    again = workshop.init(klass.server, klass.name, ["ana", "bob"])
    assert {line.name: line.url for line in again} == klass.urls
    assert course(klass.urls["ana"], "db", "status").returncode == 0  # the password still works


@needs_service
def test_workshop_learner_roles_are_unprivileged_members_of_the_class(klass: Class) -> None:
    rows = klass.admin_sql(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
        "rolconnlimit, pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles "
        "WHERE rolname IN (%s, %s, %s) ORDER BY rolname",
        (klass.group, klass.group, klass.role("ana"), klass.role("bob")),
    )
    group, ana, bob = rows
    assert group[1:6] == (False, False, False, False, False)  # NOLOGIN, nothing else
    for learner in (ana, bob):
        assert learner[1:] == (
            True,
            False,
            False,
            True,
            False,
            workshop.DEFAULT_CONNECTION_LIMIT,
            True,
        )


@needs_service
def test_workshop_templates_belong_to_the_instructor_their_objects_to_the_class(
    klass: Class,
) -> None:
    templates = klass.admin_sql(
        "SELECT datname, pg_get_userbyid(datdba), datistemplate, datallowconn FROM pg_database "
        "WHERE datname LIKE %s ORDER BY datname",
        (klass.group + "\\_%\\_template",),
    )
    assert len(templates) == len(template_sources())
    assert {row[1:] for row in templates} == {(klass.server.user, True, False)}
    # In a learner's clone the tables belong to the class's group role, the schema to the learner.
    assert course(klass.urls["ana"], "reset", "01").returncode == 0
    exercise = f"{klass.role('ana')}_01_exercise"
    owners = klass.admin_sql(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
        dbname=exercise,
    )
    assert owners == [(klass.group,)]
    schema = klass.admin_sql(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'",
        dbname=exercise,
    )
    assert schema == [("pg_database_owner",)]


@needs_service
def test_workshop_needs_an_admin_url(klass: Class) -> None:
    result = course(klass.urls["ana"], "workshop", "board", "--workshop", klass.name)
    assert result.returncode == 2
    assert "needs a superuser" in result.stderr and "TIP" in result.stderr
    assert "Traceback" not in result.stderr


@needs_service
def test_workshop_learner_runs_lesson01_as_on_the_embedded_server(klass: Class) -> None:
    """Starter fails and is recorded, solution passes, `course list`, reset and alembic work."""
    url = klass.urls["ana"]
    starter = course(url, "check", "01")
    assert starter.returncode == 1, starter.stdout + starter.stderr
    assert "FAIL  Task 2" in starter.stdout
    solution = course(url, "check", "01", COURSE_SOURCE="solutions")
    assert solution.returncode == 0, solution.stdout + solution.stderr
    listing = course(url, "list")
    assert listing.returncode == 0, listing.stderr
    assert "01  Alembic vs Drizzle Kit" in listing.stdout and "in progress" in listing.stdout
    assert course(url, "reset", "01").returncode == 0
    current = course(url, "alembic", "01", "--", "current")
    assert current.returncode == 0, current.stdout + current.stderr
    status = course(url, "db", "status")
    assert f"Prefix:    {klass.role('ana')}" in status.stdout
    # Every database the learner's course made is the learner's, closed to everybody else, and
    # cloned from the class's templates: no template of their own.
    made = klass.admin_sql(
        "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database "
        "WHERE datname LIKE %s",
        (klass.role("ana") + "\\_%",),
    )
    assert made, "the learner's course made no database"
    for name, owner, acl in made:
        assert owner == klass.role("ana"), name
        assert acl == "{" + f"{owner}=CTc/{owner}" + "}", (name, acl)
        assert not name.endswith("_template") and "_spare" not in name
    progress = klass.admin_sql(
        "SELECT prefix, lesson, status, failing_task FROM progress",
        dbname=roles.progress_db(klass.group),
    )
    assert progress == [(klass.role("ana"), "01", "failed", 2)]


@needs_service
def test_workshop_learner_passes_every_lesson_with_course_verify(klass: Class) -> None:
    """Lesson 05's second sessions, lesson 06's per-test databases, lesson 08's second database."""
    result = course(klass.urls["bob"], "verify", timeout=600)
    failed = [line for line in result.stdout.splitlines() if not line.startswith("PASS")]
    assert result.returncode == 0, "\n".join(failed) + result.stderr[-3000:]
    assert result.stdout.count("checks passed. Well done!") == len(template_sources()) - 1
    assert klass.leftovers("bob") == []  # each check's databases, once its clean-up ran


@needs_service
def test_workshop_board_shows_each_learner_and_lesson(klass: Class) -> None:
    result = course(klass.server.url(), "workshop", "board", "--workshop", klass.name)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["learner", "01", "02"]
    ana = next(line for line in lines if line.startswith("ana "))
    bob = next(line for line in lines if line.startswith("bob "))
    assert ana.split()[1] in ("task", "passed")  # ana's exercise fails at task 2 (test order)
    assert bob.split()[1:3] == ["-", "-"]  # `course verify` grades solutions: not progress


@needs_service
def test_workshop_end_saves_progress_and_drops_every_role_and_database() -> None:
    with a_class(["zoe"]) as made:
        url, admin = made.urls["zoe"], made.server.url()
        assert course(url, "check", "01").returncode == 1
        assert course(url, "reset", "01").returncode == 0
        refused = course(admin, "workshop", "end", "--workshop", made.name)
        assert refused.returncode == 2 and "--yes" in refused.stderr  # no terminal: no question
        ended = course(admin, "workshop", "end", "--workshop", made.name, "--yes")
        assert ended.returncode == 0, ended.stderr
        assert "Dropped 1 role(s)" in ended.stdout
        csv_path = ended.stdout.split("progress to ", 1)[1].split(".csv", 1)[0] + ".csv"
        with open(csv_path) as handle:
            text = handle.read()
        assert text.splitlines()[0].startswith("learner,lesson,status")
        assert "zoe,01,failed,1,4,2," in text
        assert (
            made.admin_sql(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (made.group + "%",)
            )
            == []
        )
        assert (
            made.admin_sql(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (made.group + "\\_%",)
            )
            == []
        )
        assert not workshop.join_file(made.name).exists()
        gone = course(url, "list")
        assert gone.returncode == 2 and "Traceback" not in gone.stderr


def server_of(url: str) -> Server:
    from course_db.server import parse_admin_url

    return parse_admin_url(url)


@needs_service
def test_a_hand_made_role_outside_any_class_gets_a_tip_not_a_traceback(klass: Class) -> None:
    """The issue's CREATEDB-only login made by hand: `course list` explains instead of crashing."""
    role = f"{klass.group}x"  # not a member of the class: a plain login
    password = "handmade-pw-1"
    klass.admin_sql(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'")
    try:
        url = re.sub(r"//[^:]+:[^@]+@", f"//{role}:{password}@", klass.urls["ana"])
        listing = course(url, "list")
        assert "Traceback" not in listing.stderr, listing.stderr
        assert listing.returncode in (0, 2), listing.stderr
        if listing.returncode == 2:
            assert "ERROR" in listing.stderr and "TIP" in listing.stderr
    finally:
        made = klass.admin_sql(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s", (role,)
        )
        for (name,) in made:  # course_progress, had it not existed yet
            klass.admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        klass.admin_sql(f"DROP OWNED BY {role}")
        klass.admin_sql(f"DROP ROLE {role}")


NBVAL = [sys.executable, "-m", "pytest", "--nbval-lax", "-n0", "-p", "no:cacheprovider", "-q"]


@needs_service
@pytest.mark.parametrize("notebook", ["01_alembic_vs_drizzle.ipynb", "08_multiple_databases.ipynb"])
def test_workshop_learner_runs_a_notebook(klass: Class, notebook: str) -> None:
    """The notebook's walkthrough (demo and exercise databases, %alembic, %sql, check()) as a
    learner: every cell runs (outputs differ from the committed ones only where servers do)."""
    done = subprocess.run(
        [*NBVAL, str(ROOT / "notebooks" / notebook)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=learner_env(klass.urls["ana"]),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    owners = klass.admin_sql(
        "SELECT DISTINCT pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE %s",
        (klass.role("ana") + "\\_%",),
    )
    assert owners in ([], [(klass.role("ana"),)])


@needs_service
def test_a_full_connection_limit_is_named_with_what_to_do() -> None:
    """When everybody checks at once, connection slots run out first: say so, not a traceback."""
    from course_db.databases import admin
    from course_db.server import parse_admin_url

    server = get_server()
    role = "course_tfull_" + os.urandom(3).hex()
    with admin(server) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        crowded = parse_admin_url(
            f"postgresql+psycopg://{role}@{server.host}:{server.port or 5432}/postgres"
        )
        with pytest.raises(SetupError) as caught, admin(crowded):
            pass
        assert "too many connections for role" in caught.value.message
        assert caught.value.tip.startswith("your role has all its connections in use")
    finally:
        with admin(server) as conn:
            conn.execute(f"DROP ROLE {role}")
