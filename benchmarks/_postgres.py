"""A throwaway PostgreSQL server for benchmarks and tests: start, wait until ready, stop, remove.

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/<N>/bin``, the
newest version found) or any ``initdb``/``postgres`` on ``PATH``. Nothing is installed here:
:func:`find_bindir` returns None when PostgreSQL is missing, and :data:`INSTALL_HINT` says how to
get it (``make postgres``, which runs ``apt-get install postgresql``).

The cluster lives in a fresh temporary folder (data and unix socket), listens on loopback on a
free port, trusts local connections (nothing else can reach it) and is deleted by :meth:`stop`.
PostgreSQL refuses to run as root, so when this process is root the server runs as the
``postgres`` system user (the Debian package creates it), which then owns the folder. Durability
is off (``fsync``, ``synchronous_commit``): the data is thrown away after one run, and a benchmark
of the orchestrator should not measure this machine's disk.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._shared import ChildServer, child_env, end_child, free_port, log_tail

__all__ = [
    "INSTALL_HINT",
    "PostgresServer",
    "PostgresUnavailable",
    "find_bindir",
    "prefect_server",
    "started_or_why_not",
]

#: What to tell a user when PostgreSQL is missing.
INSTALL_HINT = (
    "PostgreSQL server binaries not found (initdb, postgres): run `make postgres` "
    "(apt-get install postgresql) to install them"
)
#: The system user the server runs as when this process is root.
SYSTEM_USER = "postgres"
#: Database role and database the server is created with.
ROLE, DATABASE = "anyint", "anyint"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or its server could not be started here."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: the newest Debian version, else PATH."""
    versions = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            number = re.match(r"\d+", candidate.parent.name)
            versions.append((int(number.group()) if number else 0, candidate))
    if versions:
        return max(versions)[1]
    initdb, postgres = shutil.which("initdb"), shutil.which("postgres")
    if initdb and postgres and Path(initdb).parent == Path(postgres).parent:
        return Path(initdb).parent
    return None


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, as a context manager.

    Args:
        bindir: Server binaries; :func:`find_bindir` when omitted.
        port: TCP port on 127.0.0.1; a free one when omitted.
        timeout: Seconds to wait for ``initdb`` and for the server to accept connections.
        max_connections: The server's connection cap (Prefect opens a pool per process).

    Raises:
        PostgresUnavailable: From :meth:`start`: binaries missing, no unprivileged user to run
            as, or the server did not become ready within ``timeout`` (its log is in the message).
    """

    def __init__(
        self,
        bindir: Path | None = None,
        port: int | None = None,
        timeout: float = 60.0,
        max_connections: int = 200,
    ) -> None:
        self.bindir = bindir or find_bindir()
        self.port = port or free_port()
        self.timeout = timeout
        self.max_connections = max_connections
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL for Prefect (``PREFECT_API_DATABASE_CONNECTION_URL``): asyncpg, TCP."""
        return f"postgresql+asyncpg://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self.process.pid if self.process is not None else None

    def _user(self) -> str | None:
        """Who to run the server as: None (this user) unless root, then :data:`SYSTEM_USER`."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root and there is no {SYSTEM_USER!r} user to run PostgreSQL as "
                "(PostgreSQL refuses root): install the postgresql package, which creates it"
            ) from None
        return SYSTEM_USER

    def start(self) -> PostgresServer:
        """Create the cluster, start the server and wait (bounded) until it accepts connections.

        A port taken between choosing it and binding it (another process won the race) is
        retried on a fresh port, twice at most.
        """
        if self.process is not None:
            # Starting again would lose the running server (and leave it running).
            raise RuntimeError("this PostgresServer is already started; stop() it first")
        for attempt in range(3):
            try:
                return self._start()
            except PostgresUnavailable as exc:
                if attempt == 2 or "could not bind" not in str(exc):
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self) -> PostgresServer:
        if self.bindir is None:
            raise PostgresUnavailable(INSTALL_HINT)
        user = self._user()
        self.root = Path(tempfile.mkdtemp(prefix="anyint-postgres-"))
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            data = self.root / "data"
            initdb = [str(self.bindir / "initdb"), "-D", str(data), "-U", ROLE, "-A", "trust"]
            subprocess.run(
                [*initdb, "-E", "UTF8", "--no-sync"],
                user=user,
                cwd=self.root,
                check=True,
                capture_output=True,
                timeout=self.timeout,
            )
            self._log = tempfile.TemporaryFile()
            settings = {
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": str(self.root),
                "max_connections": str(self.max_connections),
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
            }
            options = [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port), *options],
                user=user,
                cwd=self.root,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            self._wait_ready()
            self._psql(f"CREATE DATABASE {DATABASE}")
        except (OSError, subprocess.SubprocessError, PostgresUnavailable) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log = self.output()
            self.stop()
            if isinstance(exc, PostgresUnavailable):
                raise
            raise PostgresUnavailable(
                f"PostgreSQL did not start: {exc}\n{detail.decode(errors='replace')}{log}"
            ) from exc
        return self

    def _psql(self, sql: str) -> None:
        assert self.bindir is not None and self.root is not None
        where = ["-h", str(self.root), "-p", str(self.port), "-U", ROLE, "-d", "postgres"]
        subprocess.run(
            [str(self.bindir / "psql"), *where, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            user=self._user(),
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=self.timeout,
        )

    def _wait_ready(self) -> None:
        """Poll ``pg_isready`` on the socket until it answers, the server dies, or time is up."""
        assert self.bindir is not None and self.process is not None
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                raise PostgresUnavailable(f"postgres exited early:\n{self.output()}")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", str(self.root), "-p", str(self.port)],
                check=False,
                timeout=self.timeout,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres not ready after {self.timeout:g} s:\n{self.output()}"
                )
            time.sleep(0.1)

    def output(self) -> str:
        """The server's log so far (for error messages)."""
        return log_tail(self._log)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back and exit), then remove the folder; idempotent."""
        end_child(self.process, self._log, signal.SIGINT, timeout=30)
        self.process, self._log = None, None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def close(self) -> None:
        """The same as :meth:`stop` (for ``contextlib.closing``)."""
        self.stop()

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def started_or_why_not() -> Iterator[tuple[PostgresServer | None, PostgresUnavailable | None]]:
    """A started throwaway cluster (stopped and removed on exit), or None and why PostgreSQL
    cannot run here (the benchmarks then fall back to SQLite, naming the first line)."""
    pg = PostgresServer()
    try:
        pg.start()
    except PostgresUnavailable as exc:
        yield None, exc
        return
    with contextlib.closing(pg):
        yield pg, None


def prefect_server(database_url: str, home: Path, port: int | None = None) -> ChildServer:
    """``prefect server start`` on ``database_url`` in a child process (not started yet).

    Args:
        database_url: ``PREFECT_API_DATABASE_CONNECTION_URL`` (e.g. :attr:`PostgresServer.url`).
        home: ``PREFECT_HOME`` of the server (a temporary folder of the caller's).
        port: Port on 127.0.0.1; a free one when omitted.

    Returns:
        The child server; enter it (or call ``start()``) to start it and wait for
        ``/api/health``. Its API is at ``ready_url`` minus ``/health``.
    """
    port = port or free_port()
    env = child_env(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=database_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        # Sized for 50 flow runs at once on two busy cores, as a self-hosted server at that load
        # would be: the defaults (5 + 10 connections, 10 s per statement, 5 s to connect) answer
        # 500 when 50 runs queue on one concurrency-limit row behind a saturated CPU.
        PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE="20",
        PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW="20",
        PREFECT_SERVER_DATABASE_TIMEOUT="60",
        PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT="30",
    )
    args = ["-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    # Migrations run first: give a busy machine time.
    return ChildServer(args, f"http://127.0.0.1:{port}/api/health", env=env, timeout=180)
