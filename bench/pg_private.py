"""A private PostgreSQL server for one benchmark run: ``initdb`` in a temporary folder, a free port, stop and start.

``make chaos`` stops the ERP's database server on purpose. Stopping the machine's shared server would break every
other test or program using it at the same time, so the chaos run gets a server of its own: a fresh cluster in a
temporary folder (trust authentication, loopback only, no fsync: nothing here needs to survive a power cut),
started and stopped with ``pg_ctl`` exactly as an operator would, removed at the end.

PostgreSQL refuses to run as root; when this process is root, the server's commands run as the ``postgres`` user
(``runuser``), which owns the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path

from onlineconnect.testing.processes import free_port


def pg_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries (``initdb``, ``pg_ctl``), or None."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PrivatePostgres:
    """One PostgreSQL cluster of its own on ``127.0.0.1:<port>``."""

    def __init__(self, binaries: Path) -> None:
        self.bin = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="oc-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def server_url(self, database: str = "postgres", user: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server for ``user`` (psycopg driver, no password)."""
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    def init(self) -> None:
        """Creates the cluster."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (``fast``: open sessions are terminated, as at a server shutdown) and waits for it."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stops the server if it runs and deletes the cluster."""
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, removed afterwards; raises RuntimeError when PostgreSQL is not installed."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql")
    pg = PrivatePostgres(binaries)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()
