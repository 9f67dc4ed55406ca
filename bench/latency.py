"""A database farther away: a TCP proxy on 127.0.0.1 that delays everything it passes on.

``delayed(url, seconds)`` runs the proxy in a process of its own (multiprocessing spawn, so
that its work holds no lock of the bench's or the server's) and yields ``url`` pointed at it:
each byte sent either way arrives ``seconds`` later, so a round trip to the database takes
twice that longer, as from another host. Order is kept; nothing leaves this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Iterator
from multiprocessing.connection import Connection

from sqlalchemy.engine import make_url


def _serve(target: tuple[str, int], delay: float, ready: Connection) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while data := await reader.read(65536):
            # Later data is written later: call_later runs callbacks in order of their time.
            loop.call_later(delay, writer.write, data)
        loop.call_later(delay, writer.close)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer),
                             return_exceptions=True)

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        ready.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def delayed(url: str, seconds: float) -> Iterator[str]:
    """``url`` (PostgreSQL) through a proxy that delays each direction by ``seconds``."""
    parsed = make_url(url)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_serve, args=((parsed.host or "127.0.0.1", parsed.port or 5432), seconds, theirs),
        daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the delaying proxy did not start")
        port = ours.recv()
        yield parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.join(10)
