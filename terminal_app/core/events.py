"""What the core announces while an application runs, for a screen (and the spoken prompts) to
follow. The flow announces its step changes, timeouts and wipes; a camera step's engine the
frame it just looked at, the instruction to show and speak, and its progress. Plain data: a
listener is a callable taking one event; the UI hands it on to its own thread.

Only `CameraFrame` carries an image (the frame in memory, never stored); no event carries a
name or a number off the card."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from terminal_app.core.reasons import Reason

Listener = Callable[[object], None]


@dataclass(frozen=True)
class StepChanged:
    session_id: str
    previous: str  # core.flow.Step values
    step: str


@dataclass(frozen=True)
class TimedOut:
    """The applicant was idle too long, or the step's own time ran out: the session ends next."""

    session_id: str
    step: str
    cause: str  # "idle" or "step_timeout" (core.flow.EndReason values)


@dataclass(frozen=True)
class DraftWiped:
    session_id: str
    reason: str  # core.flow.EndReason value


@dataclass(frozen=True)
class Instruction:
    """Show it large and speak it: "hold still", "tilt the card", "blink"."""

    step: str
    reason: Reason


@dataclass(frozen=True)
class Progress:
    """How far a camera step is: side 1 of 2 ("front"), challenge 2 of 3 ("blink")."""

    step: str
    done: int
    total: int
    label: str


@dataclass(frozen=True)
class CameraFrame:
    """The frame the engine just looked at (BGR, in memory), with what it found in it."""

    step: str
    index: int
    image: np.ndarray = field(repr=False)
    card_outline: np.ndarray | None = field(default=None, repr=False)  # 4 x 2 corners, frame pixels
    face_box: tuple[int, int, int, int] | None = None  # left, top, right, bottom


@dataclass(frozen=True)
class StepFinished:
    """A camera step's engine result was handed to the flow: `ok` when the flow moved on."""

    session_id: str
    step: str
    ok: bool
    code: str = ""
