"""Lesson 07, task 2: the pull-request workflow that tests the migrations.

Three layers, each naming what is wrong: GitHub's workflow schema (the file `check-jsonschema
--builtin-schema vendor.github-workflows` uses, compiled with fastjsonschema, which loads in
milliseconds where jsonschema takes a second); actionlint (it knows which action versions run on a
deprecated runtime, the seed's `actions/checkout@v4`); then the steps the lesson requires.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastjsonschema
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from course_db.graders.tasklist import not_checked
from course_db.report import Result

YamlMap = dict[Any, Any]  # parsed YAML: keys are not always strings (a bare `on` is True)

WORKFLOW = ".github/workflows/migrations.yml"
TASK = 2
ACTIONLINT_LIMIT = 10.0
VALIDATE = "uv run check-jsonschema --builtin-schema vendor.github-workflows " + WORKFLOW


def schema_path() -> Path:
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "builtin_schemas" / "vendor" / "github-workflows.json"


SCHEMA = f"{WORKFLOW} is a valid GitHub Actions workflow (GitHub's schema)"
ACTIONLINT = "actionlint finds nothing in it"
REQUIRED = "it tests the migrations on every pull request, against a PostgreSQL service"
ROWS = [SCHEMA, ACTIONLINT, REQUIRED]  # task 2's rows, in order
# Whatever installs the project: pip, pip3, python -m pip, uv pip, uv sync, poetry, pipenv, pdm.
INSTALL = r"(?<![\w-])(pip[\d.]*|uv|poetry|pipenv|pdm)(?![\w-])[^\n]*?(?<![\w-])(install|sync)\b"


def grade_workflow(root: Path) -> list[Result]:
    path = root / WORKFLOW
    if not path.is_file():
        return _stopped(Result(TASK, SCHEMA, False, f"There is no {WORKFLOW}: create it."))
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        message = f"It is not valid YAML: {problem}{where}. Check the indentation there."
        return _stopped(Result(TASK, SCHEMA, False, message))
    results = [schema_result(doc), actionlint_result(root)]
    results.append(required_result(doc if isinstance(doc, dict) else {}))
    return results


def _stopped(first: Result) -> list[Result]:
    """Task 2's rows when the file cannot be read: the first says why, the others wait for it."""
    return [first, *(Result(TASK, name, False, not_checked(first)) for name in ROWS[1:])]


def schema_result(doc: Any) -> Result:
    name = SCHEMA
    validate = fastjsonschema.compile(json.loads(schema_path().read_text(encoding="utf-8")))
    try:
        validate(doc)
    except fastjsonschema.JsonSchemaValueException as exc:  # what validate() raises
        where = ".".join(str(part) for part in (exc.path or [])[1:]) or "the top level"
        message = (
            f"GitHub would reject the file: at {where}, {exc.message.removeprefix('data')}. "
            f"`{VALIDATE}` shows the details."
        )
        return Result(TASK, name, False, message)
    return Result(TASK, name, True)


def actionlint_result(root: Path) -> Result:
    name = ACTIONLINT
    binary = Path(sys.executable).parent / "actionlint"
    try:
        done = subprocess.run(
            [str(binary), "-no-color", "-oneline", WORKFLOW],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=ACTIONLINT_LIMIT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Result(TASK, name, False, f"actionlint could not run here: {exc}")
    if done.returncode == 0:
        return Result(TASK, name, True)
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    shown = "\n".join("  " + line[:300] for line in lines[:6])
    return Result(TASK, name, False, f"`uv run actionlint {WORKFLOW}` reports:\n{shown}")


def required_result(doc: YamlMap) -> Result:
    name = REQUIRED
    missing = missing_parts(doc)
    if not missing:
        return Result(TASK, name, True)
    return Result(TASK, name, False, "Missing:\n" + "\n".join(f"  - {item}" for item in missing))


def triggers(doc: YamlMap) -> set[str]:
    on = doc.get("on", doc.get(True))  # YAML 1.1 readers turn a bare `on` into True
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(item) for item in on}
    return {str(key) for key in on} if isinstance(on, dict) else set()


def missing_parts(doc: YamlMap) -> list[str]:
    missing = []
    if "pull_request" not in triggers(doc):
        missing.append("`on: pull_request`: test the migrations before a change is merged")
    jobs = [job for job in (doc.get("jobs") or {}).values() if isinstance(job, dict)]
    if not any(postgres_service(job) for job in jobs):
        missing.append(
            "a job with a `services:` PostgreSQL container (`image: postgres:...`) whose "
            "`options:` define a health check (`--health-cmd pg_isready ...`), so steps start "
            "once it is ready"
        )
    steps = [step for job in jobs for step in (job.get("steps") or []) if isinstance(step, dict)]
    uses = [str(step.get("uses", "")) for step in steps]
    runs = [str(step.get("run", "")) for step in steps]
    if not any(use.startswith("actions/checkout@") for use in uses):
        missing.append("a step `uses: actions/checkout@...` (without it the job has no code)")
    order = {
        "install": first(runs, INSTALL),
        "upgrade": first(runs, r"alembic\s+upgrade\s+head"),
        "check": first(runs, r"alembic\s+check\b"),
    }
    if order["install"] is None:
        missing.append("a step that installs the dependencies (`pip install -r requirements.txt`)")
    if order["upgrade"] is None:
        missing.append("a step that runs `alembic upgrade head` on the service's database")
    if order["check"] is None:
        missing.append("a step that runs `alembic check` (models and migrations agree)")
    elif order["upgrade"] is not None and order["check"] < order["upgrade"]:
        missing.append("`alembic check` after `alembic upgrade head` (it compares a migrated DB)")
    if first(runs, r"alembic\s+heads\b|single_head") is None:
        missing.append(
            "a single-head gate: a step that fails when `alembic heads` prints more than one line "
            "(or pytest-alembic's test_single_head_revision)"
        )
    if not database_url_set(doc, jobs, steps):
        missing.append("`DATABASE_URL` in `env:` (workflow, job or step), naming the service's DB")
    return missing


def postgres_service(job: YamlMap) -> bool:
    services = job.get("services") or {}
    for service in services.values() if isinstance(services, dict) else []:
        if isinstance(service, dict) and str(service.get("image", "")).startswith("postgres"):
            return "--health-cmd" in str(service.get("options", ""))
    return False


def first(runs: list[str], pattern: str) -> int | None:
    return next((i for i, run in enumerate(runs) if re.search(pattern, run)), None)


def database_url_set(doc: YamlMap, jobs: list[YamlMap], steps: list[YamlMap]) -> bool:
    scopes = [doc, *jobs, *steps]
    return any(isinstance(s.get("env"), dict) and "DATABASE_URL" in s["env"] for s in scopes)
