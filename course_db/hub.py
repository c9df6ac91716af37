"""The course on JupyterHub: the hub's side of a classroom where learners install nothing.

JupyterHub does the login, the spawning and the proxying; the course adds what only it knows:

- `course workshop hub` (`start`) prepares one folder (`COURSE_HUB_HOME`, default
  `/srv/alembic-course`): a Python environment every learner can run (`venv/`), a read-only
  snapshot of the course (`course/`), configurable-http-proxy from npm (`npm/`), the hub's own state
  (`hub/`, root only) and the learners' homes (`home/`). Then it runs JupyterHub with
  `workshop/jupyterhub_config.py`.
- On each login, `pre_spawn_hook` (run by the hub, as root) makes sure the learner has a Unix user
  of their own (home mode 700: nobody reads anyone's files) and a workshop role
  (`workshop.init`), and hands their server only their own `COURSE_DATABASE_URL`. The admin URL
  never leaves the hub's process; what runs as the learner is in `hub_learner.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_db import processes, roles, workshop
from course_db.errors import SetupError
from course_db.paths import DEFAULT_HUB_HOME, ROOT
from course_db.paths import HUB_COPY_NAME as COPY_NAME
from course_db.server import Server, get_server

LEARNER_MARK = "alembic-course learner"  # the comment (GECOS) of every Unix user the hub makes
PROXY_VERSION = "5.3.0"
# One login is prepared at a time: `useradd` locks /etc/passwd, and the class's join file is read,
# extended and written back (two at once would lose a password).
_preparing = threading.Lock()
# What a learner's copy of the course leaves out: the instructor's environment and state.
NOT_COPIED = (".git", ".venv", ".course", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")


@dataclass(frozen=True)
class Layout:
    """The hub's folder and what lives in it."""

    home: Path

    @property
    def venv(self) -> Path:
        return self.home / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def snapshot(self) -> Path:
        return self.home / "course"

    @property
    def npm(self) -> Path:
        return self.home / "npm"

    @property
    def state(self) -> Path:
        return self.home / "hub"

    @property
    def homes(self) -> Path:
        return self.home / "home"

    @property
    def owner(self) -> Path:
        """Names the workshop this hub serves: one hub folder, one class."""
        return self.state / "workshop"

    def proxy(self) -> Path:
        return self.npm / "node_modules" / ".bin" / "configurable-http-proxy"

    def workshop(self) -> str | None:
        return self.owner.read_text().strip() if self.owner.exists() else None

    def made(self, entry: pwd.struct_passwd) -> bool:
        """True for a Unix user this hub made: marked, with its home in the hub's `home/`."""
        return entry.pw_gecos == LEARNER_MARK and Path(entry.pw_dir).parent == self.homes


def layout() -> Layout:
    return Layout(Path(os.environ.get("COURSE_HUB_HOME") or DEFAULT_HUB_HOME).absolute())


# --- `course workshop hub`: prepare the folder, then run JupyterHub ------------------------------


def require_root() -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "JupyterHub runs each learner as a Unix user of their own, which needs root.",
            tip="run it as root on the workshop's machine: `sudo -E uv run course workshop hub "
            "...` (see the README, 'Run a workshop on JupyterHub').",
        )


def prepare(place: Layout, workshop_name: str, names: list[str]) -> None:
    """Everything the hub needs before it starts; safe to re-run (each step checks first)."""
    running = running_hub(place)
    if running:
        raise SetupError(
            f"A hub is already running in {place.home} (pid {running}).",
            tip="stop it first (Ctrl-C where it runs), or give this hub its own folder: --home.",
        )
    stop_leftovers(place)  # a hub killed with -9 leaves its proxy (holding the port) and servers
    for short in roles.validate_names(names):
        check_unix_name(place, short)
    for folder, mode in ((place.home, 0o711), (place.homes, 0o711), (place.state, 0o700)):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(mode)
    serving = place.workshop()
    if serving not in (None, workshop_name):
        raise SetupError(
            f"{place.home} is the hub of workshop '{serving}'.",
            tip="end that workshop first (`course workshop end`), or give this one its own "
            "folder with --home.",
        )
    place.owner.write_text(workshop_name + "\n")
    install_proxy(place)
    build_environment(place)
    refresh_snapshot(place)


def trusting_rules(server: Server) -> list[str]:
    """The server's pg_hba.conf lines that let anyone in without a password (`trust`).

    On the hub's machine every learner runs code: with `trust` on the socket or on 127.0.0.1, a
    learner's kernel can log in as `postgres` and nothing the course does can stop it.
    """
    from course_db.databases import admin

    with admin(server) as conn:
        rows = conn.execute(
            "SELECT line_number, type, address FROM pg_hba_file_rules "
            "WHERE auth_method = 'trust' ORDER BY line_number"
        ).fetchall()
    return [
        f"line {line} ({kind}{' ' + address if address else ''})" for line, kind, address in rows
    ]


def learner_python() -> str:
    """A Python 3.11+ that every learner may run: the pyenv or uv Python under /root may not be."""
    candidates = (sys.base_prefix + "/bin/python3", "/usr/bin/python3", "/usr/local/bin/python3")
    for candidate in candidates:
        path = Path(candidate)
        if path.exists() and world_can_run(path) and _version(path) >= (3, 11):
            return str(path)
    raise SetupError(
        "There is no Python 3.11+ here that learners' Unix users may run.",
        tip="install one for everybody (Debian: `apt-get install python3`), then try again.",
    )


def world_can_run(path: Path) -> bool:
    """True if a user who is not the owner may execute `path` (every folder on the way too)."""
    real = path.resolve()
    if not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)


def _version(python: Path) -> tuple[int, int]:
    out = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.split()
    return (int(out[0]), int(out[1])) if len(out) == 2 else (0, 0)


def build_environment(place: Layout) -> None:
    """The course's locked dependencies, JupyterHub's included, in a venv learners can run.

    The course's own code is not installed there: each learner imports it from their own copy
    (`PYTHONPATH`), so `paths.ROOT` is their copy and their exercises are theirs.
    """
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
    if uv is None:
        raise SetupError("`uv` is not on PATH.", tip="install it: `pip install uv`.")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(place.venv)}
    env.pop("VIRTUAL_ENV", None)
    command = [
        uv, "sync", "--frozen", "--no-dev", "--group", "hub", "--no-install-project",
        "--compile-bytecode", "--quiet", "--python", learner_python(),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(
            f"Could not build the learners' environment in {place.venv}: "
            f"{done.stderr.strip().splitlines()[-1:]}",
            tip="run the same command by hand to see all of it: " + " ".join(map(str, command)),
        )
    course = place.venv / "bin" / "course"  # what `[project.scripts]` would install
    course.write_text(
        f"#!{place.python}\nimport sys\nfrom course_db.cli import main\nsys.exit(main())\n"
    )
    course.chmod(0o755)


def install_proxy(place: Layout) -> None:
    """configurable-http-proxy, JupyterHub's proxy, from npm into `npm/` (once)."""
    if place.proxy().exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError(
            "JupyterHub needs configurable-http-proxy, from npm, and npm is not installed.",
            tip="install Node.js and npm (Debian: `apt-get install nodejs npm`), then try again.",
        )
    done = subprocess.run(
        [npm, "install", "--no-fund", "--no-audit", "--prefix", place.npm,
         f"configurable-http-proxy@{PROXY_VERSION}"],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0 or not place.proxy().exists():
        raise SetupError(
            f"npm could not install configurable-http-proxy: {done.stderr.strip()[-300:]}",
            tip=f"try by hand: npm install --prefix {place.npm} "
            f"configurable-http-proxy@{PROXY_VERSION}",
        )


def refresh_snapshot(place: Layout) -> None:
    """A world-readable copy of the course, from which each learner copies theirs at first login.

    Learners copy it as themselves (`hub_learner.py`), so the hub never writes in their homes.
    """
    fresh = place.home / "course.new"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(ROOT, fresh, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED))
    for folder, _dirs, files in os.walk(fresh):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644)
    shutil.rmtree(place.snapshot, ignore_errors=True)
    fresh.rename(place.snapshot)


def start(
    place: Layout,
    workshop_name: str,
    names: list[str],
    admins: list[str],
    *,
    bind: str,
    port: int,
    cull_idle: int,
    db_host: str | None,
) -> None:
    """Run JupyterHub (this process becomes the hub: Ctrl-C or SIGTERM stops it and every
    learner's server)."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(
        COURSE_HUB_HOME=str(place.home),
        COURSE_WORKSHOP=workshop_name,
        COURSE_HUB_LEARNERS=",".join(names),
        COURSE_HUB_ADMINS=",".join(admins),
        COURSE_HUB_BIND=bind,
        COURSE_HUB_PORT=str(port),
        COURSE_HUB_CULL_IDLE=str(cull_idle),
        COURSE_HUB_DB_HOST=db_host or "",
        PYTHONPATH=str(ROOT),  # the hub and the board import the course from this checkout
    )
    config = ROOT / "workshop" / "jupyterhub_config.py"
    hub = place.venv / "bin" / "jupyterhub"
    os.chdir(place.state)
    os.execve(hub, [str(hub), "-f", str(config)], env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- at each login (in the hub, as root) ---------------------------------------------------------


def check_unix_name(place: Layout, name: str) -> None:
    """Refuse a learner whose name is a Unix account the hub did not make (`root`, `postgres`...):
    their server would run as that account."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if not place.made(entry):
        raise SetupError(
            f"The learner name '{name}' is a Unix account of this machine that the hub did not "
            "make: their JupyterLab would run as that account.",
            tip="rename the learner in the class list (e.g. `ana2`).",
        )


def ensure_unix_user(place: Layout, name: str) -> pwd.struct_passwd:
    """The learner's own Unix user, with a home only they can read."""
    check_unix_name(place, name)
    home = place.homes / name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", home, "--comment", LEARNER_MARK,
             "--shell", "/bin/bash", "--user-group", name],
            check=True, capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam(name)
    home.chmod(0o700)
    return entry


def prepare_learner(
    place: Layout, server: Server, workshop_name: str, name: str
) -> tuple[pwd.struct_passwd, workshop.JoinLine]:
    """(Unix user, join line) of the learner `name`, made on their first login."""
    if roles.normalize(name) != name:
        raise SetupError(f"'{name}' is not a learner name of this hub.", tip="ask the instructor.")
    with _preparing:
        entry = ensure_unix_user(place, name)
        host = os.environ.get("COURSE_HUB_DB_HOST")
        (line,) = workshop.init(server, workshop_name, [name], host)
    return entry, line


def learner_environment(place: Layout, url: str) -> dict[str, str]:
    """What the learner's server starts with: their URL, the shared venv, the snapshot to copy."""
    return {
        "COURSE_DATABASE_URL": url,
        "COURSE_HUB_SNAPSHOT": str(place.snapshot),
        "PATH": f"{place.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(place.snapshot),  # hub_learner switches it to the learner's copy
    }


def spawn_hook(place: Layout, workshop_name: str) -> Callable[[Any], Awaitable[None]]:
    """The `Spawner.pre_spawn_hook`: prepares the learner off the hub's event loop."""
    server = get_server()  # the admin URL, from the hub's own environment

    async def pre_spawn_hook(spawner: Any) -> None:  # a JupyterHub Spawner
        name = spawner.user.name
        entry, line = await asyncio.to_thread(prepare_learner, place, server, workshop_name, name)
        spawner.environment.update(learner_environment(place, line.url))
        spawner.notebook_dir = str(Path(entry.pw_dir) / COPY_NAME)

    return pre_spawn_hook


def board_environment(workshop_name: str) -> dict[str, str]:
    """The board service runs as the hub (root), from the instructor's checkout, with the admin
    URL: it reads every learner's progress."""
    return {
        "COURSE_DATABASE_URL": os.environ["COURSE_DATABASE_URL"],
        "COURSE_WORKSHOP": workshop_name,
        "PYTHONPATH": str(ROOT),
    }


def running_hub(place: Layout) -> int | None:
    """The pid of this folder's JupyterHub, if it is running."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((place.state / "jupyterhub.pid").read_text())
        if pid in processes.started_from(place.home):
            return pid
    return None


def stop_leftovers(place: Layout) -> None:
    """SIGKILL every process started from the hub's folder: what a hub killed with -9 left
    running (its proxy, its services, learners' servers and kernels)."""
    left = processes.started_from(place.home)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10  # SIGKILL is asynchronous: the proxy's port, the users'
    while any(processes.pid_alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.05)  # processes are free only once they are gone


def _until_done(command: list[str], seconds: float = 10) -> subprocess.CompletedProcess[str]:
    """Run `command` until it succeeds or `seconds` pass (processes just killed may linger)."""
    deadline = time.monotonic() + seconds
    while True:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(0.1)


# --- the end -------------------------------------------------------------------------------------


def hub_learners(place: Layout, workshop_name: str) -> list[str]:
    """The Unix users the hub of `workshop_name` made (marked, with a home in its `home/`)."""
    if os.geteuid() != 0 or place.workshop() != workshop_name:
        return []
    return sorted(entry.pw_name for entry in pwd.getpwall() if place.made(entry))


def remove_learners(place: Layout, workshop_name: str) -> list[str]:
    """Delete the hub's learner users (their processes first) and their homes; return their
    names. The hub's folder is kept, with its environment, for the next workshop."""
    names = hub_learners(place, workshop_name)
    stop_leftovers(place)
    for name in names:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        deleted = _until_done(["userdel", "--remove", name])  # refused while a process remains
        if deleted.returncode != 0:
            raise SetupError(
                f"Could not delete the learner account {name}: {deleted.stderr.strip()}",
                tip=f"stop its processes (`pkill -KILL -u {name}`), then run "
                "`course workshop end` again.",
            )
        shutil.rmtree(place.homes / name, ignore_errors=True)
    place.owner.unlink(missing_ok=True)
    for leftover in place.state.glob("passwords.dbm*"):
        leftover.unlink()  # the next class chooses its own passwords
    return names
