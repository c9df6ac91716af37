"""The class board as a JupyterHub service: the instructor opens it from the hub, learners cannot.

JupyterHub starts this (`workshop/jupyterhub_config.py`, service `board`) with the admin URL in
its environment; the page is the same as `course workshop board --serve`'s. Who may see it is the
hub's decision, through its own OAuth: the service accepts a user whose token carries
`access:services!service=board`, which JupyterHub gives its admins and nobody else; learners get
403 from JupyterHub's own check (`HubOAuthenticated`).
"""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from course_db.board import load_board
from course_db.board_web import board_json, render_html
from course_db.server import get_server
from course_db.workshop import workshop_name

REFRESH = 10.0


class BoardPage(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # untyped mixin
    """GET the board (HTML, or JSON at `board.json`); nothing else."""

    def initialize(self, as_json: bool = False) -> None:
        self.as_json = as_json

    @web.authenticated
    async def get(self) -> None:
        board = await asyncio.to_thread(load_board, get_server(), workshop_name())
        self.set_header("Cache-Control", "no-store")
        if self.as_json:
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(board_json(board)))
        else:
            self.write(render_html(board, REFRESH))


def main() -> None:
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    where = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    app = web.Application(
        [
            (prefix, BoardPage),
            (url_path_join(prefix, "board.json"), BoardPage, {"as_json": True}),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
    )
    app.listen(where.port or 80, where.hostname or "127.0.0.1")
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
