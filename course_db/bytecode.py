"""Compile the course's libraries to bytecode once, in the background of `course lab`.

`uv run` syncs the environment without compiling it, and where `PYTHONDONTWRITEBYTECODE` is set
(this course's machines set it) Python never caches what it compiles: every `course check` from a
shell then compiles Alembic, SQLAlchemy and psycopg again (0.8 s instead of 0.3 s of imports).
`[tool.uv] compile-bytecode` would make every `uv run` compile again, and say so on stderr, so
the course does it itself: one `compileall` of site-packages, niced, while JupyterLab starts; a
marker holding the lock file's hash says it is done (a changed lock compiles what is new).
Reading `.pyc` files needs no permission to write them, so the flag is harmless afterwards.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from course_db.paths import ROOT

MARKER = ".alembic-course-compiled"


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def lock_hash() -> str:
    lock = ROOT / "uv.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16] if lock.exists() else "no lock"


def compiled() -> bool:
    marker = site_packages() / MARKER
    return marker.exists() and marker.read_text().strip() == lock_hash()


def compile_in_background() -> subprocess.Popen[bytes] | None:
    """Start compiling site-packages and the course's own code unless done; None if done or not
    writable (a shared environment, e.g. JupyterHub's, is compiled by whoever built it)."""
    place = site_packages()
    if compiled() or not os.access(place, os.W_OK):
        return None
    script = (
        "import compileall, sys, pathlib\n"
        "for folder in sys.argv[3:]:\n"
        "    compileall.compile_dir(folder, quiet=2, workers=0)\n"  # a package's odd file: skipped
        "pathlib.Path(sys.argv[1]).write_text(sys.argv[2])\n"
    )
    folders = [str(place), str(ROOT / "course_db")]
    return subprocess.Popen(
        [sys.executable, "-c", script, str(place / MARKER), lock_hash(), *folders],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal of `course lab` does not cut it short
        preexec_fn=lambda: os.nice(10),
    )
