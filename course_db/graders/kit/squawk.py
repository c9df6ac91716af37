"""The SQL of each of the learner's revisions, checked by squawk (lessons 05 and 10).

The SQL comes from Alembic's offline mode (`alembic upgrade base:<head> --sql`), split at each
`-- Running upgrade A -> B` line, without Alembic's own bookkeeping (the `alembic_version` table).
squawk runs with the course's pinned settings for the lesson (its package's `squawk.toml`), never
with a config from the learner's folder, and `squawk-ignore` comments are refused: the point is to
fix what squawk finds, not to silence it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from alembic import command
from alembic.config import Config

from course_db.inprocess import describe_exception
from course_db.isolation import scratch_dir
from course_db.report import Result

IGNORE = re.compile(r"squawk-ignore", re.IGNORECASE)
MARKER = re.compile(r"^-- Running upgrade (?P<old>\S*) -> (?P<new>\S+)\s*$")
BOOKKEEPING = (
    re.compile(r"^CREATE TABLE alembic_version \(.*?\);\n", re.MULTILINE | re.DOTALL),
    re.compile(r"^(INSERT INTO|UPDATE) alembic_version .*;\n", re.MULTILINE),
)
SQUAWK_TIMEOUT = 30
SHOWN = 3


@dataclass(frozen=True)
class Finding:
    revision: str
    line: int  # 1-based, in that revision's SQL
    rule: str
    message: str
    help: str
    statement: str


def offline_sql(project: Path) -> tuple[dict[str, str], str]:
    """({revision: its SQL}, error) from `alembic upgrade base:heads --sql`."""
    sql, logs = io.StringIO(), io.StringIO()
    config = Config(str(project / "alembic.ini"), stdout=logs)
    try:
        with contextlib.redirect_stdout(sql), contextlib.redirect_stderr(logs):
            command.upgrade(config, "base:heads", sql=True)
    except BaseException as exc:  # learner code can raise anything
        return {}, describe_exception(exc, project)
    return split_revisions(sql.getvalue()), ""


def split_revisions(text: str) -> dict[str, str]:
    """Cut offline SQL into one script per revision, each with its own BEGIN/COMMIT."""
    for pattern in BOOKKEEPING:
        text = pattern.sub("", text)
    lines = text.splitlines()
    found = [(index, MARKER.match(line)) for index, line in enumerate(lines)]
    marks = [(index, match["new"]) for index, match in found if match]
    starts: list[int] = []
    for index, _ in marks:  # a revision starts at the BEGIN; just above its marker
        above = index - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        starts.append(above if above >= 0 and lines[above].strip() == "BEGIN;" else index)
    scripts: dict[str, str] = {}
    for number, (start, (_, revision)) in enumerate(zip(starts, marks, strict=True)):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        scripts[revision] = "\n".join(lines[start:end]).strip() + "\n"
    return scripts


def ignore_comments(project: Path, scripts: dict[str, str]) -> list[str]:
    """Every `squawk-ignore` in the revision files or their SQL, as `where: line` strings."""
    found = []
    versions = project / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if IGNORE.search(line):
                found.append(f"migrations/versions/{path.name}, line {number}: {line.strip()}")
    if not found:
        for revision, script in scripts.items():
            for line in script.splitlines():
                if IGNORE.search(line):
                    found.append(f"the SQL of {revision}: {line.strip()}")
    return found


def squawk_binary() -> str | None:
    beside = Path(sys.executable).with_name("squawk")
    return str(beside) if beside.is_file() else shutil.which("squawk")


def run_squawk(scripts: dict[str, str], config: Path) -> dict[str, object]:
    """{"findings": [...]} or {"error": why}: squawk over each revision's SQL.

    `config` is the course's pinned settings file for the lesson.
    """
    binary = squawk_binary()
    if binary is None:
        return {"error": "squawk is not installed in the course's environment: run `uv sync`."}
    with scratch_dir("squawk") as tmp:
        files = []
        for revision, script in scripts.items():
            path = Path(tmp) / f"{revision}.sql"
            path.write_text(script, encoding="utf-8")
            files.append(path.name)
        proc = subprocess.run(
            [binary, "--config", str(config), "--reporter", "json", *files],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=SQUAWK_TIMEOUT,
        )
    try:
        raw = json.loads(proc.stdout or "[]")
    except ValueError:
        return {
            "error": f"squawk could not read the SQL: {(proc.stderr or proc.stdout).strip()[:300]}"
        }
    findings = []
    for item in raw:
        revision = item["file"].removesuffix(".sql")
        lines = scripts.get(revision, "").splitlines()
        line = item["line"] + 1
        statement = lines[item["line"]].strip() if item["line"] < len(lines) else ""
        findings.append(
            Finding(revision, line, item["rule_name"], item["message"], item["help"], statement)
        )
    return {"findings": findings}


LINT_NAME = "squawk finds nothing in the SQL of your revisions (course settings, no squawk-ignore)"


def lint_result(
    task: int,
    root: Path,
    scripts: dict[str, str],
    sql_error: str,
    lint: dict[str, object],
    how_to_run: str = "see the notebook's squawk section to run it yourself",
) -> Result:
    """Task `task`'s result: squawk's findings, one line each, or why there are none."""
    if sql_error:
        return Result(
            task,
            LINT_NAME,
            False,
            "`alembic upgrade base:heads --sql` failed, so squawk had no SQL to read:\n"
            + sql_error,
        )
    ignores = ignore_comments(root, scripts)
    if ignores:
        return Result(
            task,
            LINT_NAME,
            False,
            "squawk-ignore comments are not accepted: fix what squawk reports instead.\n"
            + "\n".join(f"  {where}" for where in ignores[:SHOWN]),
        )
    if lint.get("error"):
        return Result(task, LINT_NAME, False, str(lint["error"]))
    findings = cast("list[Finding]", lint.get("findings", []))
    lines = [
        f"{item.revision}, line {item.line} of its SQL: `{item.statement}`\n"
        f"    {item.rule}: {sentence(item.message)} {sentence(item.help)}".rstrip()
        + in_alembic(item)
        for item in findings
    ]
    if lines:
        lines.insert(
            0,
            f"squawk reports {len(findings)} problem(s) in `alembic upgrade base:heads --sql` "
            f"({how_to_run}):",
        )
    return Result(task, LINT_NAME, not findings, "\n".join(lines))


def in_alembic(item: Finding) -> str:
    """What to write in the revision for a finding whose fix has an Alembic spelling."""
    statement = " ".join(item.statement.upper().split())
    index = statement.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))
    if item.rule == "prefer-robust-stmts" and index and "IF NOT EXISTS" not in statement:
        return (
            "\n    In Alembic: op.create_index(..., if_not_exists=True). A DROP INDEX IF EXISTS "
            "just before does not count: squawk reads each statement on its own."
        )
    return ""


def sentence(text: str | None) -> str:
    """squawk's message or help as one sentence ending in a period ('' for None)."""
    text = (text or "").strip()
    return text if not text or text.endswith(".") else text + "."
