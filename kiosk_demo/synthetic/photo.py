"""Photographs of synthetic cards, the way a kiosk camera sees them: the card on a cluttered
counter at an angle, then blur, noise, JPEG, uneven light, a glare spot and a finger over a
corner. Each degradation has its own strength, and `LEVELS` names the sweeps the tests and the
benchmark use (clean, mild, medium, hard). Deterministic for a seed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.capture.card_spec import CARD_PX
from terminal_app.capture.sources import ENDED, FOLDER_FPS, STREAMING, Frame
from terminal_app.core.reasons import Reason

FRAME = (1280, 720)


@dataclass(frozen=True)
class Degradation:
    rotation_deg: float = 0.0  # up to ± this, drawn per photo
    tilt: float = 0.0  # perspective: the far edge this much shorter (0.1 = 10%)
    card_width: float = 0.62  # the card's width as a share of the frame's
    clutter: int = 0  # objects on the counter
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int = 100  # 100: not compressed
    light_gradient: float = 0.0  # 0.4: one side 40% darker
    glare: float = 0.0  # radius of a bright spot as a share of the card's height
    occlusion: float = 0.0  # a thumb over a corner, as a share of the card's height


LEVELS: dict[str, Degradation] = {
    "clean": Degradation(),
    "mild": Degradation(
        rotation_deg=8, tilt=0.04, clutter=8, blur_sigma=0.6, noise_sigma=3, jpeg_quality=90, light_gradient=0.15
    ),
    "medium": Degradation(
        rotation_deg=20,
        tilt=0.08,
        card_width=0.55,
        clutter=20,
        blur_sigma=1.1,
        noise_sigma=6,
        jpeg_quality=75,
        light_gradient=0.3,
        glare=0.12,
        occlusion=0.12,
    ),
    "hard": Degradation(
        rotation_deg=30,
        tilt=0.14,
        card_width=0.45,
        clutter=40,
        blur_sigma=1.8,
        noise_sigma=10,
        jpeg_quality=55,
        light_gradient=0.45,
        glare=0.2,
        occlusion=0.2,
    ),
}


def _counter(rng: np.random.Generator, clutter: int) -> np.ndarray:
    """A wooden or laminate counter: smooth low-frequency texture, with objects lying about."""
    width, height = FRAME
    base = rng.integers(70, 150, 3)
    texture = cv2.resize(rng.normal(0, 12, (9, 16)).astype(np.float32), FRAME, interpolation=cv2.INTER_CUBIC)
    frame = np.clip(base[None, None, :] + texture[:, :, None], 0, 255).astype(np.uint8)
    for _ in range(clutter):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (x, y), (x + int(rng.integers(15, 120)), y + int(rng.integers(10, 80))), colour, -1)
        else:
            cv2.line(frame, (x, y), (x + int(rng.integers(-200, 200)), y + int(rng.integers(-200, 200))), colour, 3)
    return frame


@dataclass(frozen=True)
class Pose:
    """Where the card lies in the frame."""

    centre: tuple[float, float]  # pixels
    card_width: float  # as a share of the frame's width
    angle_deg: float = 0.0
    tilt: float = 0.0  # the far edge this much shorter
    far_edge: int = 0  # which edge is farther from the camera: 0 top, 1 bottom, 2 left, 3 right
    thumb_corner: int | None = None  # where the occlusion sits (None: a random corner)
    thumb: tuple[tuple[int, int, int], float] | None = None  # its skin (BGR) and angle (None: random)
    glare_at: tuple[float, float] | None = None  # the glare spot from the card's centre, in card sizes
    shade_flipped: bool | None = None  # the light falls off to the left, not the right (None: random)


def _corners(pose: Pose) -> np.ndarray:
    """The card's corners around (0, 0), before moving to the centre."""
    w, h = CARD_PX
    scale = pose.card_width * FRAME[0] / w
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) * 0.5 * scale
    shrink = 1 - pose.tilt
    rows = {0: (slice(0, 2), 0), 1: (slice(2, 4), 0), 2: ([0, 3], 1), 3: ([1, 2], 1)}[pose.far_edge]
    corners[rows] *= shrink
    angle = np.deg2rad(pose.angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return corners @ rotation.T


def random_pose(rng: np.random.Generator, d: Degradation) -> Pose:
    """A pose drawn within the degradation's limits, the card wholly inside the frame."""
    width, height = FRAME
    angle = float(rng.uniform(-d.rotation_deg, d.rotation_deg))
    far = int(rng.integers(0, 4))
    margin = np.abs(_corners(Pose((0, 0), d.card_width, angle, d.tilt, far))).max(axis=0)
    centre = (width / 2, height / 2)
    if margin[0] + 8 < width / 2 and margin[1] + 8 < height / 2:
        x = float(rng.uniform(margin[0] + 8, width - margin[0] - 8))
        centre = (x, float(rng.uniform(margin[1] + 8, height - margin[1] - 8)))
    return Pose(centre, d.card_width, angle, d.tilt, far)


def random_thumb(rng: np.random.Generator) -> tuple[tuple[int, int, int], float]:
    """A thumb's skin (BGR) and the angle it lies at."""
    skin = tuple(int(c) for c in rng.choice([(140, 170, 210), (120, 150, 190), (100, 130, 170)]))
    return skin, float(rng.uniform(0, 180))


def _place(
    card: np.ndarray, frame: np.ndarray, rng: np.random.Generator, d: Degradation, pose: Pose
) -> tuple[np.ndarray, np.ndarray | None]:
    """The frame with the card placed on it, and the glare's light (added after the lighting:
    a reflection of the lamp saturates the camera whatever the shading)."""
    width, height = FRAME
    w, h = CARD_PX
    scale = pose.card_width * width / w
    target = (_corners(pose) + np.array(pose.centre)).astype(np.float32)
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(card, matrix, FRAME, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, FRAME)
    out = frame.copy()
    out[mask > 0] = warped[mask > 0]
    if d.occlusion:
        drawn = int(rng.integers(0, 4))
        corner = target[drawn if pose.thumb_corner is None else pose.thumb_corner]
        radius = int(d.occlusion * h * scale)
        drawn_thumb = random_thumb(rng)  # drawn whatever the pose holds, so the draws after it stay the same
        skin, angle = pose.thumb or drawn_thumb
        cv2.ellipse(out, (int(corner[0]), int(corner[1])), (radius, int(radius * 1.4)), angle, 0, 360, skin, -1)
    if d.glare:
        drawn = rng.uniform(-0.3, 0.3, 2)
        spot = (
            target.mean(axis=0)
            + (drawn if pose.glare_at is None else np.array(pose.glare_at)) * np.array([w, h]) * scale
        )
        radius = d.glare * h * scale
        yy, xx = np.mgrid[0:height, 0:width]
        light = np.exp(-(((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * radius**2)))
        return out, (light * 255).astype(np.float32)[:, :, None]
    return out, None


def photograph(
    card_bgr: np.ndarray | None,
    degradation: Degradation,
    seed: int,
    pose: Pose | None = None,
    counter: np.ndarray | None = None,
) -> np.ndarray:
    """A camera frame (1280 x 720, BGR) of the rectified card under `degradation`, at `pose`
    or at a random one within the degradation's limits, on `counter` or a random one;
    `card_bgr` None: the empty counter."""
    rng = np.random.default_rng(seed)
    d = degradation
    if d == Degradation() and pose is None and card_bgr is not None:
        return card_bgr.copy()  # a flat scan: the card fills the image
    counter = _counter(rng, d.clutter) if counter is None else counter
    if card_bgr is None:
        frame, glare = counter, None
    else:
        frame, glare = _place(card_bgr, counter, rng, d, pose or random_pose(rng, d))
    if d.light_gradient:
        ramp = np.linspace(1.0, 1.0 - d.light_gradient, FRAME[0], dtype=np.float32)
        flipped = bool(rng.random() < 0.5)  # drawn whatever the pose holds, as the thumb
        if pose is not None and pose.shade_flipped is not None:
            flipped = pose.shade_flipped
        if flipped:
            ramp = ramp[::-1]
        frame = np.clip(frame * ramp[None, :, None], 0, 255).astype(np.uint8)
    if glare is not None:
        frame = np.clip(frame + glare, 0, 255).astype(np.uint8)
    if d.blur_sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), d.blur_sigma)
    if d.noise_sigma:
        frame = np.clip(frame + rng.normal(0, d.noise_sigma, frame.shape), 0, 255).astype(np.uint8)
    if d.jpeg_quality < 100:
        _, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_quality])
        frame = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return frame


def _motion_blur(frame: np.ndarray, length: int) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    return cv2.filter2D(frame, -1, kernel)


@dataclass(frozen=True)
class Shot:
    """One frame of a person holding a card, planned (every random draw made) and drawn when
    asked: the tilts and turns a person is never told to make cost nothing."""

    holding: _Holding
    pose: Pose | None  # None: the empty counter
    seed: int
    blur: int = 0  # motion blur along the move, in pixels

    def draw(self) -> np.ndarray:
        h = self.holding
        frame = photograph(h.card if self.pose else None, h.d, self.seed, self.pose, h.counter)
        return _motion_blur(frame, self.blur) if self.blur else frame


class _Holding:
    """One person's way of holding one card under a level: the same counter, angle, far edge,
    thumb and lamp throughout, unless they tilt the card (`tilted`). Its methods plan `Shot`s."""

    def __init__(self, card_bgr: np.ndarray, seed: int, level: str):
        self.rng = rng = np.random.default_rng(seed)
        self.card, self.seed, self.d = card_bgr, seed, LEVELS[level]
        self.angle = float(rng.uniform(-self.d.rotation_deg, self.d.rotation_deg))
        self.far_edge = int(rng.integers(0, 4))
        self.looks = np.random.default_rng([seed, 1])  # the thumb's and the lamp's, apart from the moves' draws
        self.shade_flipped = bool(self.looks.random() < 0.5)  # the lamp stays where it is
        self.held = self._held_anew()
        self.close = max(self.d.card_width, 0.58)
        self.counter = _counter(rng, self.d.clutter)  # the same counter all along
        self.offset = 0  # frames planned: each is photographed with its own seed

    def _held_anew(self) -> dict:
        """How the card is held, drawn anew: the thumb's corner, skin and angle, the lamp's spot
        on the card; the same on every frame until the person tilts it or places it again."""
        return {
            "thumb_corner": int(self.rng.integers(0, 4)),
            "glare_at": tuple(self.rng.uniform(-0.3, 0.3, 2)),
            "thumb": random_thumb(self.looks),
            "shade_flipped": self.shade_flipped,
        }

    def frame(self, pose: Pose | None, blur: int = 0) -> Shot:
        self.offset += 1
        return Shot(self, pose, self.seed * 1000 + self.offset - 1, blur)

    def pose(self, centre: tuple[float, float], width: float | None = None) -> Pose:
        return Pose(centre, width or self.close, self.angle, self.d.tilt, self.far_edge, **self.held)

    def steady(self, count: int) -> list[Shot]:
        """Held still in the middle of the frame, a pixel of jitter."""
        width, height = FRAME
        frames = []
        for _ in range(count):
            jitter = self.rng.uniform(-1, 1, 2)
            frames.append(self.frame(self.pose((width / 2 + jitter[0], height / 2 + jitter[1]))))
        return frames

    def tilted(self, steady: int) -> list[Shot]:
        """Told of glare: the card tipped a few degrees (within the level's rotation), two frames
        blurred by the move, then held. A reflection turns by twice the card's tilt, so the
        lamp's spot moves a third to two thirds of the card in some direction: often off the
        card, sometimes onto other text."""
        limit = self.d.rotation_deg
        self.angle = float(np.clip(self.angle + self.rng.uniform(-5, 5), -limit, limit))
        direction = float(self.rng.uniform(0, 2 * np.pi))
        step = float(self.rng.uniform(1 / 3, 2 / 3)) * np.array([np.cos(direction), np.sin(direction)])
        self.held = {**self.held, "glare_at": tuple(np.array(self.held["glare_at"]) + step)}
        return self._moved(12, 9, steady)

    def turned_back(self, steady: int) -> list[Shot]:
        """Told to turn the card over: turned to this side again, two frames blurred by the
        move, then held as before."""
        return self._moved(20, 15, steady)

    def _moved(self, step_px: int, blur: int, steady: int) -> list[Shot]:
        """Two frames of the card moving back into the middle, `step_px` a frame, blurred by the
        move, then held still for `steady` frames."""
        width, height = FRAME
        moving = [self.frame(self.pose((width / 2 + step_px * (2 - i), height / 2)), blur) for i in range(2)]
        return moving + self.steady(steady)

    def shown(self, steady: int) -> list[Shot]:
        """The card shown: the empty counter, the card too far away, half out of the picture,
        moving into place (blurred by the motion), then held still for `steady` frames."""
        width, height = FRAME
        frames = [self.frame(None), self.frame(None)]
        frames += [self.frame(self.pose((width / 2 + 10 * i, height / 2), 0.3)) for i in range(2)]
        frames += [self.frame(self.pose((width * 0.92, height / 2 + 20 * i))) for i in range(2)]
        return frames + self._slid_in(steady)

    def placed_again(self, steady: int) -> list[Shot]:
        """Told to place the card again: taken away, then put down anew, held another way (its
        angle, far edge, thumb and the lamp's spot drawn again), slid into place and held."""
        d, rng = self.d, self.rng
        self.angle = float(rng.uniform(-d.rotation_deg, d.rotation_deg))
        self.far_edge = int(rng.integers(0, 4))
        self.held = self._held_anew()
        return [self.frame(None), self.frame(None), *self._slid_in(steady)]

    def _slid_in(self, steady: int) -> list[Shot]:
        """Sliding in from the right, 45 px a frame (blurred by the motion), then held still."""
        width, height = FRAME
        frames = [self.frame(self.pose((width / 2 + 45 * (3 - i), height / 2)), 21) for i in range(3)]
        return frames + self.steady(steady)


def held_card_frames(card_bgr: np.ndarray, *, seed: int, level: str = "mild", steady: int = 8) -> list[np.ndarray]:
    """A person showing the card to the camera (`_Holding.shown`) under the level's degradations."""
    return [shot.draw() for shot in _Holding(card_bgr, seed, level).shown(steady)]


SIDE_SEED_STEP = 50  # side k of a card shown with seed s is held as `held_card_frames` holds it with s + 50 k


def held_sides_frames(sides: list[np.ndarray], *, seed: int, level: str = "mild") -> list[np.ndarray]:
    """The card's sides shown in turn, on video: what a `CardHolder` shows when told nothing."""
    return [
        frame
        for k, card in enumerate(sides)
        for frame in held_card_frames(card, seed=seed + SIDE_SEED_STEP * k, level=level, steady=CardHolder.STEADY)
    ]


class CardHolder:
    """A person showing the card's sides in turn (as `held_sides_frames`) who does what the
    screen says: told of glare, after a moment they tilt the card (`_Holding.tilted`), up to
    `tilts` times a side, and hold it there; told to place the card again, they take it away and
    put it down anew (`_Holding.placed_again`), up to `placements` times a side; told to turn the
    card over, they turn it (once a side): from the front to the back at once, and from the back
    (turned to before the front was read) to the front, then to the back again. Each hold lasts
    `hold` frames (`STEADY`, half a second, unless set), after which they go on untold. A frame
    source for the capture (terminal_app.capture.sources.FrameSource), its `hear` the capture's
    instruction hook. Each move is planned when it is heard and its frames drawn when read;
    `drawing_ms` is the time that took, which is not the capture's."""

    REACTION_FRAMES = 5  # a third of a second at 15 fps between the instruction and the move
    STEADY = 8

    def __init__(
        self,
        sides: list[np.ndarray],
        *,
        seed: int,
        level: str = "mild",
        tilts: int = 2,
        placements: int = 2,
        hold: int = STEADY,
    ):
        self.fps, self.status = FOLDER_FPS, STREAMING
        self._frames: list[tuple[int, Shot]] = []  # (side, frame) still to show
        self._hold = hold
        self._holdings = [_Holding(card, seed + SIDE_SEED_STEP * k, level) for k, card in enumerate(sides)]
        for k, holding in enumerate(self._holdings):
            shown = holding.shown(hold)
            self._moving = len(shown) - hold  # frames of a side being shown before it is held still
            self._frames += [(k, frame) for frame in shown]
        self._listens = tilts > 0  # with no tilts to make, the person hears nothing (a recording)
        self._tilts = [tilts] * len(sides)  # each side's tilts still to make
        self._placements = [placements if self._listens else 0] * len(sides)
        self._turned_back = [not self._listens] * len(sides)  # each side turned to again once at most
        self.drawing_ms = 0.0
        self._index = 0
        self._steady_at = 0  # the frame from which the current hold is still (an instruction is heard only then)
        self.tilts_made = self.placements_made = 0

    @property
    def ended(self) -> bool:
        return not self._frames

    @property
    def frames_shown(self) -> int:
        return self._index

    def read(self) -> Frame | None:
        if not self._frames:
            self.status = ENDED
            return None
        _, shot = self._frames.pop(0)
        started = time.perf_counter()
        frame = Frame(shot.draw(), self._index, self._index * 1000 / self.fps)
        self.drawing_ms += (time.perf_counter() - started) * 1000
        self._index += 1
        return frame

    def hear(self, instruction: Reason) -> None:
        """The capture's instruction (a Reason): "glare" makes the person tilt the card,
        "place_again" put it down anew, "turn_over" turn it. None is heard while the card is still
        moving from the last one (the screen may still be answering the frames from before)."""
        if not self._frames or self._index < self._steady_at:
            return
        side = self._frames[0][0]
        if instruction.code == "turn_over" and self._listens:
            self._turn_over()
        elif instruction.code == "glare" and self._tilts[side]:
            self._tilts[side] -= 1
            self.tilts_made += 1
            self._replace_hold(side, self._holdings[side].tilted(self._hold), moving=2)
        elif instruction.code == "place_again" and self._placements[side]:
            self._placements[side] -= 1
            self.placements_made += 1
            self._replace_hold(side, self._holdings[side].placed_again(self._hold), moving=5)

    def _replace_hold(self, side: int, shots: list[Shot], moving: int) -> None:
        """After the reaction time, the rest of the side's frames become `shots`, the card still
        from `moving` frames in."""
        at = self._reaction(side)
        rest = [item for item in self._frames[at:] if item[0] != side]  # the other sides, still to come
        self._frames = self._frames[:at] + [(side, shot) for shot in shots] + rest
        self._steady_at = self._index + at + moving

    def _reaction(self, side: int) -> int:
        """The frames still shown as they were before the person reacts (fewer if the side ends)."""
        return min(self.REACTION_FRAMES, sum(1 for k, _ in self._frames if k == side))

    def _turn_over(self) -> None:
        side = self._frames[0][0]
        at = self._reaction(side)
        if side == 0:  # still on the front when the back is wanted: on to the back's frames
            self._frames = self._frames[:at] + [item for item in self._frames[at:] if item[0] != side]
            self._steady_at = self._index + at + self._moving  # until the back is held still
            return
        if self._turned_back[side - 1]:
            return
        self._turned_back[side - 1] = self._turned_back[side] = True
        front_again = [(side - 1, shot) for shot in self._holdings[side - 1].turned_back(self._hold)]
        back_again = [(side, shot) for shot in self._holdings[side].turned_back(self._hold)]
        rest = [item for item in self._frames[at:] if item[0] != side]
        self._frames = self._frames[:at] + front_again + back_again + rest
        self._steady_at = self._index + at + 2  # until the front is held still again

    def close(self) -> None:
        self._frames = []
