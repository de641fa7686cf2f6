"""A passive anti-spoof signal over the frames of a liveness run: the cheap attacks a kiosk
sees leave traces that a live face in front of the camera does not.

- `border`: straight edges that bracket the face closely on three or four sides: a phone's
  bezel or screen edge, a print's paper edge. A live head has shoulders and a room around it.
- `print_texture`: a periodic pattern in the face's fine detail (a halftone screen, a pixel
  grid beating with the camera's): a sharp peak in the spectrum of the face's high-pass
  residual, where skin and sensor noise give a flat one.
- `frozen`: consecutive frames identical to the byte, which no camera sensor gives: a still
  picture fed as the camera stream.

Each cue is mapped to 0..1 by a ramp between a level no live fixture reached and one every
attack fixture of that kind passed; the score is 1 - prod(1 - cue): any one strong cue is
enough. The threshold is `liveness.spoof_max` in the config."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from terminal_app.core.reasons import Reason
from terminal_app.liveness.faces import Face

SPOOF = Reason("spoof_suspected")


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


SHEARS = np.linspace(-0.08, 0.08, 9)  # a held-up object is seldom square to the camera


def _straight_edge(strip: np.ndarray) -> float:
    """The largest share of a strip's rows (the strip's long axis down) in which one straight,
    nearly vertical line (any of SHEARS) has a strong edge: 1.0 is an edge the whole way."""
    rows, columns = strip.shape
    if rows < 20 or columns < 4:
        return 0.0
    strong = strip > max(40.0, float(np.percentile(strip, 90)))
    r, c = np.nonzero(strong)
    best = 0.0
    for shear in SHEARS:
        line = c + np.round((r - rows / 2) * shear).astype(int) + rows
        crossed = np.zeros((columns + 2 * rows + 2, rows), bool)  # line x row: a row counts once per line
        crossed[line, r] = True
        crossed[line + 1, r] = True  # a line may be 2 pixels wide
        best = max(best, crossed.sum(axis=1).max() / rows)
    return best


def _border_sides(gray: np.ndarray, face: Face) -> int:
    """How many sides of the face (left, right, above, below) have a straight edge running the
    length of that side within 1.6 face widths: a bezel or the edge of a sheet of paper."""
    left, top, right, bottom = face.box
    w = face.width
    height, width = gray.shape
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.0).astype(np.float32)
    gx = np.abs(cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3))
    y0, y1 = max(0, top - w // 4), min(height, bottom + w // 4)
    x0, x1 = max(0, left - w // 4), min(width, right + w // 4)
    reach = int(1.6 * w)
    strips = [
        gx[y0:y1, max(0, left - reach) : max(0, left - 4)],
        gx[y0:y1, min(width, right + 4) : min(width, right + reach)],
        gy[max(0, top - reach) : max(0, top - 4), x0:x1].T,
        gy[min(height, bottom + 4) : min(height, bottom + reach), x0:x1].T,
    ]
    return int(sum(_straight_edge(strip) >= 0.8 for strip in strips))


def _texture_peak(gray: np.ndarray, face: Face) -> float:
    """Peak over median of the high-frequency spectrum of the face's inner part."""
    left, top, right, bottom = face.box
    inset = face.width // 6
    patch = gray[max(0, top + inset) : bottom - inset, max(0, left + inset) : right - inset].astype(np.float32)
    size = min(patch.shape) // 8 * 8
    if size < 48:
        return 0.0
    size = min(size, 160)
    patch = patch[:size, :size]  # native pixels: resampling would blur the very pattern looked for
    residual = patch - cv2.GaussianBlur(patch, (0, 0), 1.5)
    window = np.outer(np.hanning(residual.shape[0]), np.hanning(residual.shape[1]))
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(residual * window)))
    h, w = spectrum.shape
    yy, xx = np.mgrid[:h, :w]
    radius = np.hypot((yy - h / 2) / h, (xx - w / 2) / w)
    # not the 8-pixel block grid a webcam's MJPEG leaves in every frame, live or not
    grid = np.zeros_like(spectrum, dtype=bool)
    for k in range(0, h // 2 + 1, h // 8):
        for c in (h // 2 - k, h // 2 + k):
            grid[max(0, c - 1) : c + 2, :] = True
            grid[:, max(0, c - 1) : c + 2] = True
    band = spectrum[(radius > 0.18) & (radius < 0.5) & ~grid]
    return float(band.max() / (np.median(band) + 1e-6))


@dataclass
class SpoofCues:
    border: float = 0.0
    print_texture: float = 0.0
    frozen: float = 0.0

    @property
    def score(self) -> float:
        keep = 1.0
        for cue in (self.border, self.print_texture, self.frozen):
            keep *= 1.0 - cue
        return round(1.0 - keep, 4)

    def as_json(self) -> dict:
        return {k: round(v, 3) for k, v in vars(self).items()}


@dataclass
class SpoofDetector:
    """Feed it each frame with its one face (from the liveness run); read `cues` (and their `score`)."""

    every: int = 3  # the image cues run on every third frame (the preview stays smooth)
    _frames: int = 0
    _border: list[int] = field(default_factory=list)
    _texture: list[float] = field(default_factory=list)
    _identical: int = 0
    _pairs: int = 0
    _last: np.ndarray | None = None

    def feed(self, frame_bgr: np.ndarray, face: Face) -> None:
        self._frames += 1
        left, top, right, bottom = face.box
        crop = frame_bgr[max(0, top) : bottom, max(0, left) : right]
        if self._last is not None and self._last.shape == crop.shape:
            self._pairs += 1
            self._identical += int(np.array_equal(self._last, crop))
        self._last = crop.copy()
        if self._frames % self.every == 1:
            gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
            self._border.append(_border_sides(gray, face))
            self._texture.append(_texture_peak(gray, face))

    @property
    def cues(self) -> SpoofCues:
        cues = SpoofCues()
        if self._border:
            cues.border = _ramp(float(np.median(self._border)), 2.0, 3.0)
        if self._texture:
            cues.print_texture = _ramp(float(np.median(self._texture)), 12.0, 16.0)
        if self._pairs >= 5:
            cues.frozen = _ramp(self._identical / self._pairs, 0.2, 0.6)
        return cues
