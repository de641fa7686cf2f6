"""The kiosk's liveness engine (core.engines.LivenessEngine) over a camera: each check opens
the frame source, draws fresh challenges, runs the whole check and closes the source again, so
the camera is held only while the person is being checked."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from kiosk_config.schema import Liveness
from terminal_app.capture.sources import FrameSource, SourceUnavailable
from terminal_app.core.engines import CaptureUnavailable, EngineRun
from terminal_app.core.steps import LivenessResult
from terminal_app.liveness.challenges import draw_challenges
from terminal_app.liveness.check import LivenessReport, LivenessSettings, run_check
from terminal_app.liveness.face_match import PortraitUnusable, decode


class CameraLivenessEngine:
    """`open_frames` gives a fresh frame source for each check (the camera, or a recorded one)."""

    def __init__(self, open_frames: Callable[[], FrameSource], config: Liveness, seed: int | None = None):
        self._open = open_frames
        self._config = config
        self._settings = LivenessSettings.from_config(config)
        self._seed = seed  # fixed only for tests and the demo; a kiosk draws each check at random
        self.last_report: LivenessReport | None = None

    def check(self, portrait_jpeg: bytes | None, run: EngineRun | None = None) -> LivenessResult:
        """One check: `run`'s listener gets the frames, instructions and progress, and its stop
        signal ends the check (StepCancelled) before the next frame."""
        portrait = None
        if portrait_jpeg is not None:
            try:
                portrait = decode(portrait_jpeg)
            except PortraitUnusable as unusable:
                return LivenessResult(False, 0.0, None, False, reason=unusable.reason.code)
        seed = self._seed if self._seed is not None else secrets.randbits(32)
        kinds = draw_challenges(seed, self._config.challenges)
        try:
            frames = self._open()
        except SourceUnavailable as unavailable:
            raise CaptureUnavailable(unavailable.message) from unavailable
        try:
            self.last_report = run_check(frames, kinds, portrait=portrait, settings=self._settings, engine_run=run)
        finally:
            frames.close()
        return self.last_report.to_result()
