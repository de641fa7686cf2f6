"""Photographs of synthetic cards, the way a kiosk camera sees them: the card on a cluttered
counter at an angle, then blur, noise, JPEG, uneven light, a glare spot and a finger over a
corner. Each degradation has its own strength, and `LEVELS` names the sweeps the tests and the
benchmark use (clean, mild, medium, hard). Deterministic for a seed."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.capture.synthetic_card import CARD_PX

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


def _place(card: np.ndarray, frame: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    width, height = FRAME
    w, h = CARD_PX
    scale = d.card_width * width / w
    angle = np.deg2rad(rng.uniform(-d.rotation_deg, d.rotation_deg))
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) * 0.5 * scale
    far = int(rng.integers(0, 4))  # which edge is farther from the camera
    shrink = 1 - d.tilt
    if far == 0:
        corners[:2, 0] *= shrink
    elif far == 1:
        corners[2:, 0] *= shrink
    elif far == 2:
        corners[[0, 3], 1] *= shrink
    else:
        corners[[1, 2], 1] *= shrink
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    placed = corners @ rotation.T
    margin = np.abs(placed).max(axis=0)
    centre = np.array(
        [rng.uniform(margin[0] + 8, width - margin[0] - 8), rng.uniform(margin[1] + 8, height - margin[1] - 8)]
        if (margin[0] + 8 < width / 2 and margin[1] + 8 < height / 2)
        else [width / 2, height / 2]
    )
    target = (placed + centre).astype(np.float32)
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(card, matrix, FRAME, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, FRAME)
    out = frame.copy()
    out[mask > 0] = warped[mask > 0]
    if d.occlusion:
        corner = target[int(rng.integers(0, 4))]
        radius = int(d.occlusion * h * scale)
        skin = tuple(int(c) for c in rng.choice([(140, 170, 210), (120, 150, 190), (100, 130, 170)]))
        cv2.ellipse(
            out,
            (int(corner[0]), int(corner[1])),
            (radius, int(radius * 1.4)),
            float(rng.uniform(0, 180)),
            0,
            360,
            skin,
            -1,
        )
    if d.glare:
        spot = target.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * np.array([w, h]) * scale
        radius = d.glare * h * scale
        yy, xx = np.mgrid[0:height, 0:width]
        light = np.exp(-(((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * radius**2)))
        out = np.clip(out + (light * 255)[:, :, None], 0, 255).astype(np.uint8)
    return out


def photograph(card_bgr: np.ndarray, degradation: Degradation, seed: int) -> np.ndarray:
    """A camera frame (1280 x 720, BGR) of the rectified card under `degradation`."""
    rng = np.random.default_rng(seed)
    d = degradation
    if d == Degradation():
        return card_bgr.copy()  # a flat scan: the card fills the image
    frame = _place(card_bgr, _counter(rng, d.clutter), rng, d)
    if d.light_gradient:
        ramp = np.linspace(1.0, 1.0 - d.light_gradient, FRAME[0], dtype=np.float32)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        frame = np.clip(frame * ramp[None, :, None], 0, 255).astype(np.uint8)
    if d.blur_sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), d.blur_sigma)
    if d.noise_sigma:
        frame = np.clip(frame + rng.normal(0, d.noise_sigma, frame.shape), 0, 255).astype(np.uint8)
    if d.jpeg_quality < 100:
        _, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_quality])
        frame = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return frame
