"""A throwaway PostgreSQL server for the test suite (and bench/storage.py), started here.

``initdb`` into a temporary directory, ``postgres`` on a free port bound to 127.0.0.1 (and a
Unix socket in the same directory), one empty database per test, everything removed at the
end. PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
``postgres`` user (created by Debian's postgresql package) or ``nobody``.

The binaries are looked for on PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin``
(.ci/run installs the package when neither has them). When they are missing or the server
does not start, every test that needs it fails and says why: nothing is skipped silently.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

TOOLS = ("initdb", "pg_ctl", "postgres")
DEBIAN_BIN = Path("/usr/lib/postgresql")
MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH nor in "
    "/usr/lib/postgresql/<version>/bin. Install them (Debian: apt-get install postgresql; "
    ".ci/run does this on a fresh machine) or put their folder on PATH."
)
# The tests do not need durability: a lost commit on power loss is irrelevant to them.
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, if any (PATH first, newest Debian next)."""
    found = shutil.which("initdb")
    if found:
        folder = Path(found).resolve().parent
        if all((folder / tool).exists() for tool in TOOLS):
            return folder
    versions = sorted(
        (p for p in DEBIAN_BIN.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return versions[0] if versions else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged() -> pwd.struct_passwd | None:
    """Whom to run the server as when this process is root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


class PgServer:
    """One PostgreSQL cluster in a temporary directory; :meth:`stop` removes it."""

    def __init__(self, bindir: Path, *, settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir
        self.settings = dict(FAST if settings is None else settings)
        self.root = Path(tempfile.mkdtemp(prefix="bot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "bot"
        self._as = _unprivileged()
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        extra = {}
        if self._as is not None:
            extra = {"user": self._as.pw_uid, "group": self._as.pw_gid, "extra_groups": []}
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=120, cwd=self.root, check=False, **extra
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """initdb, configure, start and wait until it accepts connections."""
        if self._as is not None:
            os.chown(self.root, self._as.pw_uid, self._as.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "200",
            "shared_buffers": "32MB",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in options.items())
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """A TCP URL for ``database``."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """The same database over the Unix socket (``?host=/socket/dir``)."""
        return f"postgresql://{self.user}@/{database}?host={self.root}&port={self.port}"

    async def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"test_{next(self._names)}"
        connection = await asyncpg.connect(self.url())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """A started server for the duration of the block; RuntimeError when it cannot start."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(MISSING)
    server = PgServer(bindir, settings=settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session, started on first use."""
    try:
        with running_server() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(f"PostgreSQL is needed for this test and could not start: {exc}")


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    """The URL of a fresh, empty database on the session's server."""
    yield await pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Path | str]:
    """What ``Database.open`` takes, once per engine: a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield tmp_path / "bot.db"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        yield await server.create_database()
