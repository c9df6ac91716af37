"""`course workshop board --serve`: the class board as a read-only page that refreshes itself.

For the projector: a table (learner x lesson) and a bar chart of how far the class is in each
lesson, drawn as inline SVG, so the page needs no network (a classroom may have none) and loads no
script from anywhere. It listens on 127.0.0.1 only and answers GET alone: nothing on it changes
anything. Each request reads the server afresh; the page reloads itself every few seconds.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import sys
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from course_db.board import Board, ago, load_board
from course_db.errors import SetupError
from course_db.server import Server

BAR_HEIGHT = 160
BAR_WIDTH = 40
GAP = 16
COLORS = {"passed": "#2e7d32", "failing": "#f9a825", "not started": "#cfd8dc"}


def chart_svg(board: Board) -> str:
    """One stacked bar per lesson: passed, failing, not started (counts of learners)."""
    total = max(len(board.rows), 1)
    width = len(board.lessons) * (BAR_WIDTH + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" id="chart" width="{width}" '
        f'height="{BAR_HEIGHT + 40}" '
        'aria-label="learners per lesson: passed, failing, not started">'
    ]
    for index, lesson in enumerate(board.lessons):
        x = GAP + index * (BAR_WIDTH + GAP)
        y = BAR_HEIGHT + 10
        for status in ("passed", "failing", "not started"):
            count = sum(row.cells[lesson].status == status for row in board.rows)
            height = round(BAR_HEIGHT * count / total)
            if count:
                y -= height
                parts.append(
                    f'<rect class="bar {status.replace(" ", "-")}" data-lesson="{lesson}" '
                    f'data-count="{count}" x="{x}" y="{y}" width="{BAR_WIDTH}" '
                    f'height="{height}" fill="{COLORS[status]}"><title>{lesson}: {count} '
                    f"{status}</title></rect>"
                )
        parts.append(
            f'<text x="{x + BAR_WIDTH / 2}" y="{BAR_HEIGHT + 30}" text-anchor="middle" '
            f'font-size="14">{lesson}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(board: Board, refresh: float, now: dt.datetime | None = None) -> str:
    """The whole page: no script, no external resource; a meta refresh reloads it."""
    head = "".join(f"<th>{lesson}</th>" for lesson in board.lessons)
    body = []
    for row in board.rows:
        cells = "".join(
            f'<td class="{row.cells[n].status.replace(" ", "-")}">'
            f"{html.escape(row.cells[n].short())}</td>"
            for n in board.lessons
        )
        body.append(
            f'<tr data-learner="{html.escape(row.learner)}"><th>{html.escape(row.learner)}</th>'
            f"{cells}<td>{row.checks}</td><td>{row.hints}</td><td>{ago(row.last, now)}</td></tr>"
        )
    legend = "".join(
        f'<span><i style="background:{color}"></i>{name}</span>' for name, color in COLORS.items()
    )
    title = f"Class board: {html.escape(board.workshop)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh:g}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
th, td {{ border: 1px solid #ddd; padding: .3rem .6rem; text-align: center; }}
td.passed {{ background: #c8e6c9; }} td.failing {{ background: #fff3c4; }}
td.not-started {{ color: #90a4ae; }}
.legend span {{ margin-right: 1rem; }}
.legend i {{ display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{len(board.rows)} learners. This page reloads every {refresh:g} s.</p>
{chart_svg(board)}
<div class="legend">{legend}</div>
<table id="board"><thead><tr><th>learner</th>{head}<th>checks</th><th>hints</th>
<th>last activity</th></tr>
</thead><tbody>{"".join(body)}</tbody></table>
<p>passed: the lesson's check passed once; task N: the last check fails at task N;
-: not checked yet.</p>
</body></html>
"""


def board_json(board: Board) -> dict[str, object]:
    """The board as data: for scripts, and for tests that read what the page shows."""
    return {
        "workshop": board.workshop,
        "lessons": board.lessons,
        "passed": board.passed_per_lesson(),
        "learners": {
            row.learner: {n: row.cells[n].short() for n in board.lessons} for row in board.rows
        },
    }


class BoardHandler(BaseHTTPRequestHandler):
    """GET / (the page) and GET /board.json; every other method or path is refused."""

    server_version = "course-board"

    def __init__(
        self, *args: Any, course_server: Server, workshop: str, refresh: float, **kwargs: Any
    ) -> None:
        self.course_server, self.workshop, self.refresh = course_server, workshop, refresh
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if self.path not in ("/", "/board.json"):
            self.send_error(404)
            return
        try:
            board = load_board(self.course_server, self.workshop)
        except SetupError as exc:
            self.send_error(503, exc.message)
            return
        if self.path == "/board.json":
            self._send(json.dumps(board_json(board)).encode(), "application/json")
        else:
            self._send(render_html(board, self.refresh).encode(), "text/html; charset=utf-8")

    def _refuse(self) -> None:
        self.send_error(405, "The board is read-only.")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def _send(self, payload: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # a request line every few seconds per screen would bury the terminal


def serve(server: Server, workshop: str, port: int, refresh: float = 10.0) -> int:
    """Serve the board on 127.0.0.1:`port` until Ctrl-C."""
    load_board(server, workshop)  # a wrong URL or workshop fails here, with its TIP
    handler = partial(BoardHandler, course_server=server, workshop=workshop, refresh=refresh)
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise SetupError(
            f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}.",
            tip="pick another port: `course workshop board --serve 8766`.",
        ) from None
    print(f"The class board is at http://127.0.0.1:{httpd.server_port}/ (Ctrl-C stops it).")
    sys.stdout.flush()
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0
