"""Finding the card in a camera frame and rectifying it to the canonical 856 x 540 image.

The card is the largest convex four-cornered outline with an ID card's proportions (85.6:54,
within a margin for perspective). A frame that is itself a cropped card (a scan, a cut-out)
is taken whole. A card held upright (portrait) is turned to landscape; whether it is upside
down is decided later from the text (terminal_app.capture.fields)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.capture.card_spec import CARD_MM, CARD_PX

CARD_RATIO = CARD_MM[0] / CARD_MM[1]
WORK_SIDE = 960  # frames are searched at most this wide
MIN_AREA_SHARE = 0.08  # smaller outlines are not looked at (the portrait on a scanned card is 8%)


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


def _straight_quad(contour: np.ndarray) -> np.ndarray | None:
    """The card's four corners from the four longest straight runs of the outline itself (not
    its hull), pieces of one side joined: a glare spot over an edge melts into the bright
    background there, and the outline bulges out of the card (the hull then loses that side or
    bends a corner out), yet the rest of the side is still straight."""
    perimeter = cv2.arcLength(contour, True)
    polygon = cv2.approxPolyDP(contour, 0.01 * perimeter, True).reshape(-1, 2).astype(np.float64)
    runs = [(polygon[i], polygon[(i + 1) % len(polygon)]) for i in range(len(polygon))]
    lines: list[list] = []  # [point, unit direction, total length]
    for start, end in sorted(runs, key=lambda run: -np.linalg.norm(run[1] - run[0])):
        length = float(np.linalg.norm(end - start))
        if length < 1e-6:
            continue
        unit = (end - start) / length
        for line in lines:
            point, direction = line[0], line[1]
            across = max(abs(direction[0] * (p - point)[1] - direction[1] * (p - point)[0]) for p in (start, end))
            if abs(unit @ direction) > 0.995 and across < 0.01 * perimeter:  # within 6 degrees, on the line
                line[2] += length
                break
        else:
            lines.append([(start + end) / 2, unit, length])
    if len(lines) < 4:
        return None
    sides = sorted(lines, key=lambda line: -line[2])[:4]
    centre = contour.reshape(-1, 2).mean(axis=0)
    sides.sort(key=lambda line: np.arctan2(line[0][1] - centre[1], line[0][0] - centre[0]))
    corners = []
    for (p, u, _), (q, v, _) in zip(sides, sides[1:] + sides[:1], strict=True):
        matrix = np.array([u, -v]).T
        if abs(np.linalg.det(matrix)) < 0.3:  # neighbouring sides nearly parallel: not a card's
            return None
        corners.append(p + np.linalg.solve(matrix, q - p)[0] * u)
    return np.array(corners, np.float32)


@dataclass(frozen=True)
class _Region:
    """The region a contour outlines, filled, over the contour's bounding box only (a frame-sized
    mask per contour cost the gate a millisecond)."""

    mask: np.ndarray  # 0/1 over the box
    x: int  # the box's top left in the frame
    y: int
    frame: tuple[int, int]  # the frame's height and width
    count: int  # pixels inside


def _region(contour: np.ndarray, shape: tuple[int, int]) -> _Region:
    """The region the contour outlines in a frame of `shape`."""
    x, y, width, height = cv2.boundingRect(contour)
    mask = np.zeros((height, width), np.uint8)
    cv2.drawContours(mask, [contour], -1, 1, -1, offset=(-x, -y))
    return _Region(mask, x, y, shape, int(np.count_nonzero(mask)))


def _overlap(quad: np.ndarray, region: _Region) -> float:
    """Intersection over union of the quadrilateral (within the frame) and a filled region."""
    corners = np.round(quad).astype(np.int32)
    height, width = region.mask.shape
    x0, y0 = max(0, min(region.x, int(corners[:, 0].min()))), max(0, min(region.y, int(corners[:, 1].min())))
    x1 = min(region.frame[1], max(region.x + width, int(corners[:, 0].max()) + 1))
    y1 = min(region.frame[0], max(region.y + height, int(corners[:, 1].max()) + 1))
    outline = np.zeros((y1 - y0, x1 - x0), np.uint8)  # the box around both
    cv2.fillConvexPoly(outline, corners - np.array([x0, y0], np.int32), 1)
    over_region = outline[region.y - y0 : region.y - y0 + height, region.x - x0 : region.x - x0 + width]
    shared = np.count_nonzero(over_region & region.mask)
    union = region.count + np.count_nonzero(outline) - shared
    return shared / union if union else 0.0


def _refine(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Corners from straight lines fitted to the middle of each side's outline points, so a
    finger or an object touching a corner (which bends the hull there) does not move it."""
    points = contour.reshape(-1, 2).astype(np.float32)
    lines = []
    for i in range(4):
        start, end = quad[i], quad[(i + 1) % 4]
        direction = end - start
        length = float(np.linalg.norm(direction))
        if length < 20:
            return quad
        unit = direction / length
        offset = points - start
        along = offset @ unit / length
        across = np.abs(offset[:, 0] * unit[1] - offset[:, 1] * unit[0])
        side = points[(along > 0.2) & (along < 0.8) & (across < 0.03 * length)]
        if len(side) < 8:
            return quad
        vx, vy, x, y = cv2.fitLine(side, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x, y]), np.array([vx, vy])))
    corners = []
    for i in range(4):  # corner i joins side i-1 and side i
        (p, u), (q, v) = lines[i - 1], lines[i]
        matrix = np.array([u, -v]).T
        if abs(np.linalg.det(matrix)) < 1e-6:
            return quad
        t = np.linalg.solve(matrix, q - p)[0]
        corners.append(p + t * u)
    refined = np.array(corners, np.float32)
    if np.abs(refined - quad).max() > 0.15 * max(_side_lengths(quad)):
        return quad  # the fit went wrong: keep the hull's corners
    return refined


def _masks(grey: np.ndarray) -> list[np.ndarray]:
    """Two views of where the card's outline may be: edges, and the bright region (a card is
    paler than most tables). Each finds cards the other misses."""
    edges = cv2.dilate(cv2.Canny(grey, 40, 120), np.ones((3, 3), np.uint8))
    _, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    return [edges, bright]


def _overlaps(quad: np.ndarray, other: np.ndarray) -> bool:
    """One outline's centre lies inside the other: the same card found twice (or its inner frame)."""
    return (
        cv2.pointPolygonTest(other.reshape(-1, 1, 2), tuple(map(float, quad.mean(axis=0))), False) >= 0
        or cv2.pointPolygonTest(quad.reshape(-1, 1, 2), tuple(map(float, other.mean(axis=0))), False) >= 0
    )


def find_cards(frame_bgr: np.ndarray, *, work_side: int = WORK_SIDE) -> list[FoundCard]:
    """Every card-shaped outline in the frame that is not inside another, largest first."""
    height, width = frame_bgr.shape[:2]
    ratio = width / height
    scale = min(1.0, work_side / max(width, height))
    small = cv2.resize(frame_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame_bgr
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    frame_area = small.shape[0] * small.shape[1]
    found: list[tuple[FoundCard, float]] = []  # with how well its outline fits its contour (`_overlap`)
    for mask in _masks(grey):
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:12]:
            area = cv2.contourArea(contour)
            if area < MIN_AREA_SHARE * frame_area or area > 0.98 * frame_area:
                continue
            region = _region(contour, grey.shape)
            corners = _quad(contour)
            straight = _straight_quad(contour)
            if straight is not None and (
                corners is None or _overlap(straight, region) > _overlap(corners, region) + 0.01
            ):
                corners = order_corners(straight)  # the hull bulged out where glare met the background
            if corners is None:
                continue
            refined = order_corners(_refine(order_corners(corners), contour))
            fit = _overlap(refined, region)  # the outline given, as refined (a line it follows there lowers it)
            quad = refined / scale
            long_side, short_side = sorted(_side_lengths(quad), reverse=True)
            quad_area = cv2.contourArea(corners)
            fill = area / quad_area if quad_area else 0.0
            if short_side == 0 or not 1.2 <= long_side / short_side <= 2.1 or fill < 0.85:
                continue
            card = FoundCard(quad, quad_area / frame_area)
            same = next((i for i, (seen, _) in enumerate(found) if _overlaps(seen.quad, quad)), None)
            if same is None:
                found.append((card, fit))
                continue
            # the same card seen twice (in both masks, or as a contour and one around it with a
            # line or a thumb touching the card): the outline that fits its contour best (the
            # other's hull reaches out to the line's end), the larger when they fit alike
            seen, seen_fit = found[same]
            if fit > seen_fit + 0.01 or (fit > seen_fit - 0.01 and card.area_share > seen.area_share):
                found[same] = (card, fit)
    cards = [card for card, _ in found]
    largest = max((card.area_share for card in cards), default=0.0)
    if largest < 0.3 and abs(max(ratio, 1 / ratio) - CARD_RATIO) < 0.12:  # a scan: the portrait is no card
        corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
        cards = [FoundCard(corners, 1.0)]
    return sorted(cards, key=lambda card: card.area_share, reverse=True)


def find_card(frame_bgr: np.ndarray, *, work_side: int = WORK_SIDE) -> FoundCard | None:
    """The largest card in the frame, or None."""
    cards = find_cards(frame_bgr, work_side=work_side)
    return cards[0] if cards else None


def rectify(frame_bgr: np.ndarray, found: FoundCard) -> np.ndarray:
    """The card warped to the canonical size, landscape."""
    quad = found.quad
    horizontal, vertical = _side_lengths(quad)
    if vertical > horizontal:  # held upright: start from the top right so the long side runs across
        quad = np.roll(quad, -1, axis=0)
    target = np.array([[0, 0], [CARD_PX[0] - 1, 0], [CARD_PX[0] - 1, CARD_PX[1] - 1], [0, CARD_PX[1] - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(frame_bgr, matrix, CARD_PX, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
