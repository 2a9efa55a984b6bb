"""Ports on the loopback interface, for the servers a test starts itself."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on right now (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def listening(port: int) -> bool:
    """Return whether something accepts connections on 127.0.0.1:``port`` (a poll probe)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
