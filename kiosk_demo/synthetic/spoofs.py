"""The cheap attacks a kiosk camera sees, made from the fixture faces as physical processes,
not as the signals the detector looks for:

- `screen_replay`: a genuine challenge video played on a phone held up to the camera. The
  phone's screen is drawn as its RGB sub-pixel stripes, in a black bezel, in a hand that
  shakes a little; the camera samples it through its lens blur and noise, so the moire comes
  from the two pixel grids beating, as it does in front of a real camera.
- `printed_photo`: the frontal face printed on paper (ink's narrower range, a 150-lpi halftone
  screen at 45 degrees) with a white margin, held up and tilted to fake a turn or a nod.
- `still_injection`: one picture fed as the camera stream (a virtual camera): every frame
  the same bytes."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk_demo.synthetic import faces as sf

FRAME = sf.FRAME


def _room(rng: np.random.Generator) -> np.ndarray:
    """What is behind the held-up object: a dim, out-of-focus room."""
    base = rng.uniform(70, 130, 3)
    ramp = np.linspace(0.8, 1.1, FRAME[0])[None, :, None]
    room = np.clip(np.ones((FRAME[1], FRAME[0], 3)) * base * ramp + rng.normal(0, 6, (FRAME[1], FRAME[0], 3)), 0, 255)
    return cv2.GaussianBlur(room.astype(np.uint8), (0, 0), 4)


def _camera(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    soft = cv2.GaussianBlur(frame, (0, 0), 0.6)
    return np.clip(soft + rng.normal(0, 2.0, soft.shape), 0, 255).astype(np.uint8)


def _held(corners: np.ndarray, rng: np.random.Generator, shake: float) -> np.ndarray:
    return (corners + rng.normal(0, shake, corners.shape)).astype(np.float32)


def _subpixels(image: np.ndarray, screen_px: tuple[int, int], lens_sigma: float) -> np.ndarray:
    """`image` shown on a screen of `screen_px` pixels, each pixel three vertical R, G, B
    stripes (3 x 3 sub-samples per screen pixel), softened by the camera lens (`lens_sigma`
    in sub-samples) before the camera's pixels sample it."""
    shown = cv2.resize(image, screen_px, interpolation=cv2.INTER_AREA).astype(np.float32)
    shown = 255 * (shown / 255) ** 1.1 * 0.9 + 12  # the panel's tone curve and black level
    big = np.repeat(np.repeat(shown, 3, axis=0), 3, axis=1)
    mask = np.zeros((3, 3, 3), np.float32)
    for column, channel in enumerate((2, 1, 0)):  # BGR image: R stripe first
        mask[:, column, channel] = 3.0
    lit = big * np.tile(mask, (screen_px[1], screen_px[0], 1))
    return cv2.GaussianBlur(lit, (0, 0), lens_sigma)


class PhoneScreen:
    """A phone held close to the kiosk camera, playing a genuine video: `show(frame)` is what the
    camera sees of each frame played (the screen about three quarters of the picture's width,
    its bezel in view, the hand shaking a little from frame to frame)."""

    def __init__(self, *, seed: int, screen_px: tuple[int, int] = (600, 450)):
        rng = self._rng = np.random.default_rng(seed)
        width = self._width = FRAME[0] * rng.uniform(0.68, 0.78)
        height = width * screen_px[1] / screen_px[0]
        cx, cy = FRAME[0] / 2 + rng.uniform(-15, 15), FRAME[1] / 2 + rng.uniform(-10, 10)
        lean = rng.uniform(-0.04, 0.04) * width  # the phone tipped back a little: the top edge looks shorter
        self._corners = np.array(
            [[cx - width / 2 + lean, cy - height / 2], [cx + width / 2 - lean, cy - height / 2],
             [cx + width / 2, cy + height / 2], [cx - width / 2, cy + height / 2]]
        )  # fmt: skip
        self._room = _room(rng)
        self._screen_px = screen_px
        self._size = (screen_px[0] * 3, screen_px[1] * 3)

    def show(self, frame: np.ndarray) -> np.ndarray:
        rng, width, screen_px = self._rng, self._width, self._screen_px
        sw, sh = self._size
        source = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
        bezel = 0.08 * width
        held = _held(self._corners, rng, 1.0)
        picture = self._room.copy()
        centre = held.mean(axis=0)
        outer = (centre + (held - centre) * (1 + 2 * bezel / width)).astype(np.int32)
        cv2.fillConvexPoly(picture, outer, (18, 18, 22), cv2.LINE_AA)
        matrix = cv2.getPerspectiveTransform(source, held)
        lens = 0.5 * screen_px[0] * 3 / width  # half a camera pixel, in sub-samples
        h, w = frame.shape[:2]
        zoomed = frame[h // 8 : h - h // 8, w // 8 : w - w // 8]  # the attacker zooms in on the face
        shown = np.clip(_subpixels(zoomed, screen_px, lens), 0, 255)
        screen = cv2.warpPerspective(shown, matrix, FRAME, flags=cv2.INTER_LINEAR)
        inside = cv2.warpPerspective(np.ones((sh, sw), np.float32), matrix, FRAME) > 0.5
        picture[inside] = screen[inside].astype(np.uint8)
        return _camera(picture, rng)


def screen_replay(frames: list[np.ndarray], *, seed: int, screen_px: tuple[int, int] = (600, 450)) -> list[np.ndarray]:
    """Each frame of a genuine video as the kiosk camera sees it played on a phone held close."""
    phone = PhoneScreen(seed=seed, screen_px=screen_px)
    return [phone.show(frame) for frame in frames]


def _halftone(image: np.ndarray, scale: int) -> np.ndarray:
    """`image` printed at `scale` x its size with a 45-degree dot screen, one dot per `scale` px."""
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    ink = 40 + big * (225 - 40) / 255  # paper white to ink black
    yy, xx = np.mgrid[: big.shape[0], : big.shape[1]].astype(np.float32)
    u, v = (xx + yy) / np.sqrt(2), (xx - yy) / np.sqrt(2)
    screen = (np.cos(2 * np.pi * u / scale) + np.cos(2 * np.pi * v / scale)) / 4 + 0.5  # 0..1 dot profile
    return np.where(ink / 255 > screen[..., None], 240.0, 35.0)


def printed_photo(name: str, *, seed: int, moves: list[tuple[float, float]] | None = None) -> list[np.ndarray]:
    """A print of the person's frontal picture held up to the camera. `moves` are (yaw, pitch)
    tilts of the paper in degrees, one per frame (default: still, then tilted to each side and
    forward as someone faking the challenges would)."""
    rng = np.random.default_rng(seed)
    face = sf.base_frame(name)
    margin = 24
    paper = cv2.copyMakeBorder(face, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    scale = 3
    printed = cv2.GaussianBlur(_halftone(paper, scale), (0, 0), 0.5 * scale)  # the lens: half a camera pixel
    if moves is None:
        moves = [(0.0, 0.0)] * 8 + [(a, 0.0) for a in (8, 16, 24, 16, 8, 0, -8, -16, -24, -16, -8, 0)]
        moves += [(0.0, a) for a in (6, 12, 18, 12, 6, 0)]
    h, w = printed.shape[:2]
    room = _room(rng)
    out = []
    for yaw, pitch in moves:
        # the paper's corners rotated in 3-D about its centre, seen by a pinhole camera
        corners3 = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
        ry, rx = np.radians(yaw), np.radians(pitch)
        rot_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
        rot_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
        turned = corners3 @ (rot_x @ rot_y).T
        distance = 2.2 * w
        k = 0.9 * FRAME[0] * distance / w  # the paper fills most of the picture
        projected = turned[:, :2] * k / (distance + turned[:, 2:3]) + np.array(FRAME) / 2
        held = _held(projected, rng, 0.8)
        source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        matrix = cv2.getPerspectiveTransform(source, held)
        sheet = cv2.warpPerspective(printed, matrix, FRAME, flags=cv2.INTER_LINEAR)
        inside = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, FRAME) > 0.5
        picture = room.copy()
        picture[inside] = sheet[inside].astype(np.uint8)
        out.append(_camera(picture, rng))
    return out


def still_injection(name: str, count: int = 40) -> list[np.ndarray]:
    """One frontal picture fed `count` times, byte for byte, as a virtual camera does."""
    frame = sf.camera_noise(sf.base_frame(name), seed=0)
    return [frame.copy() for _ in range(count)]
