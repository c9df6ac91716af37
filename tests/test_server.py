"""Finding the server: COURSE_DATABASE_URL parsing, attaching to the embedded one, bad servers."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import psycopg
import pytest

from course_db import databases
from course_db.errors import SetupError
from course_db.runner import run_check
from course_db.server import Server, embedded_server, get_server, parse_admin_url

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("COURSE_DATABASE_URL")),
    reason="COURSE_DATABASE_URL names an external server",
)


def test_parse_admin_url_normalises_plain_postgresql_scheme() -> None:
    for scheme in ("postgresql", "postgres", "POSTGRESQL", "postgresql+psycopg"):
        server = parse_admin_url(f"{scheme}://ana:s%40cret@db.example.org:6543/admin")
        assert server.kind == "external"
        assert (server.user, server.password) == ("ana", "s@cret")
        assert (server.host, server.port, server.admin_db) == ("db.example.org", 6543, "admin")
        assert server.url() == "postgresql+psycopg://ana:s%40cret@db.example.org:6543/admin"
        assert server.url("course_x_01_exercise").endswith(":6543/course_x_01_exercise")


def test_parse_admin_url_defaults_user_port_and_database() -> None:
    server = parse_admin_url("postgresql://db.example.org")
    assert (server.user, server.password, server.port, server.admin_db) == (
        "postgres",
        None,
        None,
        "postgres",
    )
    assert server.url() == "postgresql+psycopg://postgres@db.example.org/postgres"
    assert server.conninfo()["dbname"] == "postgres"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root:pw@localhost/db",
        "postgresql+asyncpg://postgres:pw@localhost/postgres",
        "postgresql+psycopg2://postgres:pw@localhost/postgres",
        "sqlite:///course.db",
    ],
)
def test_parse_admin_url_bad_driver_raises_setup_error_with_tip(url: str) -> None:
    with pytest.raises(SetupError) as caught:
        parse_admin_url(url)
    assert "postgresql+psycopg://" in caught.value.tip
    assert "TIP:" in str(caught.value)
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg:///postgres", "postgresql://postgres@localhost:notaport/postgres"]
)
def test_parse_admin_url_without_host_or_with_bad_port_raises_setup_error(url: str) -> None:
    with pytest.raises(SetupError) as caught:
        parse_admin_url(url)
    assert caught.value.tip


def test_server_describe_never_shows_the_password() -> None:
    server = parse_admin_url("postgresql://teacher:Very$ecret@10.0.0.5:5432/postgres")
    text = server.describe()
    assert "10.0.0.5:5432" in text
    assert "Very" not in text and "ecret" not in text and "teacher" not in text


@embedded_only
def test_embedded_server_attach_is_fast() -> None:
    first = get_server()
    assert first.kind == "embedded"
    assert Path(first.host).is_dir()
    assert "?host=" in first.url("x") and first.url("x").startswith("postgresql+psycopg://")
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        again = embedded_server()
        timings.append(time.perf_counter() - started)
        assert again == first
    assert statistics.median(timings) < 0.02, timings


def test_unreachable_external_server_gives_setup_error_naming_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COURSE_DATABASE_URL", UNREACHABLE)
    server = get_server()  # only parses: nothing is contacted yet
    started = time.perf_counter()
    with pytest.raises(SetupError) as caught:
        databases.course_databases(server)
    assert time.perf_counter() - started < 6
    assert "127.0.0.1:1" in caught.value.message
    assert "COURSE_DATABASE_URL" in caught.value.tip


def test_unreachable_external_server_makes_a_check_a_setup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COURSE_DATABASE_URL", UNREACHABLE)
    started = time.perf_counter()
    report = run_check("01")
    assert time.perf_counter() - started < 6
    assert report.status == "error" and report.exit_code == 2
    assert "127.0.0.1:1" in report.error
    assert report.tip
    assert "not your code" in report.summary()


def test_get_server_answers_queries(server: Server) -> None:
    with psycopg.connect(**server.conninfo()) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT 1").fetchone() == (1,)
