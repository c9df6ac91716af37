"""Names and prefixes, templates built from fixtures, clones, and what the course may drop."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from course_db import databases
from course_db.errors import SetupError
from course_db.inspection import connect
from course_db.server import Server

FIXTURE = "CREATE TABLE things (id integer PRIMARY KEY, label text);\n"


def write_fixture(folder: Path, rows: int) -> Path:
    path = folder / "things.sql"
    values = ", ".join(f"({i}, 'thing {i}')" for i in range(1, rows + 1))
    path.write_text(FIXTURE + f"INSERT INTO things VALUES {values};\n")
    return path


def database_info(server: Server, name: str) -> tuple[int, bool, bool] | None:
    """(oid, datistemplate, datallowconn) of a database, or None if it does not exist."""
    with databases.admin(server) as conn:
        return conn.execute(
            "SELECT oid::int, datistemplate, datallowconn FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()


def count_things(url: str) -> int:
    with connect(url) as conn:
        return conn.execute("SELECT count(*) FROM things").fetchone()[0]


@pytest.fixture
def template98(server: Server, tmp_path: Path) -> Iterator[str]:
    """A small template for a made-up lesson 98, dropped afterwards."""
    name = databases.ensure_template(server, "98", write_fixture(tmp_path, 3))
    yield name
    databases.drop_database(server, name)


def test_prefix_from_course_learner_is_sanitised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_DB_PREFIX")
    monkeypatch.setenv("COURSE_LEARNER", "ana_lopez")
    assert databases.prefix() == "course_ana_lopez"  # a clean name is kept as it is
    monkeypatch.setenv("COURSE_LEARNER", "  Ana María-López! ")
    assert re.fullmatch(r"course_ana_mar_a_l_pez_[0-9a-f]{6}", databases.prefix())
    monkeypatch.setenv("COURSE_LEARNER", "x" * 50)
    assert re.fullmatch(r"course_x{23}_[0-9a-f]{6}", databases.prefix())


@pytest.mark.parametrize(
    "names",
    [("Ana", "ana"), ("ana.b", "ana-b", "ana_b"), ("x" * 30 + "1", "x" * 30 + "2", "x" * 30)],
)
def test_distinct_learners_never_share_a_prefix(
    names: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COURSE_DB_PREFIX")
    prefixes = set()
    for name in names:
        monkeypatch.setenv("COURSE_LEARNER", name)
        prefixes.add(databases.prefix())
    assert len(prefixes) == len(names)
    assert all(len(prefix) <= len("course_") + databases.NAME_ROOM for prefix in prefixes)


def test_empty_prefix_file_gets_its_own_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COURSE_DB_PREFIX")
    monkeypatch.delenv("COURSE_LEARNER", raising=False)
    monkeypatch.setattr(databases, "STATE", tmp_path)
    (tmp_path / "prefix").write_text("\n")
    with pytest.raises(SetupError) as caught:
        databases.prefix()
    assert ".course/prefix" in caught.value.message
    assert "COURSE_LEARNER" not in caught.value.message + caught.value.tip


def test_prefix_from_unusable_course_learner_raises_setup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COURSE_DB_PREFIX")
    monkeypatch.setenv("COURSE_LEARNER", "¡¿!?")
    with pytest.raises(SetupError) as caught:
        databases.prefix()
    assert "COURSE_LEARNER" in caught.value.tip


def test_prefix_override_wins_over_course_learner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_LEARNER", "ana")
    monkeypatch.setenv("COURSE_DB_PREFIX", "Course-CI Run 7")
    assert re.fullmatch(r"course_ci_run_7_[0-9a-f]{6}", databases.prefix())


def test_prefix_of_the_test_run_is_per_worker() -> None:
    assert re.fullmatch(r"course_[a-z0-9_]+_t_(main|gw\d+)", databases.prefix())


def test_db_name_has_prefix_lesson_and_role() -> None:
    name = databases.db_name("01", "exercise")
    assert name == f"{databases.prefix()}_01_exercise"
    assert re.fullmatch(r"[a-z0-9_]+", name) and len(name) <= 63


def test_ensure_template_builds_once_closed_to_connections(server: Server, tmp_path: Path) -> None:
    fixture = write_fixture(tmp_path, 3)
    name = databases.ensure_template(server, "99", fixture)
    try:
        assert name == databases.db_name("99", "template")
        info = database_info(server, name)
        assert info is not None
        _, is_template, allow_connections = info
        assert is_template and not allow_connections
        with databases.admin(server) as conn:
            comment = databases.comment_of(conn, name)
        assert comment == databases.marker(f"fixture={databases.fixture_hash(fixture)}")
        with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
            psycopg.connect(**server.conninfo(name)).close()  # type: ignore[arg-type]

        assert databases.ensure_template(server, "99", fixture) == name
        assert database_info(server, name) == info  # same oid: not rebuilt
    finally:
        databases.drop_database(server, name)
    assert database_info(server, name) is None


def test_ensure_template_rebuilds_when_fixture_text_changes(server: Server, tmp_path: Path) -> None:
    fixture = write_fixture(tmp_path, 3)
    name = databases.ensure_template(server, "99", fixture)
    try:
        old = database_info(server, name)
        clone = databases.db_name("99", "probe")
        assert count_things(databases.clone(server, name, clone)) == 3

        write_fixture(tmp_path, 5)
        assert databases.ensure_template(server, "99", fixture) == name
        new = database_info(server, name)
        assert old is not None and new is not None
        assert new[0] != old[0] and new[1:] == (True, False)
        assert count_things(databases.clone(server, name, clone)) == 5  # the clone is replaced
        databases.drop_database(server, clone)
    finally:
        databases.drop_database(server, name)


def test_clone_concurrently_from_one_template_all_succeed(server: Server, template98: str) -> None:
    names = [databases.db_name("98", f"parallel_{i}") for i in range(8)]
    barrier = threading.Barrier(len(names))
    urls: dict[str, str] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            urls[name] = databases.clone(server, template98, name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not errors, errors
        assert sorted(urls) == sorted(names)
        assert all(count_things(urls[name]) == 3 for name in names)
        assert set(names) <= set(databases.course_databases(server))
    finally:
        for name in names:
            databases.drop_database(server, name)
    assert not set(names) & set(databases.course_databases(server))


def test_drop_refuses_a_database_without_the_marker(server: Server) -> None:
    name = databases.db_name("98", "made_by_hand")
    ident = sql.Identifier(name)
    with databases.admin(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        with pytest.raises(SetupError) as caught:
            databases.drop_database(server, name)
        assert name in caught.value.message and caught.value.tip
        assert database_info(server, name) is not None
        assert name not in databases.course_databases(server)
    finally:
        with databases.admin(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))


def test_drop_of_a_missing_database_does_nothing(server: Server) -> None:
    databases.drop_database(server, databases.db_name("98", "never_created"))


def test_two_prefixes_do_not_see_each_others_databases(
    server: Server, template98: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = databases.prefix()
    other = ours + "_x"  # a longer prefix: LIKE 'ours\_%' matches its names, the marker must not
    monkeypatch.setenv("COURSE_DB_PREFIX", other)
    theirs = databases.db_name("98", "exercise")
    databases.clone(server, template98, theirs)
    try:
        assert databases.course_databases(server) == [theirs]
        monkeypatch.setenv("COURSE_DB_PREFIX", ours)
        mine = databases.clone(server, template98, databases.db_name("98", "exercise"))
        listed = databases.course_databases(server)
        assert theirs not in listed
        assert databases.db_name("98", "exercise") in listed and mine
        with pytest.raises(SetupError):
            databases.drop_database(server, theirs)  # not ours: left alone
    finally:
        monkeypatch.setenv("COURSE_DB_PREFIX", other)
        databases.drop_database(server, theirs)
        monkeypatch.setenv("COURSE_DB_PREFIX", ours)
        databases.drop_database(server, databases.db_name("98", "exercise"))


def test_an_interrupted_drop_does_not_block_the_next_reset(server) -> None:
    """Found while building lesson 04: concurrent runs can interrupt a DROP DATABASE, which leaves
    the database "invalid" (datconnlimit -2). An ALTER on it is a FATAL error that ends the
    session, so `databases.drop` must go straight to DROP for such a database."""
    name = databases.db_name("04", "invalid_probe")
    with databases.admin(server) as conn:
        databases.drop(conn, name)
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{databases.marker()}'")
        conn.execute("UPDATE pg_database SET datconnlimit = -2 WHERE datname = %s", (name,))
        databases.drop(conn, name)
        assert (
            conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[
                0
            ]
            == 0
        )


def test_a_check_database_name_skips_one_left_half_made(server: Server) -> None:
    """A process that had this pid before may have been killed between CREATE DATABASE and its
    COMMENT: that database has no marker, so the course must take the next name, not fail."""
    stem = f"check_{os.getpid()}"
    first = databases.unused_name(server, "98", stem)
    number = int(first.rsplit("_", 1)[1])
    orphan = databases.db_name("98", f"{stem}_{number + 1}")
    with databases.admin(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(orphan)))
    try:
        taken = databases.unused_name(server, "98", stem)
        assert taken == databases.db_name("98", f"{stem}_{number + 2}")
    finally:
        with databases.admin(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(orphan)))
