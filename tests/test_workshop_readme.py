"""README's "Workshops and instructors" is a runbook: this test runs every command in it, in order.

Each line of the section's `sh` blocks is run for real against the PostgreSQL service, with three
substitutions a reader makes too: the service's address for the compose file's `127.0.0.1:5433`,
the learner's own join line for the sample one, and a copy of lesson 01's solution for
`path/to/their/folder`. The class gets a random name through `COURSE_WORKSHOP` (which the README
documents), so it never meets a real class. The `docker compose` lines cannot run here (no Docker
engine); they are checked against `docker-compose.yml` (and tests/test_compose.py validates it).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import yaml
from workshop_support import learner_env, needs_service, new_class_name

from course_db import roles, workshop
from course_db.lessons import get_lesson
from course_db.paths import ROOT
from course_db.server import get_server

SECTION = "## Workshops and instructors"


def runbook() -> list[str]:
    """Every command line of the section's sh blocks, in order (comments left out)."""
    return [line for _, line in runbook_with_shells()]


def runbook_with_shells() -> list[tuple[str, str]]:
    """(whose terminal, line): a block that opens with `# in the learner's own terminal` is a
    learner's; every other block is the instructor's."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        shell = "learner" if lines and lines[0].startswith("# in the learner's") else "instructor"
        found.extend((shell, line) for line in lines if not line.startswith("#"))
    return found


def test_runbook_docker_lines_match_the_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["postgres"]
    lines = runbook()
    assert "docker compose up -d --wait" in lines
    assert "COURSE_DB_PASSWORD" in str(service["environment"]["POSTGRES_PASSWORD"])
    assert any(line.startswith("export COURSE_DB_PASSWORD=") for line in lines)
    published = service["ports"][0].rsplit(":", 2)[1]
    url_line = next(line for line in lines if line.startswith('export COURSE_DATABASE_URL="'))
    assert f"@127.0.0.1:{published}/postgres" in url_line
    assert "${COURSE_DB_PASSWORD}" in url_line


@needs_service
def test_runbook_runs_from_init_to_end(tmp_path: Path) -> None:
    server = get_server()
    name = new_class_name()
    group = roles.group_role(name)
    where = f"{server.host}:{server.port or 5432}"
    admin_env = learner_env(server.url(), COURSE_WORKSHOP=name)
    env = dict(admin_env)
    folder = tmp_path / "their-folder"
    shutil.copytree(get_lesson("01").solution_dir, folder)
    ran: list[tuple[str, int]] = []
    try:
        for shell, line in runbook_with_shells():
            if shell == "instructor":
                env = dict(admin_env)  # back in the instructor's terminal
            line = line.replace("127.0.0.1:5433", where)
            line = line.replace("path/to/their/folder", str(folder))
            if line.startswith(("export COURSE_DB_PASSWORD=", "docker compose ")):
                continue  # no Docker engine here: test_runbook_docker_lines_match_the_compose_file
            if line.startswith('export COURSE_DATABASE_URL="postgresql+psycopg://postgres:'):
                continue  # the instructor's admin URL: the service's here (admin_env)
            if line.startswith("export COURSE_DATABASE_URL=postgresql+psycopg://course_class_"):
                learner = line.split("course_class_", 1)[1].split(":", 1)[0]
                joined = workshop.read_join(workshop.join_file(name))[learner]
                env = learner_env(joined.url)  # a learner's shell: their line and nothing else
                continue
            if line.startswith("uv run course "):
                argv = [sys.executable, "-m", "course_db.cli", *shlex.split(line)[3:]]
                done = subprocess.run(
                    argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
                )
                assert "Traceback" not in done.stderr, (line, done.stderr)
                ran.append((line, done.returncode))
                expected = 1 if line == "uv run course check 01" else 0  # the starter fails
                assert done.returncode == expected, (line, done.stdout + done.stderr)
                continue
            if line.startswith("printf "):
                subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, env=os.environ)
                continue
            raise AssertionError(f"the runbook has a line this test does not run: {line}")
    finally:
        with_admin = learner_env(server.url())
        subprocess.run(
            [sys.executable, "-m", "course_db.cli", "workshop", "end", "--yes", "--workshop", name],
            cwd=tmp_path,
            env=with_admin,
            capture_output=True,
        )
        shutil.rmtree(workshop.join_file(name).parent, ignore_errors=True)
    commands = [line for line, _ in ran]
    assert any("workshop init" in line for line in commands)
    assert any("workshop end" in line for line in commands)
    assert len(commands) >= 7, commands
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        left = conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (group + "%",)
        ).fetchone()
    assert left == (0,)
