"""The per-frame quality gate of the card camera: is there one card, large enough, wholly in
the frame, facing the camera, still, sharp, lit and free of glare? Cheap enough for every
preview frame (the card is searched at 640 pixels and judged on a quarter-size rectified
copy). Each failed check comes with the one instruction that fixes it; frames that pass are
scored, so the capture can OCR the best of them.

The thresholds come from the synthetic photographs (kiosk_demo.synthetic.photo):
OCR reads every field of cards at the `medium` blur (sigma 1.1, focus about 400 here) and fails
at sigma 1.8 (focus about 200)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from terminal_app.capture.card_finder import FoundCard, find_cards
from terminal_app.core.reasons import Reason

PREVIEW_SIDE = 640  # frames are searched for the card at most this wide
JUDGE_PX = (428, 270)  # the rectified card is judged at half the canonical size
LOOK_PX = (32, 20)  # the card's look, to tell its sides apart


@dataclass(frozen=True)
class QualityThresholds:
    min_card_share: float = 0.16  # of the frame; smaller: move closer
    edge_margin: float = 0.004  # a corner nearer the border than this share: not wholly inside
    max_tilt: float = 0.2  # opposite edges differ by more than this: not facing the camera
    max_motion: float = 0.03  # corners moved more than this share of the card's diagonal
    min_focus: float = 250.0  # variance of the Laplacian on the judged card
    max_glare: float = 0.01  # share of the card's pixels burnt out (>= 250)
    min_brightness: float = 70.0
    min_colour: float = 2.5  # median saturation; a photocopy or greyscale print has none
    second_card_share: float = 0.5  # another outline at least this big beside the card: two cards


NO_CARD = Reason("no_card")
TWO_CARDS = Reason("two_cards")
NOT_INSIDE = Reason("not_inside")
TOO_FAR = Reason("too_far")
TOO_DARK = Reason("too_dark")
PHOTOCOPY = Reason("photocopy")
TILTED = Reason("tilted")
MOVING = Reason("moving")
BLURRED = Reason("blurred")
GLARE = Reason("glare")


@dataclass(frozen=True)
class FrameCheck:
    problem: Reason | None  # None: good enough to read
    measures: dict[str, float] = field(default_factory=dict)
    card: FoundCard | None = None
    score: float = 0.0  # higher is better; 0 for frames not judged (no card, or not wholly in view)
    look: np.ndarray | None = field(default=None, repr=False)  # `card_look` of the judged card

    @property
    def ok(self) -> bool:
        return self.problem is None


def _tilt(quad: np.ndarray) -> float:
    """How much shorter the nearer of each pair of opposite edges is than the other (0: flat)."""
    sides = [float(np.linalg.norm(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    return max(
        1 - min(sides[0], sides[2]) / max(sides[0], sides[2]), 1 - min(sides[1], sides[3]) / max(sides[1], sides[3])
    )


def _motion(quad: np.ndarray, previous: np.ndarray | None) -> float:
    """How far the card's corners moved since the last frame, as a share of its diagonal: the
    median of the four, so one corner's outline jumping (a thumb over it, glare on its edge) is
    not taken for the card moving."""
    if previous is None:
        return 0.0
    diagonal = float(np.linalg.norm(quad[2] - quad[0]))
    return float(np.median(np.linalg.norm(quad - previous, axis=1)) / diagonal) if diagonal else 1.0


def card_look(card_bgr: np.ndarray) -> np.ndarray:
    """The rectified card's print at 32 x 20: grey, lighter than its median cut off (the paper,
    and glare, which moves when the card is tilted), normalised."""
    grey = cv2.resize(cv2.cvtColor(card_bgr, cv2.COLOR_BGR2GRAY), LOOK_PX, interpolation=cv2.INTER_AREA)
    grey = np.minimum(grey.astype(np.float32), np.median(grey))
    return (grey - grey.mean()) / (grey.std() + 1e-6)


def look_alike(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two cards' looks are (correlation, either way up): one side against itself
    under other glare and tilt 0.96 at the median; the front against the back at most 0.45,
    measured on 30 cards, mild and medium."""
    return max(float((a * b).mean()), float((a * b[::-1, ::-1]).mean()))


def judge_card(card_bgr: np.ndarray) -> dict[str, float]:
    """Focus, glare, brightness and colour of a rectified card (any size; judged at JUDGE_PX)."""
    small = (
        cv2.resize(card_bgr, JUDGE_PX, interpolation=cv2.INTER_AREA) if card_bgr.shape[1] != JUDGE_PX[0] else card_bgr
    )
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    inner = cv2.resize(small, (107, 67), interpolation=cv2.INTER_AREA)[7:-7, 10:-10]  # noise averaged out
    return {
        "focus": round(float(cv2.Laplacian(grey, cv2.CV_32F).var()), 1),
        "glare": round(float((grey >= 250).mean()), 4),
        "brightness": round(float(grey.mean()), 1),
        "colour": float(np.median(cv2.cvtColor(inner, cv2.COLOR_BGR2HSV)[:, :, 1])),
    }


def check_frame(
    frame_bgr: np.ndarray, previous: FrameCheck | None = None, thresholds: QualityThresholds | None = None
) -> FrameCheck:
    """Judge one frame; `previous` is the last frame's check, for "hold still"."""
    t = thresholds or QualityThresholds()
    height, width = frame_bgr.shape[:2]
    cards = find_cards(frame_bgr, work_side=PREVIEW_SIDE)
    if not cards:
        return FrameCheck(NO_CARD)
    card = cards[0]
    measures = {"card_share": round(card.area_share, 3)}
    if len(cards) > 1 and cards[1].area_share >= t.second_card_share * card.area_share:
        return FrameCheck(TWO_CARDS, measures, card)
    margin = t.edge_margin * max(width, height)
    quad = card.quad
    inside = (quad[:, 0] >= margin).all() and (quad[:, 0] <= width - 1 - margin).all()
    inside = inside and (quad[:, 1] >= margin).all() and (quad[:, 1] <= height - 1 - margin).all()
    if card.area_share < 1.0 and not inside:
        return FrameCheck(NOT_INSIDE, measures, card)
    if card.area_share < t.min_card_share:
        return FrameCheck(TOO_FAR, measures, card)
    target = np.array(
        [[0, 0], [JUDGE_PX[0] - 1, 0], [JUDGE_PX[0] - 1, JUDGE_PX[1] - 1], [0, JUDGE_PX[1] - 1]], np.float32
    )
    horizontal = np.linalg.norm(quad[1] - quad[0]) >= np.linalg.norm(quad[3] - quad[0])
    source = quad if horizontal else np.roll(quad, -1, axis=0)
    judged = cv2.warpPerspective(frame_bgr, cv2.getPerspectiveTransform(source, target), JUDGE_PX)
    measures |= judge_card(judged)
    measures["tilt"] = round(_tilt(quad), 3)
    measures["motion"] = round(_motion(quad, previous.card.quad if previous and previous.card else None), 3)
    checks = (  # in the order a person should fix them
        (measures["brightness"] < t.min_brightness, TOO_DARK),
        (measures["colour"] < t.min_colour, PHOTOCOPY),
        (measures["tilt"] > t.max_tilt, TILTED),
        (measures["motion"] > t.max_motion, MOVING),
        (measures["focus"] < t.min_focus, BLURRED),
        (measures["glare"] > t.max_glare, GLARE),
    )
    problem = next((reason for failed, reason in checks if failed), None)
    sharpness = min(measures["focus"], 4 * t.min_focus) / (4 * t.min_focus)
    glare = max(0.05, 1 - measures["glare"] / t.max_glare / 2)
    score = sharpness * glare * min(1.0, measures["card_share"] / 0.4) * max(0.0, 1 - measures["tilt"])
    return FrameCheck(problem, measures, card, round(score, 4), card_look(judged))
