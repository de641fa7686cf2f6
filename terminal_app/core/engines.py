"""The interfaces the flow's step engines implement. Real engines live in
terminal_app.capture, terminal_app.liveness and terminal_app.core.scoring; none is faked here."""

from __future__ import annotations

from typing import Protocol

from terminal_app.core.scoring import ScoringRequest
from terminal_app.core.steps import IdCardFields, LivenessResult, ScoreResult


class CaptureUnavailable(Exception):
    """The camera or the card reader cannot be used right now (with a reason to show)."""


class IdCaptureEngine(Protocol):
    def read_card(self) -> IdCardFields:
        """Read both sides of the card from the camera. Raises CaptureUnavailable or a ReasonError."""
        ...


class LivenessEngine(Protocol):
    def check(self, portrait_jpeg: bytes | None) -> LivenessResult:
        """Run the challenges against the live camera, match against the ID portrait."""
        ...


class ScoringEngine(Protocol):
    def score(self, request: ScoringRequest, *, record: bool = True) -> ScoreResult:
        """Fraud and credit scores with reason codes, from the signed on-device model
        (OnDeviceScorer). Raises ScoringRefused naming the field it cannot use."""
        ...
