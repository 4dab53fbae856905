"""A throwaway PostgreSQL server for the store's tests.

One server per test session, made with the ``initdb`` and ``pg_ctl`` found on PATH or under
the usual install folders (``/usr/lib/postgresql/<version>/bin`` first among them, newest
version first). It listens only on a Unix socket in a private temporary folder (on Windows, on
127.0.0.1 at a free port), trusts every connection, and runs with fsync off: it holds nothing
worth keeping. Each test gets a database of its own; at the end of the session the server is
stopped and its folder deleted.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system user
(through ``runuser``, or ``su`` where that is missing).

Without PostgreSQL the tests that use it are skipped, unless ``PURPOSE_DESKTOP_REQUIRE_POSTGRES``
is ``1`` (CI sets it): then they fail, so a missing server can never pass for a green run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import URL

REQUIRE_ENV = "PURPOSE_DESKTOP_REQUIRE_POSTGRES"
#: Who runs the server when the tests run as root; Debian's package creates this account.
SYSTEM_USER = "postgres"
SUPERUSER = "postgres"
PORT = 5432  # on a private socket folder nothing else listens on; names the socket file
COMMAND_TIMEOUT_S = 120
LOG_TAIL = 40
_INSTALL_FOLDERS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # the PGDG packages on Fedora, RHEL
    "/usr/local/pgsql/bin",  # built from source
    "/opt/homebrew/opt/postgresql*/bin",  # Homebrew
    "/usr/local/opt/postgresql*/bin",
)
# What could point libpq or the server at another cluster than this one.
_FOREIGN_ENV = (
    "PGDATA",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSERVICE",
    "PGOPTIONS",
)


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server: where to reach it, as its superuser."""

    host: str
    port: int

    def url(self, database: str) -> URL:
        """A SQLAlchemy URL for ``database`` on this server."""
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            host=self.host,
            port=self.port,
            database=database,
        )

    def create_database(self) -> str:
        """Create an empty database with a unique name, and return the name."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that failed halfway may leave a connection behind.
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        # CREATE and DROP DATABASE cannot run inside a transaction: autocommit.
        with psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (and the server they start), or ``None``."""
    on_path = shutil.which("initdb")
    folders = [Path(on_path).parent] if on_path else []
    for pattern in _INSTALL_FOLDERS:
        found = Path("/").glob(pattern.lstrip("/"))
        folders += sorted(found, key=_version_key, reverse=True)
    for folder in folders:
        if all(shutil.which(name, path=str(folder)) for name in ("initdb", "pg_ctl")):
            return folder
    return None


def _version_key(folder: Path) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", str(folder))]


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _unavailable_reason() -> str | None:
    """Why no server can be started here, or ``None`` if one can."""
    if find_binaries() is None:
        return (
            "PostgreSQL is not installed: no initdb and pg_ctl on PATH or under "
            f"{', '.join(_INSTALL_FOLDERS)} (on Debian: apt-get install postgresql)"
        )
    if _running_as_root():
        import pwd

        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return (
                f"the tests run as root, initdb refuses root, and there is no "
                f"{SYSTEM_USER!r} user to run PostgreSQL as"
            )
    return None


class _Cluster:
    """A server's folder: its data, its socket and its log; the commands that run it."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        # Not under pytest's tmp folder: as root that is private to root, and the server
        # runs as another user. mkdtemp makes it private to its owner.
        self.base = Path(tempfile.mkdtemp(prefix="purpose-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        if _running_as_root():
            shutil.chown(self.base, SYSTEM_USER, SYSTEM_USER)

    def run(self, *args: str) -> None:
        """Run a PostgreSQL program from ``binaries`` as the server's user; fail the tests
        with its output (and the server's log) if it fails."""
        command = [str(self.binaries / args[0]), *args[1:]]
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
        done = subprocess.run(
            _as_server_user(command),
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"{shlex.join(command)} failed (exit {done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n{self.log_tail()}",
                pytrace=False,
            )

    def configure(self, listen: dict[str, str]) -> None:
        settings = {
            **listen,
            # Nothing here outlives the session: durability only costs time.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        lines = "".join(f"{name} = '{value}'\n" for name, value in settings.items())
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"\n# Set by tests/support/postgres.py\n{lines}")

    def log_tail(self) -> str:
        if not self.log.exists():
            return "(no server log)"
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "server log:\n" + "\n".join(lines[-LOG_TAIL:])


def _as_server_user(command: list[str]) -> list[str]:
    if not _running_as_root():
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SYSTEM_USER, "--", *command]
    return ["su", SYSTEM_USER, "-s", "/bin/sh", "-c", shlex.join(command)]


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listen(cluster: _Cluster) -> tuple[PostgresServer, dict[str, str]]:
    """Where the server listens, and the settings that say so: a Unix socket in its own
    folder where there are Unix sockets, else 127.0.0.1 (no other address)."""
    if os.name == "nt":
        port = _free_port()
        return PostgresServer("127.0.0.1", port), {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
        }
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": str(cluster.base),
        "port": str(PORT),
    }
    return PostgresServer(str(cluster.base), PORT), settings


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (see the module docstring)."""
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    binaries = find_binaries()
    assert binaries is not None
    cluster = _Cluster(binaries)
    try:
        cluster.run(
            "initdb",
            "--pgdata",
            str(cluster.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        server, listen = _listen(cluster)
        cluster.configure(listen)
        cluster.run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(cluster.data),
            "--log",
            str(cluster.log),
            "--wait",
            "--timeout",
            str(COMMAND_TIMEOUT_S),
        )
        try:
            yield server
        finally:
            cluster.run("pg_ctl", "stop", "--pgdata", str(cluster.data), "--mode", "fast", "--wait")
    finally:
        shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[URL]:
    """A SQLAlchemy URL of an empty database of this test's own, dropped after it."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
