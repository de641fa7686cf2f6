"""One liveness check over a frame source, as the kiosk runs it: the active challenges, the
passive anti-spoof signal on the same frames, and the live face matched against the ID card
photo. Raw frames stay in memory; what is kept is the report, the scores and one key frame.

A check passes only when every challenge was done, the spoof score is at most `spoof_max`
and, when an ID photo was given, the face matches it; anything else fails with one reason."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk_config.schema import Liveness
from terminal_app.capture.sources import FrameSource
from terminal_app.core.engines import EngineRun
from terminal_app.core.events import CameraFrame, Instruction, Progress
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import LivenessResult
from terminal_app.liveness import anti_spoof, face_match
from terminal_app.liveness.challenges import (
    CUT_OFF,
    NO_FACE,
    NOT_STARTED,
    TIMEOUT,
    TOO_SMALL,
    ChallengeResult,
    ChallengeRun,
    ChallengeThresholds,
    Kind,
    cut_off,
)
from terminal_app.liveness.faces import FaceModels, face_models

TOO_DARK = Reason("too_dark")
DARK_LEVEL = 35  # mean grey level of a frame below which no face can be judged
MATCH_FRAMES = 3  # live descriptors taken from the still frontal frames at the start
MAX_FRAMES = 15 * 60  # a source that never ends (a camera) is given at most a minute
STEP = "liveness"  # core.flow.Step.LIVENESS, as the events name it


@dataclass(frozen=True)
class LivenessSettings:
    """The config's `[liveness]` section as the check uses it (its defaults are the schema's)."""

    spoof_max: float
    face_match_min: float
    thresholds: ChallengeThresholds = field(default_factory=ChallengeThresholds)

    @classmethod
    def from_config(cls, config: Liveness) -> LivenessSettings:
        return cls(
            config.spoof_max,
            config.face_match_min,
            ChallengeThresholds(challenge_ms=config.challenge_seconds * 1000),
        )


@dataclass
class LivenessReport:
    passed: bool
    challenges: list[ChallengeResult]
    spoof_score: float
    spoof_cues: anti_spoof.SpoofCues
    face_match: face_match.FaceMatch | None
    reason: Reason | None
    frames: int
    usable: bool = True  # False: the input could not be judged at all (no frames, no face on the ID photo)
    timings_ms: dict[str, float] = field(default_factory=dict)
    key_frame_jpeg: bytes | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        return {
            "passed": self.passed,
            "challenges": [c.as_json() for c in self.challenges],
            "spoof_score": self.spoof_score,
            "spoof_cues": self.spoof_cues.as_json(),
            "face_match": self.face_match.as_json() if self.face_match else None,
            "reason": self.reason.code if self.reason else None,
            "message": {"zh": self.reason.zh, "en": self.reason.en} if self.reason else None,
            "frames": self.frames,
            "timings_ms": self.timings_ms,
        }

    def to_result(self) -> LivenessResult:
        """The flow's step result."""
        return LivenessResult(
            passed=self.passed,
            spoof_score=self.spoof_score,
            face_match_score=self.face_match.score if self.face_match else None,
            face_match_passed=bool(self.face_match and self.face_match.passed),
            challenges=tuple((str(c.kind), c.passed, round(c.ms)) for c in self.challenges),
            reason=self.reason.code if self.reason else "",
            key_frame_jpeg=self.key_frame_jpeg,
        )


def _jpeg(image: np.ndarray) -> bytes | None:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return encoded.tobytes() if ok else None


def run_check(
    source: FrameSource,
    kinds: list[Kind],
    *,
    portrait: np.ndarray | None = None,
    settings: LivenessSettings | None = None,
    models: FaceModels | None = None,
    engine_run: EngineRun | None = None,
) -> LivenessReport:
    """Run the challenges `kinds` over `source`'s frames and judge them; `portrait` is the ID
    card's photo area (BGR) to match against, if there is one. Each frame with the face found,
    the instruction whenever it changes and each challenge's start go to `engine_run`'s listener;
    its stop signal ends the check (StepCancelled) before the next frame."""
    engine_run = engine_run or EngineRun()
    settings = settings or LivenessSettings.from_config(Liveness())
    models = models or face_models()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    portrait_descriptor = None
    if portrait is not None:
        try:
            portrait_descriptor = face_match.portrait_descriptor(portrait, models)
        except face_match.PortraitUnusable as unusable:
            return LivenessReport(False, [ChallengeResult(k) for k in kinds], 0.0, anti_spoof.SpoofCues(), None,
                                  unusable.reason, 0, usable=False)  # fmt: skip
        timings["portrait"] = round((time.perf_counter() - started) * 1000, 1)

    run = ChallengeRun(kinds, settings.thresholds)
    spoof = anti_spoof.SpoofDetector()
    live: list[np.ndarray] = []
    key_frame: bytes | None = None
    prompts: Counter[str] = Counter()
    frames = 0
    detect_ms = match_ms = 0.0
    shown: Reason | None = None
    challenge = -1
    while not run.finished and frames < MAX_FRAMES:
        engine_run.check()
        frame = source.read()
        if frame is None:
            if source.ended:
                break
            time.sleep(0.01)  # a camera between frames, or reconnecting
            continue
        frames += 1
        image = frame.image
        if float(image.mean()) < DARK_LEVEL:  # a face may still be found, but not judged
            run.skip(TOO_DARK, frame.time_ms)
            prompts[TOO_DARK.code] += 1
            faces = []
        else:
            t0 = time.perf_counter()
            faces = models.faces(image)
            detect_ms += time.perf_counter() - t0
            run.feed(faces, (image.shape[1], image.shape[0]), frame.time_ms)
            if run.prompt is not None:
                prompts[run.prompt.code] += 1
        if engine_run.listener is not None:
            box = faces[0].box if len(faces) == 1 else None
            engine_run.emit(CameraFrame(STEP, frame.index, image, face_box=box))
            if run.current != challenge and run.baseline is not None and run.current < len(kinds):
                challenge = run.current
                engine_run.emit(Progress(STEP, challenge, len(kinds), str(kinds[challenge])))
            if not run.finished and run.instruction != shown:
                shown = run.instruction
                engine_run.emit(Instruction(STEP, shown))
        if not faces:  # too dark, or no face: nothing to judge
            continue
        whole = len(faces) == 1 and faces[0].width >= settings.thresholds.min_face_width
        if whole and not cut_off(faces[0], (image.shape[1], image.shape[0])) and run.failure is None:
            spoof.feed(image, faces[0])
            if key_frame is None:
                key_frame = _jpeg(image)
            if portrait_descriptor is not None and len(live) < MATCH_FRAMES and frames % 2 == 1:
                t1 = time.perf_counter()
                live.append(models.descriptor(image, faces[0]))
                match_ms += time.perf_counter() - t1
    run.end()
    timings["detect"] = round(detect_ms * 1000, 1)
    timings["match"] = round(match_ms * 1000, 1)

    cues = spoof.cues
    score = cues.score
    matched = face_match.match(portrait_descriptor, live, settings.face_match_min) if live else None
    reason = run.failure
    if score > settings.spoof_max:  # a spoof says more than the timeout a photo also ends in
        reason = anti_spoof.SPOOF
    elif reason in (NOT_STARTED, TIMEOUT) and prompts:  # say what stood in the way, if something did
        worst, count = prompts.most_common(1)[0]
        problems = {r.code: r for r in (NO_FACE, TOO_SMALL, CUT_OFF, TOO_DARK)}
        if worst in problems and (reason is NOT_STARTED or count > frames / 2):
            reason = problems[worst]
    if reason is None and portrait_descriptor is not None:
        if matched is None:
            reason = face_match.NO_LIVE_FACE
        elif not matched.passed:
            reason = face_match.MISMATCH
    timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    return LivenessReport(
        passed=reason is None,
        challenges=run.results,
        spoof_score=score,
        spoof_cues=cues,
        face_match=matched,
        reason=reason,
        frames=frames,
        usable=frames > 0,
        timings_ms=timings,
        key_frame_jpeg=key_frame,
    )
