from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from kiosk_config import load_config
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.synthetic_people import make_id_number

TODAY = date(2026, 11, 25)


class StepClock:
    """A clock the test moves by hand, so timeouts are exercised without sleeping."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def config():
    return load_config()


@pytest.fixture
def kiosk(tmp_path: Path, clock: StepClock):
    k = Kiosk.start(None, tmp_path / "data", clock=clock)
    yield k
    k.close()


def id_number(region: str = "422801", birth: date = date(1990, 3, 7), sex: str = "M", seed: int = 1) -> str:
    """A generated, valid ID number (no real person's)."""
    return make_id_number(random.Random(seed), region, birth, sex)
