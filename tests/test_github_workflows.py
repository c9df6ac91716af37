"""The course's GitHub workflows: valid by GitHub's schema, clean by actionlint, doing their job.

`.github/workflows/ci.yml` runs the README's test command on both servers; `docs/learner-ci.yml`
is the workflow a learner copies into their fork to grade their exercises on every push.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from course_db.paths import ROOT

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests

CI = ROOT / ".github" / "workflows" / "ci.yml"
LEARNER = ROOT / "docs" / "learner-ci.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
SCHEMA = (sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows")


def load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def runs(doc: dict[Any, Any], job: str) -> list[str]:
    return [step.get("run", "") for step in doc["jobs"][job]["steps"]]


@pytest.mark.parametrize("path", [CI, LEARNER], ids=["ci", "learner"])
def test_workflow_matches_github_schema_and_actionlint(path: Path) -> None:
    schema = subprocess.run(
        [*SCHEMA, str(path)],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_course_ci_runs_the_readme_test_command_on_both_servers() -> None:
    doc = load(CI)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "uv run pytest" in readme
    for job in ("embedded", "postgres-service"):
        assert any(run.startswith("uv run pytest") for run in runs(doc, job)), job
    service = doc["jobs"]["postgres-service"]
    assert "postgres" in service["services"]
    env = next(step["env"] for step in service["steps"] if "pytest" in step.get("run", ""))
    assert env["COURSE_DATABASE_URL"].startswith("postgresql+psycopg://")
    embedded = next(
        step for step in doc["jobs"]["embedded"]["steps"] if "pytest" in step.get("run", "")
    )
    assert "COURSE_DATABASE_URL" not in embedded.get("env", {})


def test_learner_workflow_grades_every_exercise_on_push() -> None:
    doc = load(LEARNER)
    assert "push" in doc[True]  # PyYAML reads the key `on` as True
    assert "uv run course check --all" in runs(doc, "grade")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/learner-ci.yml" in readme
