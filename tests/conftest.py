from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from kiosk_config import load_config
from kiosk_config.loader import config_for_central
from kiosk_demo.synthetic.people import make_id_number
from sync.envelope import open_sealed, parse
from sync.keys import private_pem, public_b64, write_private_file
from terminal_app.core.kiosk import Kiosk
from tests.servers import CentralProcess, TempPostgres

TODAY = date(2026, 11, 25)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test not marked integration or e2e is a unit test (`pytest -m unit`)."""
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in ("integration", "e2e")):
            item.add_marker(pytest.mark.unit)


class StepClock:
    """A clock the test moves by hand, so timeouts are exercised without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0):  # 2027-01-15, after the release (a guardrail)
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@dataclass
class CentralKeys:
    """A test central service's keys: the back office's opening key and the receipt signing key."""

    opening: x25519.X25519PrivateKey = field(default_factory=x25519.X25519PrivateKey.generate)
    signing: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def write_config(self, path: Path, url: str = "http://127.0.0.1:8765/") -> Path:
        """The embedded default config with this central's keys and URL."""
        text = config_for_central(url, public_b64(self.opening), [public_b64(self.signing)])
        path.write_text(text, encoding="utf-8")
        return path

    def open_outbox(self, kiosk: Kiosk) -> dict[str, dict]:
        """Every queued application, opened with the opening key, by application id."""
        opened = {}
        for (wire,) in kiosk.vault.db.execute("SELECT wire FROM outbox ORDER BY seq"):
            payload = json.loads(open_sealed(parse(wire), self.opening))
            opened[payload["application_id"]] = payload
        return opened


@pytest.fixture(scope="session")
def central() -> CentralKeys:
    return CentralKeys()


@pytest.fixture
def config_path(tmp_path: Path, central: CentralKeys) -> Path:
    return central.write_config(tmp_path / "kiosk.toml")


@pytest.fixture
def config():
    return load_config()


@pytest.fixture
def kiosk(tmp_path: Path, clock: StepClock, config_path: Path):
    k = Kiosk.start(config_path, tmp_path / "data", clock=clock)
    yield k
    k.close()


def id_number(region: str = "422801", birth: date = date(1990, 3, 7), sex: str = "M", seed: int = 1) -> str:
    """A generated, valid ID number (no real person's)."""
    return make_id_number(random.Random(seed), region, birth, sex)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (the sync store's production backend)."""
    try:
        server = TempPostgres().start()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL here ({error}); CI installs it")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def central_db(request, tmp_path: Path) -> str:
    """The central store, once on SQLite (a file) and once on PostgreSQL (a fresh database; in
    every full run, not in the developer loop)."""
    if request.param == "sqlite":
        return str(tmp_path / "central.sqlite")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def central_key_file(tmp_path: Path, central: CentralKeys) -> Path:
    path = tmp_path / "signing_key.pem"
    write_private_file(path, private_pem(central.signing))
    return path


@pytest.fixture
def central_server(central_db: str, central_key_file: Path):
    server = CentralProcess(central_db, central_key_file).start()
    yield server
    server.stop()
