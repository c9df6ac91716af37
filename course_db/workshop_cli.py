"""`course workshop init|add|board|end`: the instructor's commands, run with the admin URL."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from course_db.errors import SetupError

if TYPE_CHECKING:
    from course_db.server import Server
    from course_db.workshop import JoinLine


def cmd_workshop(args: argparse.Namespace) -> int:
    """Run a workshop on a shared server: learner roles, join lines, the class board, the end."""
    from course_db.server import get_server

    server = get_server()
    code: int = args.action_func(args, server)
    return code


def _init(args: argparse.Namespace, server: Server) -> int:
    from course_db import workshop

    names = read_learners(Path(args.learners))
    lines = workshop.init(server, args.workshop, names, args.host, args.connection_limit)
    _print_join(args.workshop, lines)
    return 0


def _add(args: argparse.Namespace, server: Server) -> int:
    from course_db import workshop

    lines = workshop.init(server, args.workshop, [args.name], args.host, args.connection_limit)
    _print_join(args.workshop, lines)
    return 0


def _print_join(name: str, lines: list[JoinLine]) -> None:
    from course_db import workshop

    for line in lines:
        print(line.text())
    print(
        f"Wrote {len(lines)} join line(s) to {workshop.join_file(name)} (mode 600). Give each "
        "learner their own line, and nobody else's.",
        file=sys.stderr,
    )


def _board(args: argparse.Namespace, server: Server) -> int:
    from course_db import board

    if args.serve is not None:
        from course_db import board_web

        return board_web.serve(server, args.workshop, args.serve, args.refresh)
    print(board.render_text(board.load_board(server, args.workshop)))
    return 0


def _hub(args: argparse.Namespace, server: Server) -> int:
    from course_db import hub, roles, workshop

    hub.require_root()
    workshop.require_admin(server)
    names = list(roles.validate_names(read_learners(Path(args.learners))))
    admins = list(roles.validate_names([args.admin]))
    place = hub.Layout(Path(args.home).absolute())
    trusting = hub.trusting_rules(server)
    if trusting:
        print(
            "WARNING: this PostgreSQL lets anyone in without a password (pg_hba.conf "
            f"{', '.join(trusting)}): a learner's code on this machine could log in as the "
            "superuser. For a real class, use scram-sha-256 there (the compose file does).",
            file=sys.stderr,
            flush=True,
        )
    print(f"Preparing the hub in {place.home} (the first time takes a minute)...", flush=True)
    workshop.init(server, args.workshop, names, args.host, args.connection_limit)
    hub.prepare(place, args.workshop, names + admins)
    print(
        f"JupyterHub for workshop '{args.workshop}': http://{args.bind}:{args.port}/\n"
        f"Log in first as '{admins[0]}' (the admin): the password you choose now is yours from "
        "then on. Then give the address to the class; each learner logs in with their name "
        "from the list and chooses their password. Ctrl-C stops the hub and every learner's "
        "server.",
        flush=True,
    )
    hub.start(
        place,
        args.workshop,
        names,
        admins,
        bind=args.bind,
        port=args.port,
        cull_idle=args.cull_idle,
        db_host=args.host,
    )
    return 0  # not reached: the process became the hub


def _end(args: argparse.Namespace, server: Server) -> int:
    from course_db import hub, workshop
    from course_db.cli import confirm

    plan = workshop.plan_end(server, args.workshop)
    place = hub.Layout(Path(args.home).absolute())
    users = hub.hub_learners(place, args.workshop)
    question = (
        f"End workshop '{args.workshop}': save progress, then drop {len(plan.roles)} "
        f"role(s) and {len(plan.databases)} database(s)"
        + (
            f", and delete the hub's {len(users)} learner account(s) and their homes"
            if users
            else ""
        )
        + "?"
    )
    if not args.yes and not confirm(question, "add --yes to end the workshop from a script."):
        print("Nothing dropped.")
        return 0
    ending = workshop.end(server, args.workshop)
    print(f"Saved the class's progress to {ending.csv}.")
    print(f"Dropped {len(ending.roles)} role(s) and {len(ending.databases)} database(s).")
    if os.geteuid() == 0 and place.workshop() == args.workshop:  # this class's hub folder
        removed = hub.remove_learners(place, args.workshop)  # stops what a dead hub left, too
        print(f"Deleted {len(removed)} learner account(s) of the hub in {place.home}.")
    return 0


def read_learners(path: Path) -> list[str]:
    """One learner name per line; blank lines and `#` comments are skipped."""
    if not path.is_file():
        raise SetupError(f"There is no file {path}.", tip="write one learner name per line.")
    names = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    names = [name for name in names if name]
    if not names:
        raise SetupError(f"{path} names no learner.", tip="write one learner name per line.")
    return names


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from course_db.paths import DEFAULT_HUB_HOME as DEFAULT_HOME
    from course_db.workshop import DEFAULT_CONNECTION_LIMIT, workshop_name

    parser = sub.add_parser("workshop", help=cmd_workshop.__doc__, description=cmd_workshop.__doc__)
    parser.set_defaults(func=cmd_workshop)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(action: argparse.ArgumentParser) -> None:
        action.add_argument(
            "--workshop",
            default=workshop_name(),
            help="the class's name (default: $COURSE_WORKSHOP or `class`)",
        )

    def hub_home(action: argparse.ArgumentParser) -> None:
        action.add_argument(
            "--home",
            default=os.environ.get("COURSE_HUB_HOME") or DEFAULT_HOME,
            help=f"the hub's folder: environment, learners' homes, state (default {DEFAULT_HOME})",
        )

    def learner_options(action: argparse.ArgumentParser) -> None:
        action.add_argument(
            "--host",
            help="HOST:PORT learners connect to (default: the admin URL's), e.g. 10.0.0.5:5432",
        )
        action.add_argument(
            "--connection-limit",
            type=int,
            default=DEFAULT_CONNECTION_LIMIT,
            help=f"connections per learner (default {DEFAULT_CONNECTION_LIMIT})",
        )

    init = actions.add_parser(
        "init",
        help="create the class: a role per learner, templates, progress; print join lines",
    )
    init.add_argument("--learners", required=True, help="a file with one learner name per line")
    common(init)
    learner_options(init)
    init.set_defaults(action_func=_init)

    add = actions.add_parser("add", help="add one learner to the class; print their join line")
    add.add_argument("name", help="the learner's name (letters and digits)")
    common(add)
    learner_options(add)
    add.set_defaults(action_func=_add)

    board = actions.add_parser("board", help="the class's progress: learner x lesson")
    board.add_argument(
        "--serve",
        type=int,
        nargs="?",
        const=8765,
        default=None,
        metavar="PORT",
        help="serve a read-only page on 127.0.0.1:PORT (default 8765) that refreshes itself",
    )
    board.add_argument(
        "--refresh", type=float, default=10.0, help="seconds between refreshes of the page"
    )
    common(board)
    board.set_defaults(action_func=_board)

    hub = actions.add_parser(
        "hub",
        help="run JupyterHub for the class on this machine (as root): learners install nothing",
    )
    hub.add_argument("--learners", required=True, help="a file with one learner name per line")
    hub.add_argument("--admin", default="instructor", help="the hub's admin (default instructor)")
    hub.add_argument(
        "--bind", default="127.0.0.1", help="address the hub listens on (0.0.0.0: the room)"
    )
    hub.add_argument("--port", type=int, default=8000, help="the hub's port (default 8000)")
    hub_home(hub)
    hub.add_argument(
        "--cull-idle",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="stop a learner's server idle this long (default 3600)",
    )
    common(hub)
    learner_options(hub)
    hub.set_defaults(action_func=_hub)

    end = actions.add_parser(
        "end", help="save progress as CSV, drop every role and database of the workshop"
    )
    end.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    hub_home(end)
    common(end)
    end.set_defaults(action_func=_end)
