"""The central sync service as a child process on loopback (`kiosk-central serve`): what the
demo starts beside the kiosk, and what the tests and benchmarks sync against."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CentralProcess:
    """`kiosk-central serve` in a child process, on a free loopback port unless given one. Its
    output goes to `log` when given (appended), else is dropped."""

    def __init__(
        self,
        db: str,
        signing_key: Path,
        *,
        port: int | None = None,
        workers: int = 1,
        log: Path | None = None,
        options: tuple[str, ...] = (),
        tls: tuple[Path, Path] | None = None,
    ):
        self.db, self.signing_key, self.workers, self.log = db, signing_key, workers, log
        self.options = options  # more `kiosk-central serve` options, e.g. --accept-v1-enrollment
        self.tls = tls  # (certificate, key): HTTPS with that certificate
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log_file: IO[bytes] | None = None

    def start(self, *, wait_s: float = 30.0) -> CentralProcess:
        command = [
            sys.executable,
            "-m",
            "sync.central_cli",
            "serve",
            "--db",
            self.db,
            "--signing-key",
            str(self.signing_key),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.options,
            *(("--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])) if self.tls else ()),
        ]
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log, "ab")  # noqa: SIM115 - held open for the child's lifetime
        out = self._log_file or subprocess.DEVNULL
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=self._log_file or subprocess.PIPE)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the central service exited: {self._last_words()}")
            try:
                verify = str(self.tls[0]) if self.tls else True
                if requests.get(f"{self.url}/v1/health", timeout=1, verify=verify).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the central service did not start within {wait_s:.0f} s")

    def _last_words(self) -> str:
        if self.log is not None:
            return self.log.read_text("utf-8", errors="replace")[-2000:]
        assert self.process is not None and self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
