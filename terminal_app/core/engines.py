"""The interfaces the flow's step engines implement. Real engines live in
terminal_app.capture, terminal_app.liveness and terminal_app.core.scoring; none is faked here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from terminal_app.core.events import Listener
from terminal_app.core.scoring import ScoringRequest
from terminal_app.core.steps import IdCardFields, LivenessResult, ScoreResult


class CaptureUnavailable(Exception):
    """The camera or the card reader cannot be used right now (with a reason to show)."""


class IdCaptureEngine(Protocol):
    def read_card(self, run: EngineRun | None = None) -> IdCardFields:
        """Read both sides of the card from the camera. Raises CaptureUnavailable, a ReasonError,
        or StepCancelled when `run.stop` is set."""
        ...


class LivenessEngine(Protocol):
    def check(self, portrait_jpeg: bytes | None, run: EngineRun | None = None) -> LivenessResult:
        """Run the challenges against the live camera, match against the ID portrait. Raises
        CaptureUnavailable, or StepCancelled when `run.stop` is set."""
        ...


class ScoringEngine(Protocol):
    def score(self, request: ScoringRequest, *, record: bool = True) -> ScoreResult:
        """Fraud and credit scores with reason codes, from the signed on-device model
        (OnDeviceScorer). Raises ScoringRefused naming the field it cannot use."""
        ...


class StepCancelled(Exception):
    """The caller stopped a camera step (back, cancel, idle): nothing is handed to the flow."""


@dataclass
class EngineRun:
    """What the caller gives a running engine: a stop signal it honours within one frame (or the
    OCR pass under way), and a listener for its events (core.events)."""

    stop: threading.Event = field(default_factory=threading.Event)
    listener: Listener | None = None

    def check(self) -> None:
        """Raise StepCancelled if the caller asked to stop."""
        if self.stop.is_set():
            raise StepCancelled

    def emit(self, event: object) -> None:
        if self.listener is not None:
            self.listener(event)
