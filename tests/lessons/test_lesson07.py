"""Lesson 07's grader: the solution passes, the starter and likely wrong answers (the seed's own
entrypoint and workflow among them) fail with a message that names the problem, and a check never
writes to the learner's folder."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from every_lesson import Endless
from helpers import (
    Absent,
    GradeMutant,
    Mutation,
    ProjectCopy,
    combine,
    delete,
    failure_text,
    replace,
    write,
)

from course_db.graders.lesson07.workflow import ROWS as WORKFLOW_ROWS
from course_db.graders.lesson07.workflow import grade_workflow
from course_db.lessons import get_lesson
from course_db.report import Report

LESSON = get_lesson("07")
SCRIPT = Path("scripts/entrypoint.sh")
WORKFLOW = Path(".github/workflows/migrations.yml")
ENV_PY = Path("migrations/env.py")

SEED_ENTRYPOINT = """#!/bin/bash
# scripts/entrypoint.sh

set -e

# Esperar a que la DB esté lista
echo "Waiting for database..."
while ! pg_isready -h $DB_HOST -p $DB_PORT -U $DB_USER; do
  sleep 1
done

# Aplicar migraciones
echo "Running migrations..."
alembic upgrade head

# Ejecutar comando principal
exec "$@"
"""


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 1, 1, 2, 2, 2, 3]
STARTER_FAILS = [1, 1, 1, 1, 2, 2, 3]  # the starter's workflow is valid YAML, GitHub's schema says
STARTER_SAYS = [
    Absent("gave up after"),  # the placeholder's scenarios diagnose nothing (starter_rows)
    Absent("before the database came up"),
    'runtime "node20" is deprecated',
    "actions/checkout@v4",
    "`on: pull_request`",
    "a single-head gate",
    "your upgrade went ahead anyway",
]


def starter_rows(report: Report) -> None:
    """The placeholder script is said once, on the first row; its other scenarios wait for it."""
    text = failure_text(report)
    assert text.count("is not written yet: it is still the starter's placeholder") == 1
    others = [r.message for r in report.results[1:4]]
    assert (
        others
        == ["Not checked: scripts/entrypoint.sh is not written yet (see the first result)."] * 3
    )


def drop_step(title: str) -> Mutation:
    """Remove one `- name: <title>` step (up to the next blank line) from the workflow."""

    def mutate(project: Path) -> None:
        text = (project / WORKFLOW).read_text(encoding="utf-8")
        start = text.index(f"      - name: {title}\n")
        end = text.find("\n\n", start)
        (project / WORKFLOW).write_text(text[:start] + text[end + 2 :], encoding="utf-8")

    return mutate


# `|| true` and a pipe to tee already have `set -e`: advising it would mislead
NOT_SET_E = Absent("with `set -e`")

# mutation, every failing row's task, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, list[int], list[str]]] = {
    "seed_entrypoint_waits_forever": (
        write(SCRIPT, SEED_ENTRYPOINT),
        [1, 1],
        [
            "With DB_WAIT_TIMEOUT=2, your script was still waiting after 5 s",
            "Without DB_HOST your script was still running after 3 s",
        ],
    ),
    "no_exec": (
        replace(SCRIPT, 'exec "$@"\n', '"$@"\n'),
        [1],
        ["The command ran as a child of your script, not in its place"],
    ),
    "unquoted_args": (
        replace(SCRIPT, 'exec "$@"\n', "exec $@\n"),
        [1],
        ["then the command it was given did not run as given (exit 2)"],
    ),
    "no_set_e_app_starts_after_failed_migration": (
        replace(SCRIPT, "set -euo pipefail", "set -uo pipefail"),
        [1],
        ["yet your script started the app. Start the script with `set -e`"],
    ),
    "upgrade_or_true": (
        replace(SCRIPT, "alembic upgrade head\n", "alembic upgrade head || true\n"),
        [1],
        ["`alembic upgrade head || true`: the `||` part runs when alembic fails", NOT_SET_E],
    ),
    "upgrade_piped_to_tee_without_pipefail": (
        replace(
            SCRIPT,
            "set -euo pipefail",
            "set -eu",
            "alembic upgrade head\n",
            "alembic upgrade head 2>&1 | tee migrate.log\n",
        ),
        [1],
        ["a pipeline's exit status is its last command's (`tee`'s), not alembic's", NOT_SET_E],
    ),
    "no_upgrade": (
        replace(SCRIPT, "alembic upgrade head\n", "true\n"),
        [1, 1],
        [
            "The command ran, but the database is at no revision, not head",
            "Your script started the app without running `alembic upgrade head`",
        ],
    ),
    "gives_up_with_status_0": (
        replace(SCRIPT, "    exit 1\n", "    exit 0\n"),
        [1],
        ["The database never came up, yet your script exited 0: exit 1."],
    ),
    "gives_up_at_once": (
        replace(SCRIPT, "waited=$((waited + 1))", "waited=$((waited + 99))"),
        [1, 1],  # it gives up on the server that comes up late, too
        ["Your script gave up after 0."],
    ),
    "only_on_push": (
        replace(WORKFLOW, "  pull_request:\n", ""),
        [2],
        ["`on: pull_request`"],
    ),
    "no_lock": (
        replace(
            ENV_PY,
            'connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), '
            '{"key": MIGRATION_LOCK})',
            "pass",
        ),
        [3],
        ["your upgrade went ahead anyway"],
    ),
}


# The workflow (task 2) is graded by `grade_workflow` alone, from the file: a full check would
# only add the entrypoint's scenarios, which these edits do not touch (`only_on_push` above and
# `test_check_solution_passes` take the workflow through a full check, failing and passing).
# mutation, phrases of task 2's failing rows
WORKFLOW_MUTANTS: dict[str, tuple[Mutation, list[str]]] = {
    "checkout_v4": (
        replace(WORKFLOW, "actions/checkout@v5", "actions/checkout@v4"),
        ['update the version of action "actions/checkout@v4"'],
    ),
    "no_alembic_check": (
        drop_step("The models match the migrations"),
        ["a step that runs `alembic check`"],
    ),
    "no_single_head_gate": (
        drop_step("Exactly one head"),
        ["a single-head gate"],
    ),
    "bad_yaml_indentation": (
        replace(WORKFLOW, "    runs-on: ubuntu-latest", "   runs-on: ubuntu-latest"),
        ["It is not valid YAML: "],
    ),
    "no_health_check": (
        replace(
            WORKFLOW,
            '          --health-cmd "pg_isready --username=app --dbname=app_test"\n',
            "",
        ),
        ["whose `options:` define a health check"],
    ),
    "misspelled_key": (
        replace(WORKFLOW, "runs-on: ubuntu-latest", "run-on: ubuntu-latest"),
        ["GitHub would reject the file: at jobs.migrations"],
    ),
}


@pytest.mark.server_agnostic
@pytest.mark.parametrize("mutant", WORKFLOW_MUTANTS, ids=str)
def test_workflow_mutant_fails_with_message(project: ProjectCopy, mutant: str) -> None:
    mutate, phrases = WORKFLOW_MUTANTS[mutant]
    folder = project("solutions")
    mutate(folder)
    results = grade_workflow(folder)
    assert [r.name for r in results] == WORKFLOW_ROWS
    text = "\n".join(r.message for r in results if not r.passed)
    for phrase in phrases:
        assert phrase in text, text


# other ways to do what the README asks: each must pass
EQUIVALENT: dict[str, Mutation] = {
    "alembic_output_to_a_log_file": replace(
        SCRIPT,
        "alembic upgrade head\n",
        "if ! alembic upgrade head >migrate.log 2>&1; then\n"
        '  echo "Migrations failed: see migrate.log" >&2\n'
        "  exit 1\n"
        "fi\n",
    ),
}


# other ways to write the workflow: `grade_workflow` passes them (see WORKFLOW_MUTANTS)
WORKFLOW_EQUIVALENT: dict[str, Mutation] = {
    "pip3_install": replace(
        WORKFLOW, "run: pip install -r requirements.txt", "run: pip3 install -r requirements.txt"
    ),
    "python_m_pip_install": replace(
        WORKFLOW,
        "run: pip install -r requirements.txt",
        "run: python -m pip install -r requirements.txt",
    ),
    "uv_sync": replace(WORKFLOW, "run: pip install -r requirements.txt", "run: uv sync --frozen"),
}


@pytest.mark.server_agnostic
@pytest.mark.parametrize("variant", WORKFLOW_EQUIVALENT, ids=str)
def test_workflow_equivalent_answer_passes(project: ProjectCopy, variant: str) -> None:
    folder = project("solutions")
    WORKFLOW_EQUIVALENT[variant](folder)
    results = grade_workflow(folder)
    assert [r.name for r in results] == WORKFLOW_ROWS
    assert all(r.passed for r in results), [r.message for r in results]


def test_check_bash_syntax_error_is_the_learners(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(replace(SCRIPT, "  sleep 1\ndone\n", "  sleep 1\n"))
    assert "syntax error" in failure_text(report), report.as_text()


def test_check_missing_files_are_named(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(combine(delete(SCRIPT), delete(WORKFLOW)))
    text = failure_text(report)
    assert "There is no scripts/entrypoint.sh: create it" in text
    assert "There is no .github/workflows/migrations.yml: create it" in text
    assert not any(r.task == 3 and not r.passed for r in report.results), report.as_text()


def test_check_env_py_exception_is_located(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(
        replace(
            ENV_PY,
            "def run_migrations_online() -> None:\n",
            "def run_migrations_online() -> None:\n    1 / 0\n",
        )
    )
    text = failure_text(report)
    assert "Once the database was up, your script exited with 1" in text
    assert "ZeroDivisionError" in text
    assert "`alembic upgrade head` failed, so the check could not see" in text


ENDLESS = Endless(
    replace(
        SCRIPT, "set -euo pipefail\n", "set -euo pipefail\nwhile true; do sleep 1.0707; done\n"
    ),
    timeout=4,
    within=20,  # of the lesson's 30 s
    says=[],
)


def after_stopped_check() -> None:
    """The script's loop does not outlive the check: its `sleep 1.0707` is one no other process
    runs."""
    time.sleep(1.5)  # a loop that survived would have started another sleep by now
    assert not [cmd for cmd in command_lines() if "sleep 1.0707" in cmd]


def command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines
