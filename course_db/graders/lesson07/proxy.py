"""A database server that comes up late, or never: lesson 07's stand-in for a container start.

Starting a real PostgreSQL for each check (initdb) takes seconds. Instead, each `Gate` reserves a
free TCP port on 127.0.0.1 and forwards what arrives there to the course's real server (a unix
socket for the embedded one, host:port for an external one). Until `open()` the port is bound but
not listening, so a client's connection is refused, exactly as while a database container boots;
a gate that is never opened is a server that never comes up. `pg_isready` and `alembic` see one
ordinary server on 127.0.0.1:<port>.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

from course_db.server import Server

CHUNK = 65536


class Gate:
    """A TCP port in front of `server`; closed (connections refused) until `open()`."""

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._listener: asyncio.base_events.Server | None = None

    def open(self) -> None:
        """Start accepting connections (from any thread); returns once the port listens."""
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=5)

    async def _open(self) -> None:
        self._listener = await asyncio.start_server(self._forward, sock=self._sock)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._upstream()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        port = self._server.port or 5432
        if self._server.kind == "embedded":
            return await asyncio.open_unix_connection(f"{self._server.host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self._server.host, port)

    def close(self) -> None:
        if self._listener is not None:
            listener = self._listener
            self._loop.call_soon_threadsafe(listener.close)
        else:
            self._sock.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


@contextlib.contextmanager
def gates(server: Server, count: int) -> Iterator[list[Gate]]:
    """`count` closed gates in front of `server`, served by one event loop in a daemon thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    made = [Gate(server, loop) for _ in range(count)]
    try:
        yield made
    finally:
        for gate in made:
            gate.close()
        with contextlib.suppress(Exception):  # the connections still open: end them quietly
            asyncio.run_coroutine_threadsafe(_cancel_others(), loop).result(timeout=2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)


async def _cancel_others() -> None:
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.cancel()
