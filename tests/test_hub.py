"""The course on a real JupyterHub: three learners log in, run lesson 01's check in their kernels.

`course workshop hub` runs as an instructor would run it (root, the PostgreSQL service's admin
URL), with configurable-http-proxy from npm, on 127.0.0.1 and a free port. Each learner logs in
through the login form (FirstUseAuthenticator: the first login sets the password), starts their
server through the hub's REST API, opens notebook 01 and runs `check("01")` in a kernel over the
Jupyter Server's websocket: the starter fails; after the learner writes the solution into their
own exercise, it passes, and the class board says exactly that. Learner A's kernel cannot reach
learner B's databases, files, or the hub's admin URL. Afterwards nothing is left: no process,
Unix user, role, database or folder.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from hub_client import Learner
from workshop_support import needs_service, new_class_name

from course_db import hub, roles, workshop
from course_db.errors import SetupError
from course_db.paths import HUB_COPY_NAME, ROOT
from course_db.server import get_server

pytestmark = needs_service


def _why_not() -> str | None:
    """The reason this machine cannot run a hub, or None."""
    if os.geteuid() != 0:
        return "JupyterHub runs each learner as their own Unix user: needs root"
    if shutil.which("useradd") is None:
        return "no useradd here to make learners' Unix users"
    if shutil.which("npm") is None:
        return "no npm here to install configurable-http-proxy"
    try:
        hub.learner_python()
    except SetupError as exc:
        return exc.message
    return None


@dataclass
class Hub:
    base: str
    place: hub.Layout
    workshop: str
    names: list[str]
    admins: list[str]
    process: subprocess.Popen
    log: Path
    started: float
    timings: dict[str, list[float]] = field(default_factory=dict)

    def role(self, name: str) -> str:
        return roles.learner_role(roles.group_role(self.workshop), name)

    def learner(self, name: str) -> Learner:
        return Learner(self.base, name, f"pw-{name}-{self.workshop}")


@pytest.fixture(scope="module")
def the_hub() -> Iterator[Hub]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    began = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="alembic-course-hub-", dir="/tmp"))
    home.chmod(0o711)
    tag = secrets.token_hex(2)
    names = [f"h{tag}a", f"h{tag}b", f"h{tag}c"]
    (home / "learners.txt").write_text("\n".join(names) + "\n")
    name = new_class_name()
    port = hub.free_port()
    log = home / "hub.log"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_db.cli", "workshop", "hub", "--learners",
             str(home / "learners.txt"), "--workshop", name, "--home", str(home / "hub"),
             "--port", str(port), "--admin", f"i{tag}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    made = Hub(f"http://127.0.0.1:{port}", hub.Layout(home / "hub"), name, names, [f"i{tag}"],
               process, log, began)  # fmt: skip
    try:
        _wait_for_hub(made)
        made.timings["up"] = [time.monotonic() - began]
        # A server that trusts local connections is named to the instructor, with what it exposes.
        warned = "WARNING: this PostgreSQL lets anyone in without a password" in log.read_text()
        assert warned == bool(hub.trusting_rules(get_server()))
        yield made
    finally:
        _stop(made)
        _clean_up(made, home)
        _assert_nothing_left(made, home)


def _wait_for_hub(made: Hub, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if made.process.poll() is not None:
            pytest.fail(f"the hub stopped:\n{made.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{made.base}/hub/api", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the hub did not answer in {timeout} s:\n{made.log.read_text()[-3000:]}")


def _stop(made: Hub) -> None:
    """SIGTERM the hub: it stops every learner's server, the proxy and its services (what a
    SIGKILL leaves, `course workshop end` stops)."""
    made.process.send_signal(signal.SIGTERM)
    try:
        made.process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(made.process.pid, signal.SIGKILL)
        made.process.wait(10)


def _pgrep(*args: str) -> list[int]:
    found = subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def _clean_up(made: Hub, home: Path) -> None:
    """As the README says: `course workshop end` (roles, databases, the hub's accounts)."""
    ended = subprocess.run(
        [sys.executable, "-m", "course_db.cli", "workshop", "end", "--yes", "--workshop",
         made.workshop, "--home", str(made.place.home)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "learner account(s) of the hub" in ended.stdout, ended.stdout + ended.stderr
    shutil.rmtree(workshop.join_file(made.workshop).parent, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


def _assert_nothing_left(made: Hub, home: Path) -> None:
    left = {name: _pgrep("-u", name) for name in made.names if _pgrep("-u", name)}
    assert not left, f"processes left behind: {left}"
    assert not _pgrep("-f", str(home)), "a process of the hub is still running"
    accounts = [entry.pw_name for entry in pwd.getpwall() if made.place.made(entry)]
    assert not accounts, f"learner accounts left: {accounts}"
    group = roles.group_role(made.workshop)
    with psycopg.connect(**get_server().conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        left_roles = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (group + "%",)
        ).fetchall()
        databases = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (group + "%",)
        ).fetchall()
    assert not left_roles and not databases, (left_roles, databases)
    assert not home.exists()


def _memory_mib(user: str) -> float:
    """Resident memory of everything running as `user`, in MiB."""
    total = 0
    for pid in _pgrep("-u", user):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


CHECK = "from course_db.notebook import *\ncheck('01')"
SOLVE = (
    "import shutil\n"
    "from course_db.lessons import get_lesson as lesson\n"
    "shutil.copytree(lesson('01').solution_dir, lesson('01').starter_dir, dirs_exist_ok=True)\n"
    "print('solved')"
)


def test_three_learners_log_in_fail_then_pass_lesson_01_and_the_board_shows_it(
    the_hub: Hub,
) -> None:
    learners = [the_hub.learner(name) for name in the_hub.names]
    ready, kernels = [], {}
    for learner in learners:
        began = time.monotonic()
        assert learner.log_in().status_code == 302, learner.name  # the first login sets it
        learner.make_token()
        learner.start_server()
        notebook = learner.get(f"/api/contents/{_first_notebook()}?content=0")
        assert notebook.status_code == 200, notebook.text
        ready.append(time.monotonic() - began)
        kernels[learner.name] = learner.start_kernel()
    # The class checks at the same moment: the starter fails for all three.
    cpu_before = {learner.name: _cpu_seconds(learner.name) for learner in learners}
    began = time.monotonic()
    with ThreadPoolExecutor(len(learners)) as pool:
        answers = list(pool.map(lambda one: one.run(kernels[one.name], CHECK), learners))
    at_once = time.monotonic() - began
    cpu = [_cpu_seconds(one.name) - cpu_before[one.name] for one in learners]
    for answer in answers:
        assert "3 of 4 checks failed" in answer, answer
    memory = [_memory_mib(learner.name) for learner in learners]
    for learner in learners[:2]:  # A and B solve it; C stays on the starter
        solved = learner.run(kernels[learner.name], SOLVE)
        assert solved.strip() == "solved", solved
        answer = learner.run(kernels[learner.name], CHECK)
        assert "PASS" in answer and "FAIL" not in answer, answer
    board = subprocess.run(
        [sys.executable, "-m", "course_db.cli", "workshop", "board", "--workshop",
         the_hub.workshop],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rows = {line.split()[0]: line.split()[1:3] for line in board.stdout.splitlines()[1:4]}
    a, b, c = the_hub.names
    assert rows == {a: ["passed", "-"], b: ["passed", "-"], c: ["task", "2"]}, board.stdout
    print(  # shown with `pytest -s`: the numbers behind the README's sizing
        f"\nhub: up after {the_hub.timings['up'][0]:.0f} s; login to a ready notebook 01: "
        f"median {statistics.median(ready):.1f} s ({', '.join(f'{x:.1f}' for x in ready)}); "
        f"3 starter checks at once: {at_once:.1f} s, learner-side CPU per check median "
        f"{statistics.median(cpu):.2f} s; memory per learner (server, kernel, check worker): "
        f"median {statistics.median(memory):.0f} MiB"
    )


def _cpu_seconds(user: str) -> float:
    """CPU time of `user`'s processes and of the children they waited for (the checks')."""
    ticks = 0
    for pid in _pgrep("-u", user):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _first_notebook() -> str:
    from course_db.lab import first_notebook

    return first_notebook().as_posix()


def test_a_learners_kernel_cannot_reach_another_learners_databases_files_or_the_admin_url(
    the_hub: Hub,
) -> None:
    a, b = (the_hub.learner(name) for name in the_hub.names[:2])
    for learner in (a, b):
        learner.log_in()
        learner.make_token()
        learner.start_server()
    opened = b.run(b.start_kernel(), "from course_db.notebook import *\nlesson('01')")
    assert "Demo and exercise databases reset" in opened, opened  # notebook 01's first cell
    with psycopg.connect(**get_server().conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        (b_database,) = conn.execute(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s "
            "AND datname LIKE '%%\\_01\\_exercise'",
            (the_hub.role(b.name),),
        ).fetchone()
    b_file = the_hub.place.homes / b.name / HUB_COPY_NAME / "README.md"
    attack = f"""
import os, psycopg
from course_db.server import get_server
mine = get_server()
try:
    psycopg.connect(**mine.conninfo({b_database!r})).close()
    print("REACHED B's database")
except psycopg.OperationalError as exc:
    print("database refused:", str(exc).strip().splitlines()[-1])
for path in ({str(b_file)!r}, "/proc/{the_hub.process.pid}/environ"):
    try:
        open(path).read()
        print("OPENED", path)
    except PermissionError:
        print("refused:", path)
urls = [value for value in os.environ.values() if "postgres" in value]
print("admin url seen" if any("postgres@" in url or "postgres:" in url for url in urls)
      else "no admin url")
print("user", mine.user)
"""
    answer = a.run(a.start_kernel(), attack)
    assert "database refused:" in answer and "REACHED" not in answer, answer
    assert "does not have CONNECT privilege" in answer, answer
    assert "OPENED" not in answer and answer.count("\nrefused: ") == 2, answer
    assert "no admin url" in answer, answer
    assert (
        f"user {workshop.roles.learner_role(workshop.roles.group_role(the_hub.workshop), a.name)}"
        in answer
    )


def test_the_board_service_answers_the_admin_and_refuses_learners(the_hub: Hub) -> None:
    admin = the_hub.learner(the_hub.admins[0])
    assert admin.log_in().status_code == 302
    page = admin.session.get(f"{the_hub.base}/services/board/board.json", timeout=60)
    assert page.status_code == 200, page.text[:500]
    assert set(page.json()["learners"]) >= set(the_hub.names)
    learner = the_hub.learner(the_hub.names[2])
    learner.log_in()
    refused = learner.session.get(f"{the_hub.base}/services/board/", timeout=60)
    assert refused.status_code == 403


def test_only_the_class_lists_names_can_log_in(the_hub: Hub) -> None:
    stranger = the_hub.learner("stranger" + secrets.token_hex(2))
    answer = stranger.log_in()
    assert answer.status_code != 302 and "stranger" not in answer.headers.get("location", "")
    assert stranger.api("GET", "/user").status_code == 403  # no session: not logged in


def test_a_second_hub_on_the_same_folder_is_refused(the_hub: Hub) -> None:
    learners = the_hub.place.home.parent / "learners.txt"
    again = subprocess.run(
        [sys.executable, "-m", "course_db.cli", "workshop", "hub", "--learners", str(learners),
         "--workshop", the_hub.workshop, "--home", str(the_hub.place.home)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 2, again.stdout + again.stderr
    assert f"A hub is already running in {the_hub.place.home}" in again.stderr


def test_a_hub_killed_with_sigkill_leaves_what_end_then_stops(the_hub: Hub) -> None:
    """Last in the module: it kills the module's hub. Its proxy, services and learners' servers
    stay orphaned; the fixture's `course workshop end` must stop them (it asserts nothing is
    left)."""
    os.kill(the_hub.process.pid, signal.SIGKILL)
    the_hub.process.wait(10)
    left = _pgrep("-f", "configurable-http-proxy.*--port " + the_hub.base.rsplit(":", 1)[1])
    assert left, "the proxy outlives a hub killed with -9 (JupyterHub's own behaviour)"
    assert hub.running_hub(the_hub.place) is None
