"""On-device OCR: the PP-OCRv4 detection, direction and recognition models that ship inside the
`rapidocr-onnxruntime` wheel, run on onnxruntime. Nothing is downloaded; the models are loaded
once per process and kept warm. Two intra-op threads: a terminal has two cores, and OCR runs
while the applicant waits, not beside the camera preview."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

OCR_THREADS = 2


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: np.ndarray  # 4 x 2 corner points in the image, clockwise from the top left

    @property
    def centre(self) -> tuple[float, float]:
        x, y = self.box.mean(axis=0)
        return float(x), float(y)

    @property
    def left(self) -> float:
        return float(self.box[:, 0].min())


class OcrEngine:
    """One RapidOCR instance per process, serialised (its sessions are not re-entrant)."""

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR(intra_op_num_threads=OCR_THREADS, inter_op_num_threads=1)
        self._lock = threading.Lock()

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]:
        with self._lock:
            result, _ = self._ocr(image_bgr)
        return [OcrLine(text, float(score), np.asarray(box, dtype=np.float32)) for box, text, score in result or []]


@cache
def ocr_engine() -> OcrEngine:
    return OcrEngine()
