"""The camera a kiosk app runs its steps on: opened once, lent to each card try and each
liveness check (which close only their loan), and told what the screen shows and says. The
terminal's own camera is `TerminalCamera`; another kind (the demo's synthetic applicant) is a
plugin in the entry point group `county_terminal.cameras`, so a terminal install carries none.

    cameras = open_cameras("device", kiosk)      # or "synthetic", where kiosk_demo is installed
    capture, liveness = kiosk.camera_engines(cameras)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from terminal_app.capture.sources import Frame, FrameSource, LiveFeed
from terminal_app.core.engines import EngineRun, IdCaptureEngine
from terminal_app.core.events import CameraFrame
from terminal_app.core.health import CameraState
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import IdCardFields

if TYPE_CHECKING:
    from terminal_app.core.kiosk import Kiosk

PLUGIN_GROUP = "county_terminal.cameras"
STEP = "id_capture"  # core.flow.Step.ID_CAPTURE
DEVICE = "device"


class StepCameras(Protocol):
    """What the kiosk app's camera gives. A kind may also have `challenge_seed` (a recording,
    which can answer only the challenges it recorded): the liveness check then draws those."""

    def card_frames(self) -> FrameSource:
        """The frames for one try at reading the card."""
        ...

    def face_frames(self) -> FrameSource:
        """The frames for one liveness check."""
        ...

    def hear(self, event: object) -> None:
        """An event the screen shows (core.events): what a person in front of it would react to."""
        ...

    def new_applicant(self) -> None:
        """A new session starts in front of the camera."""
        ...

    def close(self) -> None: ...

    def camera_state(self) -> CameraState:
        """For the terminal's health: whether the camera is there now."""
        ...


class Lent:
    """A source lent to one step: `close()` ends the loan, not the camera."""

    def __init__(self, source: FrameSource):
        self._source = source

    @property
    def status(self) -> Reason:
        return self._source.status

    @property
    def ended(self) -> bool:
        return self._source.ended

    def read(self) -> Frame | None:
        return self._source.read()

    def close(self) -> None:
        pass


class TerminalCamera:
    """The terminal's USB camera, as `[camera]` sets it, opened once for the kiosk's life."""

    def __init__(self, kiosk: Kiosk):
        self._source = kiosk.open_camera()

    def card_frames(self) -> FrameSource:
        return Lent(self._source)

    def face_frames(self) -> FrameSource:
        return Lent(self._source)

    def hear(self, event: object) -> None:
        pass

    def new_applicant(self) -> None:
        pass

    def close(self) -> None:
        self._source.close()

    def camera_state(self) -> CameraState:
        """For the terminal's health: whether the camera is there now, its frame rate and how long
        ago its last frame came (None while no step has read it)."""
        source = self._source
        found = source.status.code not in ("camera_missing", "camera_lost")
        last = getattr(source, "last_frame_at", None)
        age = None if last is None else round(time.monotonic() - last, 1)
        rate = getattr(source, "frame_rate", None)
        return CameraState(found=found, fps=None if rate is None else round(rate, 1), last_frame_age_s=age)


class CardTries:
    """The capture engine (core.engines.IdCaptureEngine) for a kiosk app: each try reads the card
    through a fresh loan of the camera (a person places the card again)."""

    def __init__(self, cameras: StepCameras, make_capture: Callable[[FrameSource], IdCaptureEngine]):
        self._cameras = cameras
        self._make = make_capture

    def read_card(self, run: EngineRun | None = None) -> IdCardFields:
        """One try, the camera read on a feed of its own: the preview gets every frame while the
        capture checks and reads the newest it has time for (an OCR pass takes several frames)."""
        run = run or EngineRun()
        preview = lambda frame: run.emit(CameraFrame(STEP, frame.index, frame.image))  # noqa: E731
        feed = LiveFeed(self._cameras.card_frames(), preview)
        try:
            return self._make(feed).read_card(run)
        finally:
            feed.close()


class UnknownCamera(Exception):
    pass


def camera_kinds() -> list[str]:
    return sorted({DEVICE, *(entry.name for entry in entry_points(group=PLUGIN_GROUP))})


def open_cameras(kind: str, kiosk: Kiosk, **options) -> StepCameras:
    """The cameras of `kind`: "device" (the terminal's), or a plugin's name."""
    if kind == DEVICE:
        return TerminalCamera(kiosk)
    found = [entry for entry in entry_points(group=PLUGIN_GROUP) if entry.name == kind]
    if not found:
        raise UnknownCamera(f"no camera called {kind!r}: this install has {', '.join(camera_kinds())}")
    factory: Callable[..., StepCameras] = found[0].load()
    return factory(kiosk, **options)
