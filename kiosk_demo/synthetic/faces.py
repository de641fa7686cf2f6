"""Face frames for tests, the demo and the benchmark, made by the project from the two
public-domain portraits that ship inside installed packages (no applicant's face anywhere):
scikit-image's `astronaut` (NASA) and matplotlib's `grace_hopper` sample (US Navy).

Each is framed as the kiosk camera would see the person (640 x 480, the face a third of the
width) and edited by image warps driven by its own landmarks: eyelids pulled down over the
eye (blink), the face's centre shifted sideways or up and down against its outline (turn,
nod), the jaw dropped below the lips with the mouth's dark between them (open mouth).
Deterministic: no randomness but the seeded noise a camera adds."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from terminal_app.liveness.faces import Face, face_models

FRAME = (640, 480)
PEOPLE = ("astronaut", "hopper")


def _portrait(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data

        return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    if name == "hopper":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        return cv2.imread(str(path), cv2.IMREAD_COLOR)
    raise KeyError(name)


@cache
def base_frame(name: str) -> np.ndarray:
    """The person facing the camera, framed 640 x 480 with the face about 210 px wide."""
    portrait = _portrait(name)
    face = face_models().faces(portrait)[0]
    scale = 210 / face.width
    resized = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    cx, cy = (face.centre * scale).astype(int)
    padded = cv2.copyMakeBorder(resized, FRAME[1], FRAME[1], FRAME[0], FRAME[0], cv2.BORDER_REPLICATE)
    left, top = cx + FRAME[0] - FRAME[0] // 2, cy + FRAME[1] - FRAME[1] // 2 + 20
    return padded[top : top + FRAME[1], left : left + FRAME[0]].copy()


@cache
def base_face(name: str) -> Face:
    return face_models().faces(base_frame(name))[0]


def id_photo(name: str) -> np.ndarray:
    """The person's ID card photo (BGR, 26:33 like the card's photo area): the frontal frame
    cropped to head and shoulders, mirrored (a face is not symmetric, so this is not the live
    picture again), in flatter light and less colour than the live camera."""
    image, face = base_frame(name), base_face(name)
    width = int(face.width * 1.7)
    height = int(width * 33 / 26)
    cx, cy = face.centre.astype(int)
    left, top = cx - width // 2, cy - int(height * 0.45)
    padded = cv2.copyMakeBorder(image, height, height, width, width, cv2.BORDER_REPLICATE)
    crop = padded[top + height : top + 2 * height, left + width : left + 2 * width]
    grey = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    flat = cv2.addWeighted(crop, 0.6, grey, 0.4, 0)
    return cv2.flip(cv2.convertScaleAbs(flat, alpha=0.85, beta=30), 1)


def _grid(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    return np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))


def close_eyes(image: np.ndarray, face: Face, amount: float = 1.0) -> np.ndarray:
    """Both upper eyelids pulled down `amount` of the way to the lower lids."""
    xx, yy = _grid(image)
    map_y = yy.copy()
    lashes = []
    for start in (36, 42):
        q = face.landmarks[start : start + 6]
        x0, x1 = sorted((q[0, 0], q[3, 0]))
        upper, lower = q[[0, 1, 2, 3]], q[[0, 5, 4, 3]]
        lift = np.linalg.norm(q[0] - q[3]) * 0.6  # the skin above the lid that is stretched down
        columns = np.arange(int(x0) - 2, int(x1) + 3)
        top_lid = np.interp(columns, upper[:, 0], upper[:, 1])
        bottom_lid = np.interp(columns, lower[:, 0], lower[:, 1])
        taper = np.clip(1 - np.abs((columns - (x0 + x1) / 2) / ((x1 - x0) / 2 + 2)), 0, 1) ** 0.5
        edge = top_lid + (bottom_lid - top_lid - 1) * amount * taper
        for x, yu, yc in zip(columns, top_lid, edge, strict=True):
            top = yu - lift
            rows = np.arange(int(top), int(yc) + 1)
            map_y[rows, x] = top + (rows - top) * (yu - top) / max(yc - top, 1e-3)
        lashes.append(np.stack([columns, edge], axis=1))
    out = cv2.remap(image, xx, map_y, cv2.INTER_LINEAR)
    if amount >= 0.7:  # (nearly) shut: the lash line where the lids meet
        for line in lashes:
            cv2.polylines(out, [line.astype(np.int32)], False, (40, 35, 45), 3, cv2.LINE_AA)
    return out


def _bump(face: Face, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, float]:
    """A smooth weight, 1 at the nose and 0 beyond the face's outline, and the face's half width."""
    nose = face.landmarks[30]
    half = (face.landmarks[16, 0] - face.landmarks[0, 0]) / 2
    reach = ((xx - nose[0]) / (half * 1.1)) ** 2 + ((yy - nose[1]) / (half * 1.4)) ** 2
    return (np.clip(1 - reach, 0, 1) ** 1.5).astype(np.float32), float(half)


def _shift_middle(image: np.ndarray, face: Face, right: float, down: float) -> np.ndarray:
    """The middle of the face moved (in half face widths) against its still outline."""
    xx, yy = _grid(image)
    weight, half = _bump(face, xx, yy)
    map_x = (xx - right * half * weight).astype(np.float32)
    map_y = (yy - down * half * weight).astype(np.float32)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def turn(image: np.ndarray, face: Face, amount: float) -> np.ndarray:
    """The head turned; amount > 0 turns it to the person's left (the nose moves to the camera's right)."""
    return _shift_middle(image, face, amount, 0.0)


def nod(image: np.ndarray, face: Face, amount: float) -> np.ndarray:
    """The head tipped; amount > 0 moves the middle of the face down (chin down)."""
    return _shift_middle(image, face, 0.0, amount)


def _curve(points: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The height of a lip line through `points` (left to right) at each of `columns`."""
    order = np.argsort(points[:, 0])
    return np.interp(columns, points[order, 0], points[order, 1])


def open_mouth(image: np.ndarray, face: Face, amount: float) -> np.ndarray:
    """The jaw dropped by `amount` of the mouth's inner width. Everything below the line where
    the lips part (between the teeth, when they show) moves down: the lower lip whole, in an
    arc that is deepest in the middle and closes at the mouth's corners, the chin by the full
    drop, the skin of the cheeks and neck stretched to make up for it. Between the lips the
    mouth's dark opens, darkest under the upper lip, the tongue lighter low in it."""
    p = face.landmarks
    corners = p[[60, 64]]
    width = float(np.linalg.norm(corners[1] - corners[0]))
    gap = amount * width
    if gap < 1:
        return image.copy()
    columns = np.arange(image.shape[1], dtype=np.float32)
    centre = float(corners[:, 0].mean())
    # the line where the jaw parts: between the lips (between the teeth when they show)
    lower_lip = (_curve(p[[60, 67, 66, 65, 64]], columns) + _curve(p[[60, 61, 62, 63, 64]], columns)) / 2
    chin = float(p[8, 1])
    half_face = float(p[16, 0] - p[0, 0]) / 2
    # how far each column drops: the lip's arc near the mouth, the jaw's width further down
    arc = np.clip(1 - ((columns - centre) / (width / 2)) ** 2, 0, 1) ** 0.6
    jaw = np.clip(1 - ((columns - centre) / (half_face * 0.95)) ** 2, 0, 1)
    xx, yy = _grid(image)
    below = yy - lower_lip[None, :]
    towards_chin = np.clip(below / max(chin - lower_lip[int(centre)], 1.0), 0, 1)
    towards_chin = towards_chin * towards_chin * (3 - 2 * towards_chin)  # smooth step
    neck = np.clip(1 - (yy - chin) / max(0.6 * half_face, 3 * gap), 0, 1)
    drop = gap * (arc + (jaw - arc) * towards_chin) * np.where(yy > chin, neck, 1.0)
    drop = np.where(below > -1, drop, 0).astype(np.float32)
    source = yy - drop
    out = cv2.remap(image, xx, source, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # where a pixel would come from above the lower lip's old edge, the mouth is open
    depth = (lower_lip[None, :] - source) / max(gap, 1.0)  # 0 at the lower lip, 1 under the upper
    inside = ((below > 0) & (depth > 0)).astype(np.float32)
    mask = cv2.GaussianBlur(inside, (0, 0), max(0.8, width * 0.02))[..., None]
    tongue = np.clip(1 - depth, 0, 1)[..., None] ** 2  # the tongue lighter, low in the mouth
    cavity = np.array([28, 20, 38], np.float32) + tongue * np.array([22, 28, 70], np.float32)
    return (out * (1 - mask) + cavity * mask).astype(np.uint8)


def camera_noise(image: np.ndarray, seed: int, sigma: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


ACTION_PEAK = {"blink": 1.0, "turn_left": 0.4, "turn_right": -0.4, "nod": 0.3, "open_mouth": 0.5}


def act(image: np.ndarray, face: Face, kind: str, amount: float) -> np.ndarray:
    """`image` with the action `kind` done to `amount` of its peak (0: the neutral face)."""
    if amount == 0:
        return image.copy()
    peak = ACTION_PEAK[kind]
    if kind == "blink":
        return close_eyes(image, face, amount * peak)
    if kind in ("turn_left", "turn_right"):
        return turn(image, face, amount * peak)
    if kind == "nod":
        return nod(image, face, amount * peak)
    return open_mouth(image, face, amount * peak)


def challenge_frames(name: str, kinds: list[str], *, seed: int, perform: bool = True) -> list[np.ndarray]:
    """A person answering the challenges at 15 fps: 6 still frames (the baseline), then for each
    challenge 3 still frames, the action eased in over 3, held 2, eased out over 3. With
    `perform` False the person just sits there (every challenge times out)."""
    image, face = base_frame(name), base_face(name)
    curve = [0.0, 0.0, 0.0, 0.35, 0.7, 1.0, 1.0, 0.7, 0.35, 0.0]
    amounts = [0.0] * 6
    steps: list[tuple[str, float]] = [("blink", a) for a in amounts]
    for kind in kinds:
        steps += [(kind, a if perform else 0.0) for a in curve]
    return [camera_noise(act(image, face, kind, amount), seed * 1000 + i) for i, (kind, amount) in enumerate(steps)]
