"""The live face against the ID card photo: dlib's ResNet descriptors (128-d) of the card's
photo area and of a few sharp frontal live frames, compared by Euclidean distance.

Score: similarity = 1 - distance, clipped to 0..1. dlib's own operating point is distance 0.6
(99.38% on LFW); this is a loan, so false accepts come first: the kiosk's default is 0.45
(similarity 0.55), the stricter end of what dlib's users run, and stricter still because the
model is known to separate East Asian faces less well than the faces it was mostly trained on
(ageitgey/face_recognition#431). The threshold is `liveness.face_match_min` in the config;
it must be calibrated on consented pairs before production (see bench_liveness)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.core.reasons import Reason
from terminal_app.liveness.faces import FaceModels, face_models

MIN_PORTRAIT_FACE = 60  # pixels: a smaller face on the card photo is too coarse to compare

NO_PORTRAIT_FACE = Reason("portrait_no_face")
NO_LIVE_FACE = Reason("no_live_face")
MISMATCH = Reason("face_mismatch")


class PortraitUnusable(ValueError):
    """The ID photo has no usable face (with a reason to show)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.en)
        self.reason = reason


@dataclass(frozen=True)
class FaceMatch:
    score: float  # similarity 0..1 (1 - descriptor distance)
    passed: bool
    distance: float

    def as_json(self) -> dict:
        return {"score": round(self.score, 4), "passed": self.passed}


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PortraitUnusable(NO_PORTRAIT_FACE)
    return image


def portrait_descriptor(portrait_bgr: np.ndarray, models: FaceModels | None = None) -> np.ndarray:
    """The descriptor of the one face on the ID photo; PortraitUnusable if there is none."""
    models = models or face_models()
    faces = models.faces(portrait_bgr)
    if not faces or faces[0].width < MIN_PORTRAIT_FACE:
        raise PortraitUnusable(NO_PORTRAIT_FACE)
    return models.descriptor(portrait_bgr, faces[0])


def match(portrait: np.ndarray, live: list[np.ndarray], min_similarity: float) -> FaceMatch:
    """The ID photo's descriptor against the live frames' descriptors: the median distance, so
    one odd frame decides nothing."""
    if not live:
        raise ValueError("no live descriptors")
    distance = statistics.median(float(np.linalg.norm(portrait - d)) for d in live)
    score = max(0.0, min(1.0, 1.0 - distance))
    return FaceMatch(round(score, 4), score >= min_similarity, round(distance, 4))
