"""The `course` command: a thin layer over the library; errors become ERROR/TIP and exit codes.

Exit codes: 0 done (or passed), 1 the learner's work fails a check, 2 a setup problem.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from course_db.db_cli import cmd_db
from course_db.errors import SetupError
from course_db.isolation import IN_CHECK
from course_db.output import bar
from course_db.paths import ROOT

if TYPE_CHECKING:
    pass

log = logging.getLogger("course_db")


def cmd_lab(args: argparse.Namespace) -> int:
    """Start the database, then JupyterLab on the course's notebooks, opening lesson 01."""
    from course_db import databases
    from course_db.bytecode import compile_in_background
    from course_db.lab import first_notebook, lab_environment
    from course_db.server import get_server

    server = get_server()
    log.info("Database: %s", server.describe())
    databases.prepare_templates(server)
    compile_in_background()  # later `course check`s from a shell import in half the time
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
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    # The notebook to open first: the browser lands on it; the URL printed stays `/lab?token=`.
    return subprocess.call(
        [*argv, *extra, str(first_notebook())], env=lab_environment(ROOT), cwd=ROOT
    )


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
    from course_db.isolation import settle
    from course_db.lessons import all_lessons
    from course_db.runner import Spares, run_check

    if not args.all and not args.lesson:
        raise SetupError("Which lesson?", tip="`uv run course check 01`, or `--all`.")
    numbers = (
        [lesson.number for lesson in all_lessons() if lesson.ready] if args.all else [args.lesson]
    )
    worst = 0
    graded_as = shared_server_class(args)
    for done, number in enumerate(numbers):
        if len(numbers) > 1:  # long work says where it is: `--all`, `course verify`
            log.info(
                "[%s] lesson %s (%d of %d)", bar(done, len(numbers)), number, done + 1, len(numbers)
            )
        spares = Spares()
        if graded_as:  # someone else's folder, on a class's server: never with the admin's rights
            from course_db.grading_role import check_as_throwaway_role
            from course_db.server import get_server

            report = check_as_throwaway_role(
                get_server(), graded_as, number, args.project, args.timeout
            )
        else:
            report = run_check(number, args.project, args.timeout, spares)
        stream = sys.stderr if report.status == "error" else sys.stdout
        print(report.as_text(verbose=args.verbose), file=stream, flush=True)
        if args.verbose:
            print(report.detail + f"({report.duration:.2f} s)")
        settle()  # the check's guardian drops its databases: milliseconds, after the answer
        spares.tidy_in_background(report.lesson)
        worst = max(worst, report.exit_code)
    return worst


def shared_server_class(args: argparse.Namespace) -> str | None:
    """The class whose throwaway role grades `--project` (see `grading_role.py`), or None."""
    if not args.project:
        return None
    from course_db.grading_role import class_for_grading
    from course_db.server import get_server
    from course_db.workshop import workshop_name

    return class_for_grading(get_server(), getattr(args, "workshop", None) or workshop_name())


def cmd_watch(args: argparse.Namespace) -> int:
    """Check an exercise again every time you save a file in it (Ctrl-C stops)."""
    from watchfiles import DefaultFilter, watch

    from course_db.isolation import settle
    from course_db.lessons import get_lesson
    from course_db.runner import Spares, resolve_project, run_check

    lesson = get_lesson(args.lesson)
    folder = resolve_project(lesson, args.project)
    spares = Spares()

    def answer() -> None:
        report = run_check(lesson.number, args.project, args.timeout, spares)
        if sys.stdout.isatty():
            print("\033[2J\033[H", end="")  # a fresh screen for each answer
        print(report.as_text(), flush=True)
        print(
            f"\nWatching {shown(folder)}: save a file to check again, Ctrl-C to stop.", flush=True
        )
        spares.tidy(lesson.number)  # the next check's database, while the learner edits

    # The watcher is armed before the first check, so a save while a check runs (or while the
    # next check's database is prepared) is not missed: it starts the next check. It wakes every
    # 100 ms with no change (an empty set, skipped) only so that the first check starts at once.
    # Bytecode, editors' swap files and dot-folders are not edits of the exercise.
    changes = watch(
        folder,
        watch_filter=DefaultFilter(),
        debounce=400,
        raise_interrupt=False,
        yield_on_timeout=True,
        rust_timeout=100,
    )
    for number, changed in enumerate(changes):
        if changed or number == 0:
            answer()
    settle()
    return 0


def shown(folder: Path) -> str:
    return str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else str(folder)


def cmd_verify(args: argparse.Namespace) -> int:
    """Grade every ready lesson's solution: the instructor's smoke test."""
    os.environ["COURSE_SOURCE"] = "solutions"
    args.all, args.lesson, args.project = True, None, None
    return cmd_check(args)


def cmd_alembic(args: argparse.Namespace) -> int:
    """Run the real Alembic CLI on your exercise, against its exercise database."""
    from course_db import databases
    from course_db.alembic_runner import run_alembic
    from course_db.lesson_databases import exercise_database
    from course_db.lessons import get_lesson
    from course_db.server import get_server

    timeout, alembic_args = own_options(args.timeout, args.alembic_args)
    lesson = get_lesson(args.lesson)
    url = exercise_database(lesson)
    extra_env = databases.extra_env(get_server(), lesson, "exercise")  # lesson 08's two URLs
    # Offline SQL goes to stdout and Alembic's log lines to stderr, as with the plain CLI, so
    # `course alembic NN -- upgrade head --sql > migration.sql` writes only SQL to the file.
    offline = "--sql" in alembic_args
    result = run_alembic(
        lesson.exercise_dir,
        alembic_args,
        url,
        timeout=timeout,
        extra_env=extra_env,
        separate_stderr=offline,
    )
    sys.stdout.write(result.output)
    sys.stderr.write(result.errors)
    if result.timed_out:
        print(f"course: alembic was stopped after {timeout:g} s.", file=sys.stderr)
        return 1
    return result.returncode


def own_options(timeout: float, rest: list[str]) -> tuple[float, list[str]]:
    """The course's `--timeout` from what follows the lesson, up to `--`; the rest is Alembic's.

    `course alembic 01 --timeout 5 -- current` must not hand `--timeout 5` to Alembic.
    """
    rest = list(rest)
    while rest and (rest[0] == "--timeout" or rest[0].startswith("--timeout=")):
        option = rest.pop(0)
        value = option.partition("=")[2] if "=" in option else (rest.pop(0) if rest else "")
        timeout = seconds(value)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return timeout, rest


def seconds(text: str) -> float:
    """A time limit from the command line: a number of seconds above 0 and at most 600."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value <= 600):  # False for nan and inf too
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time limit: give a number of seconds above 0 and at most 600"
        )
    return value


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw your exercise's revision graph, marking the revision its database is at."""
    from course_db import revision_graph
    from course_db.lesson_databases import exercise_database
    from course_db.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    current = revision_graph.database_revisions(exercise_database(lesson))
    draw = revision_graph.mermaid if args.mermaid else revision_graph.text
    print(draw(lesson.exercise_dir, current))
    return 0


def cmd_hint(args: argparse.Namespace) -> int:
    """Show the next hint, for the first task your last check failed (--seen: those seen)."""
    from course_db import hints
    from course_db.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    print(hints.seen_hints(lesson) if args.seen else hints.next_hint(lesson).as_text())
    return 0


def cmd_solution(args: argparse.Namespace) -> int:
    """Show how your exercise differs from the solution (asks first)."""
    from course_db.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    question = f"Show the solution of lesson {lesson.number}? Try `course hint` first."
    if not args.yes and not confirm(question, "add --yes to show the solution."):
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
    from course_db.lessons import get_lesson
    from course_db.runner import Spares
    from course_db.server import get_server
    from course_db.starter import restore_starter

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


def confirm(question: str, without_terminal: str) -> bool:
    """Ask a yes/no question; without a terminal, refuse with `without_terminal` as the TIP."""
    if not sys.stdin.isatty():
        raise SetupError("Not asking without a terminal.", tip=without_terminal)
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


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
        "--timeout", type=seconds, help="time limit in seconds (default: the lesson's)"
    )
    check.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show timings and the checker's traceback if it fails",
    )
    check.add_argument(
        "--workshop",
        help="with --project on a class's server: the class whose throwaway role runs the "
        "folder's code (default: $COURSE_WORKSHOP or `class`)",
    )
    check.set_defaults(func=cmd_check)

    watch = sub.add_parser("watch", help=cmd_watch.__doc__, description=cmd_watch.__doc__)
    watch.add_argument("lesson", help="lesson number, e.g. 01")
    watch.add_argument("--project", help="watch the Alembic project in this folder instead")
    watch.add_argument("--timeout", type=seconds, help="time limit per check in seconds")
    watch.set_defaults(func=cmd_watch)

    verify = sub.add_parser("verify", help=cmd_verify.__doc__, description=cmd_verify.__doc__)
    verify.add_argument("--timeout", type=seconds, help="time limit per lesson in seconds")
    verify.set_defaults(func=cmd_verify)

    alembic = sub.add_parser(
        "alembic",
        help=cmd_alembic.__doc__,
        description=cmd_alembic.__doc__,
        usage="course alembic [--timeout SECONDS] NN -- ALEMBIC_ARGS",
    )
    alembic.add_argument("lesson", help="lesson number, e.g. 01")
    alembic.add_argument("--timeout", type=seconds, default=120.0, help="time limit in seconds")
    alembic.add_argument("alembic_args", nargs=argparse.REMAINDER, help="arguments for alembic")
    alembic.set_defaults(func=cmd_alembic)

    graph = sub.add_parser("graph", help=cmd_graph.__doc__, description=cmd_graph.__doc__)
    graph.add_argument("lesson", help="lesson number, e.g. 09")
    graph.add_argument(
        "--mermaid", action="store_true", help="print Mermaid text (for a Markdown cell or GitHub)"
    )
    graph.set_defaults(func=cmd_graph)

    hint = sub.add_parser("hint", help=cmd_hint.__doc__, description=cmd_hint.__doc__)
    hint.add_argument("lesson", help="lesson number, e.g. 01")
    hint.add_argument("--seen", action="store_true", help="show again the hints you have seen")
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
        choices=["url", "psql", "status", "prune", "stop"],
        help="url: print a URL; psql: open psql; status: what runs where, databases and sizes; "
        "prune: remove what ended checks left behind; stop: stop the embedded server",
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
    if os.environ.get(IN_CHECK):
        print(
            "ERROR The course's commands do not run inside a check: a check grades a copy of "
            "your project on its own database, and must not touch your exercise.",
            file=sys.stderr,
        )
        print(
            "TIP   in scripts a check runs (entrypoint.sh, repair.sh), call alembic itself.",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("course: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        code: int = args.func(args)
        return code
    except SetupError as exc:
        if args.verbose:
            raise
        print(f"ERROR {exc.message}", file=sys.stderr)
        if exc.tip:
            print(f"TIP   {exc.tip}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ncourse: interrupted; nothing was left running.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
