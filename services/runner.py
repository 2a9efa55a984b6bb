"""Run the four services as local processes: what ``pipeline up`` does without Docker.

Each service runs the same command as its container in compose.yaml
(``python -m services.<name>``). A signal is forwarded to every child; if one child dies, the
others are stopped too and the exit code says which failed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence

SERVICES: tuple[str, ...] = ("importer", "monitor", "processor", "collector")


def service_command(name: str) -> list[str]:
    """Return the command that runs one service (the container command, with this interpreter)."""
    return ["python", "-m", f"services.{name}"]


def run_all(names: Sequence[str] = SERVICES, grace_s: float = 25.0) -> int:
    """Start the services, wait until one exits or a signal arrives, then stop them all."""
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for name in names:
        command = [sys.executable, *service_command(name)[1:]]
        children[name] = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module
    failed = _wait_for_first_exit(children, stopping)
    _stop_all(children, grace_s)
    if failed is not None:
        name, code = failed
        sys.stderr.write(f"pipeline: service {name} exited with code {code}; stopped the others\n")
        return code or 1
    return 0


def _wait_for_first_exit(
    children: dict[str, subprocess.Popen[bytes]], stopping: list[int]
) -> tuple[str, int] | None:
    while not stopping:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                return name, code
        time.sleep(0.2)  # supervising loop of a CLI process, not test synchronisation
    return None


def _stop_all(children: dict[str, subprocess.Popen[bytes]], grace_s: float) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
