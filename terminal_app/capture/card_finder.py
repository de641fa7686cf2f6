"""Finding the card in a camera frame and rectifying it to the canonical 856 x 540 image.

The card is the largest convex four-cornered outline with an ID card's proportions (85.6:54,
within a margin for perspective). A frame that is itself a cropped card (a scan, a cut-out)
is taken whole. A card held upright (portrait) is turned to landscape; whether it is upside
down is decided later from the text (terminal_app.capture.fields)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.capture.synthetic_card import CARD_MM, CARD_PX

CARD_RATIO = CARD_MM[0] / CARD_MM[1]
WORK_SIDE = 960  # frames are searched at most this wide


@dataclass(frozen=True)
class FoundCard:
    quad: np.ndarray  # 4 x 2 corners in the frame, clockwise from the top left
    area_share: float  # the card's share of the frame (1.0: the frame was taken as the card)


def order_corners(points: np.ndarray) -> np.ndarray:
    """Top left, top right, bottom right, bottom left."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered = points[np.argsort(angles)]  # from -pi: top left first in image coordinates
    start = np.argmin(ordered.sum(axis=1))
    return np.roll(ordered, -start, axis=0).astype(np.float32)


def _side_lengths(quad: np.ndarray) -> tuple[float, float]:
    top, right = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    bottom, left = np.linalg.norm(quad[3] - quad[2]), np.linalg.norm(quad[0] - quad[3])
    return (top + bottom) / 2, (left + right) / 2


def _quad(contour: np.ndarray) -> np.ndarray | None:
    """The contour's four corners, if its convex hull is a quadrilateral at some tolerance."""
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for tolerance in (0.015, 0.025, 0.035, 0.05):
        approx = cv2.approxPolyDP(hull, tolerance * perimeter, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            return None
    return None


def _masks(grey: np.ndarray) -> list[np.ndarray]:
    """Two views of where the card's outline may be: edges, and the bright region (a card is
    paler than most tables). Each finds cards the other misses."""
    edges = cv2.dilate(cv2.Canny(grey, 40, 120), np.ones((3, 3), np.uint8))
    _, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    return [edges, bright]


def find_card(frame_bgr: np.ndarray) -> FoundCard | None:
    height, width = frame_bgr.shape[:2]
    ratio = width / height
    scale = min(1.0, WORK_SIDE / max(width, height))
    small = cv2.resize(frame_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame_bgr
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    frame_area = small.shape[0] * small.shape[1]
    best: FoundCard | None = None
    for mask in _masks(grey):
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:12]:
            area = cv2.contourArea(contour)
            if area < 0.08 * frame_area or area > 0.98 * frame_area:
                continue
            corners = _quad(contour)
            if corners is None:
                continue
            quad = order_corners(corners / scale)
            long_side, short_side = sorted(_side_lengths(quad), reverse=True)
            quad_area = cv2.contourArea(corners)
            if short_side == 0 or not 1.2 <= long_side / short_side <= 2.1 or area < 0.85 * quad_area:
                continue
            if best is None or quad_area / frame_area > best.area_share:
                best = FoundCard(quad, quad_area / frame_area)
            break
    if best is None and abs(max(ratio, 1 / ratio) - CARD_RATIO) < 0.12:
        corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
        best = FoundCard(corners, 1.0)
    return best


def rectify(frame_bgr: np.ndarray, found: FoundCard) -> np.ndarray:
    """The card warped to the canonical size, landscape."""
    quad = found.quad
    horizontal, vertical = _side_lengths(quad)
    if vertical > horizontal:  # held upright: start from the top right so the long side runs across
        quad = np.roll(quad, -1, axis=0)
    target = np.array([[0, 0], [CARD_PX[0] - 1, 0], [CARD_PX[0] - 1, CARD_PX[1] - 1], [0, CARD_PX[1] - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(frame_bgr, matrix, CARD_PX, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
