"""A forwarder that can be closed: PostgreSQL (or any TCP server) behind a Unix
socket, to cut a service off from its database and give it back.

Run as its own process; it reads commands on stdin and answers on stdout, so a
test waits on the answer, not on the clock:

    close   stop listening and drop every forwarded connection -> "closed"
    open    listen again on the same socket                    -> "opened"
    quit                                                       -> exits

A service points at it with `postgresql://user@/db?host=<dir>&port=<port>`:
libpq looks for `<dir>/.s.PGSQL.<port>`.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from urllib.parse import urlparse


class Forwarder:
    def __init__(self, path: str, target_host: str, target_port: int):
        self.path, self.target = path, (target_host, target_port)
        self.server: asyncio.AbstractServer | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def open(self):
        if self.server is None:
            if os.path.exists(self.path):
                os.unlink(self.path)
            self.server = await asyncio.start_unix_server(self._serve, path=self.path)

    async def close(self):
        if self.server is not None:
            self.server.close()
            self.server = None
            if os.path.exists(self.path):
                os.unlink(self.path)
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _serve(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.links.update((client_writer, server_writer))
        await asyncio.gather(self._pipe(client_reader, server_writer),
                             self._pipe(server_reader, client_writer))

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.links.discard(writer)
            writer.transport.abort()


class ClosableDatabase:
    """A PostgreSQL database reached through a forwarder this object controls."""

    def __init__(self, database_url: str, port: int = 6543):
        parts = urlparse(database_url)
        self.folder = tempfile.mkdtemp(prefix="cea-fwd-")
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, __file__, os.path.join(self.folder, f".s.PGSQL.{port}"),
             parts.hostname or "127.0.0.1", str(parts.port or 5432)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._expect("opened")
        self.url = f"postgresql://{parts.username or 'postgres'}@/{parts.path[1:]}?host={self.folder}&port={port}"

    def _command(self, command: str, answer: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self._expect(answer)

    def _expect(self, answer: str):
        line = self.process.stdout.readline().strip()
        if line != answer:
            raise RuntimeError(f"forwarder answered {line!r}, expected {answer!r}")

    def close(self):
        """The database is gone: new connections refused, open ones cut."""
        self._command("close", "closed")

    def open(self):
        self._command("open", "opened")

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)


async def main(path: str, host: str, port: int):
    forwarder = Forwarder(path, host, port)
    await forwarder.open()
    print("opened", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "close":
            await forwarder.close()
            print("closed", flush=True)
        elif line == "open":
            await forwarder.open()
            print("opened", flush=True)
        elif line == "quit":
            break
    await forwarder.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
