"""On-device OCR: the PP-OCRv4 detection, direction and recognition models that ship inside the
`rapidocr-onnxruntime` wheel, run on onnxruntime. Nothing is downloaded; the models are loaded
once per process and kept warm. Two intra-op threads: a terminal has two cores, and OCR runs
while the applicant waits, not beside the camera preview."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np

OCR_THREADS = 2
# The settings for a rectified 856 x 540 card (the package's are for documents and photographs).
# Measured on 300 photographed cards a level, the two settings in turn in one process: the same
# fields read at clean, mild and medium, p50 0.59-0.66x the package's.
DET_SIDE_PX = 544  # the detector's input short side; the package's 736 upscales the card 1.85x in pixels
REC_HEIGHT_PX = 48  # the recogniser's input height (the model's)
REC_MIN_WIDTH_PX = 96  # a line is padded to this width at least: at the package's 320 a label is padded 4x
REC_BATCH = 2  # lines recognised at a time: 2 took 0.88x the time of the package's 6, and 1 was slower
# `word_scores` pads as the package does: its thresholds were measured so
WORD_SCORE_MIN_RATIO = 320 / REC_HEIGHT_PX


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

        self._ocr = RapidOCR(
            intra_op_num_threads=OCR_THREADS,
            inter_op_num_threads=1,
            det_limit_side_len=DET_SIDE_PX,
            rec_img_shape=[3, REC_HEIGHT_PX, REC_MIN_WIDTH_PX],
            rec_batch_num=REC_BATCH,
        )
        # the recogniser's classes: 0 is CTC's blank
        self._characters = {c: i for i, c in enumerate(self._ocr.text_rec.postprocess_op.character) if i}
        self._lock = threading.Lock()

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]:
        with self._lock:
            result, _ = self._ocr(image_bgr)
        return [OcrLine(text, float(score), np.asarray(box, dtype=np.float32)) for box, text, score in result or []]

    def word_scores(self, line_bgr: np.ndarray, words: Iterable[str]) -> dict[str, float]:
        """How likely the recogniser finds each of `words` as the text of `line_bgr` (one line of
        text, found by layout, not by the detector): the log-likelihood of the word over every
        alignment of its characters with the recogniser's frames. A word with a character outside
        the recogniser's dictionary is left out."""
        recogniser = self._ocr.text_rec
        ratio = max(WORD_SCORE_MIN_RATIO, line_bgr.shape[1] / max(line_bgr.shape[0], 1))
        with self._lock:
            probabilities = recogniser.session(recogniser.resize_norm_img(line_bgr, ratio)[None])[0][0]
        index = self._characters
        log_probs = np.log(np.clip(probabilities, 1e-12, 1.0))
        return {
            word: ctc_log_likelihood(log_probs, [index[c] for c in word])
            for word in words
            if word and all(c in index for c in word)
        }


def ctc_log_likelihood(log_probs: np.ndarray, labels: list[int]) -> float:
    """log P(labels | frames) under CTC (Graves et al., 2006): the forward algorithm over the
    labels with a blank (class 0) between and around them; `log_probs` is frames x classes."""
    if not labels:
        return float(log_probs[:, 0].sum())
    extended = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    extended[1::2] = labels
    # a state may skip the blank before it unless it repeats the label two states back
    skip = np.zeros(len(extended), dtype=bool)
    skip[2:] = (extended[2:] != 0) & (extended[2:] != extended[:-2])
    alpha = np.full(len(extended), -np.inf)
    alpha[0], alpha[1] = log_probs[0, 0], log_probs[0, extended[1]]
    for frame in log_probs[1:]:
        stay = alpha
        step = np.concatenate([[-np.inf], alpha[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], alpha[:-2]]), -np.inf)
        alpha = np.logaddexp(np.logaddexp(stay, step), jump) + frame[extended]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


@cache
def ocr_engine() -> OcrEngine:
    return OcrEngine()
