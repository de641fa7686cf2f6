"""Real servers for the sync tests: a throwaway PostgreSQL cluster (Debian's binaries, a Unix
socket in a temporary directory), and the central sync service as its own process on loopback
(sync.central.process, which the demo uses too)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from sync.central.process import ROOT, CentralProcess, free_port

__all__ = ["ROOT", "CentralProcess", "TempPostgres", "free_port"]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class TempPostgres:
    """A PostgreSQL cluster of its own: no TCP listener, fsync off unless asked, removed at stop."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync
        bin_dir = _pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt install postgresql)")
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, cwd="/")

    def start(self) -> TempPostgres:
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        fsync = "on" if self.fsync else "off"
        options = f"-k {self.dir} -c listen_addresses='' -p {self.port} -c fsync={fsync} -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.dir}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=str(self.dir), port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)
