"""Active liveness: challenges drawn at random, each with a time limit, judged from landmark
measures against the person's own baseline (taken from the first still, frontal frames), on
one face only. The engine is fed frames' faces and gives states; prompts are the UI's.

A blink counts when the eye aspect ratio falls below `blink_ratio` of the baseline and comes
back; a turn when the yaw moves `turn_degrees` the asked way; a nod when the nose drop rises
`nod_gain`; an open mouth when the mouth ratio rises `mouth_gain` above the baseline.
A second face, the face lost for `lost_frames` frames, or the face jumping between frames (a
swap) fails the whole run."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from terminal_app.core.reasons import Reason
from terminal_app.liveness.faces import Face
from terminal_app.liveness.measures import FaceMeasures, measure


class Kind(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"
    NOD = "nod"


@dataclass(frozen=True)
class ChallengeThresholds:
    blink_ratio: float = 0.75
    turn_degrees: float = 12.0
    nod_gain: float = 0.05
    mouth_gain: float = 0.15
    baseline_frames: int = 5
    challenge_ms: float = 6000.0  # time allowed for each challenge
    lost_frames: int = 8  # consecutive frames without a face: the person left
    min_face_width: int = 120  # pixels; smaller: move closer (and the frame is not judged)
    max_jump: float = 0.5  # the face centre moving more than this many face widths in one frame: a swap


SEVERAL_FACES = Reason("several_faces")
FACE_LOST = Reason("face_lost")
FACE_SWAPPED = Reason("face_swapped")
TIMEOUT = Reason("challenge_timeout")
NO_FACE = Reason("no_face")
TOO_SMALL = Reason("face_too_small")
CUT_OFF = Reason("face_cut_off")
NOT_STARTED = Reason("no_frames")
LOOK_STRAIGHT = Reason("look_straight")

PROMPTS = {
    Kind.BLINK: Reason("blink"),
    Kind.TURN_LEFT: Reason("turn_left"),
    Kind.TURN_RIGHT: Reason("turn_right"),
    Kind.OPEN_MOUTH: Reason("open_mouth"),
    Kind.NOD: Reason("nod"),
}


def cut_off(face: Face, frame_size: tuple[int, int]) -> bool:
    """Part of the face outside the frame: a landmark of its 68 beyond an edge."""
    width, height = frame_size
    p = face.landmarks
    return bool((p < 0).any() or (p[:, 0] >= width).any() or (p[:, 1] >= height).any())


def draw_challenges(seed: int, count: int = 2) -> list[Kind]:
    """`count` different challenges in a random order (never both turns: one is enough)."""
    rng = random.Random(seed)
    kinds = rng.sample(list(Kind), len(Kind))
    picked: list[Kind] = []
    for kind in kinds:
        if kind in (Kind.TURN_LEFT, Kind.TURN_RIGHT) and {Kind.TURN_LEFT, Kind.TURN_RIGHT} & set(picked):
            continue
        picked.append(kind)
        if len(picked) == count:
            break
    return picked


@dataclass
class ChallengeResult:
    kind: Kind
    passed: bool = False
    ms: float = 0.0

    def as_json(self) -> dict:
        return {"kind": str(self.kind), "passed": self.passed, "ms": round(self.ms)}


@dataclass
class ChallengeRun:
    """Feed it each frame's faces with the frame's time; read `instruction` (what to show now),
    `current`, `finished`, `passed`. `prompt` is the last prompt given, kept through judged frames."""

    kinds: list[Kind]
    thresholds: ChallengeThresholds = field(default_factory=ChallengeThresholds)
    results: list[ChallengeResult] = field(init=False)
    failure: Reason | None = None
    prompt: Reason | None = None
    baseline: FaceMeasures | None = None
    _samples: list[FaceMeasures] = field(default_factory=list, repr=False)
    _current: int = 0
    _started_ms: float | None = None
    _closed: bool = False  # a blink's eyes went shut
    _lost: int = 0
    _last_centre: np.ndarray | None = None
    _problem: Reason | None = None  # what kept the last frame from being judged

    def __post_init__(self) -> None:
        self.results = [ChallengeResult(kind) for kind in self.kinds]

    @property
    def finished(self) -> bool:
        return self.failure is not None or self._current >= len(self.kinds)

    @property
    def passed(self) -> bool:
        return self.failure is None and all(r.passed for r in self.results)

    @property
    def current(self) -> int:
        """The challenge under way (0-based; len(kinds) once all are done)."""
        return self._current

    @property
    def instruction(self) -> Reason:
        """What the person should be shown now: what kept the last frame from being judged, else
        to hold still while the baseline is taken, else the challenge under way."""
        if self._problem is not None:
            return self._problem
        if self.baseline is None or self._current >= len(self.kinds):
            return LOOK_STRAIGHT
        return PROMPTS[self.kinds[self._current]]

    def fail(self, reason: Reason) -> None:
        if not self.finished:
            self.failure = reason

    def feed(self, faces: list[Face], frame_size: tuple[int, int], time_ms: float) -> None:
        if self.finished:
            return
        t = self.thresholds
        if len(faces) > 1:
            self.fail(SEVERAL_FACES)
            return
        self._problem = None
        if not faces:
            self._lost += 1
            self.prompt = self._problem = NO_FACE
            if self._lost >= t.lost_frames and self.baseline is not None:
                self.fail(FACE_LOST)
            self._check_time(time_ms)
            return
        face = faces[0]
        self._lost = 0
        if self._last_centre is not None and np.linalg.norm(face.centre - self._last_centre) > t.max_jump * face.width:
            self.fail(FACE_SWAPPED)
            return
        self._last_centre = face.centre
        if face.width < t.min_face_width:
            self.prompt = self._problem = TOO_SMALL
            self._check_time(time_ms)
            return
        if cut_off(face, frame_size):  # the landmarks past the edge are the mesh's guess: not judged
            self.prompt = self._problem = CUT_OFF
            self._check_time(time_ms)
            return
        measures = measure(face, frame_size)
        if self.baseline is None:
            self._take_baseline(measures, time_ms)
            return
        self._judge(measures, time_ms)

    def skip(self, prompt: Reason, time_ms: float) -> None:
        """A frame that cannot be judged (too dark, say): show `prompt`, let the clock run."""
        if not self.finished:
            self.prompt = self._problem = prompt
            self._check_time(time_ms)

    def _take_baseline(self, measures: FaceMeasures, time_ms: float) -> None:
        self._samples.append(measures)
        if len(self._samples) < self.thresholds.baseline_frames:
            return
        s = self._samples
        self.baseline = FaceMeasures(
            statistics.median(m.ear for m in s),
            statistics.median(m.mouth for m in s),
            statistics.median(m.yaw for m in s),
            statistics.median(m.nose_drop for m in s),
        )
        self._start(time_ms)

    def _start(self, time_ms: float) -> None:
        self._started_ms = time_ms
        self._closed = False
        if self._current < len(self.kinds):
            self.prompt = PROMPTS[self.kinds[self._current]]

    def _check_time(self, time_ms: float) -> None:
        if self._started_ms is not None and time_ms - self._started_ms > self.thresholds.challenge_ms:
            self.results[self._current].ms = time_ms - self._started_ms
            self.fail(TIMEOUT)

    def _judge(self, m: FaceMeasures, time_ms: float) -> None:
        t, base = self.thresholds, self.baseline
        kind = self.kinds[self._current]
        if kind is Kind.BLINK:
            if m.ear < t.blink_ratio * base.ear:
                self._closed = True
            done = self._closed and m.ear > 0.9 * base.ear
        elif kind is Kind.TURN_LEFT:
            done = m.yaw < base.yaw - t.turn_degrees
        elif kind is Kind.TURN_RIGHT:
            done = m.yaw > base.yaw + t.turn_degrees
        elif kind is Kind.NOD:
            done = m.nose_drop > base.nose_drop + t.nod_gain
        else:
            done = m.mouth > base.mouth + t.mouth_gain
        if done:
            result = self.results[self._current]
            result.passed, result.ms = True, time_ms - self._started_ms
            self._current += 1
            self._start(time_ms)
            return
        self._check_time(time_ms)

    def end(self) -> None:
        """The frames ran out: an unfinished run fails."""
        if not self.finished:
            self.fail(TIMEOUT if self.baseline is not None else NOT_STARTED)
