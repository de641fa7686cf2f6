"""The card camera's two costs: the quality gate on every preview frame, and the capture of
both sides from a held-up card (gate + best-frame OCR + re-reads).

    .venv/bin/python bench/bench_card_capture.py [--cards 20] [--levels clean mild medium]

Gate: milliseconds per frame and frames per second at 640x480 and 1280x720, beside the naive
gate run in the same process (the card searched at the reader's 960 pixels and judged on the
full-size rectified card), with the ratio. Capture: per level, the share of cards whose both
sides were read and equal the printed card, wrong numbers accepted (must be 0), OCR passes per
side, and machine time per card (p50 / p95), over `held_card_frames` sequences."""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import cv2
import numpy as np

from terminal_app.capture.card_capture import IdCardCapture
from terminal_app.capture.card_finder import find_card, rectify
from terminal_app.capture.quality import check_frame, judge_card
from terminal_app.capture.sources import FrameListSource
from terminal_app.capture.synthetic_card import draw_back, draw_front, make_cards
from terminal_app.capture.synthetic_photo import held_card_frames
from terminal_app.core.reasons import ReasonError

TODAY = date(2026, 11, 25)


def naive_gate(frame: np.ndarray) -> dict:
    found = find_card(frame)
    return judge_card(rectify(frame, found)) if found else {}


def per_frame_ms(gate, frames: list[np.ndarray], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        for frame in frames:
            started = time.perf_counter()
            gate(frame)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bgr(image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=20)
    parser.add_argument("--levels", nargs="+", default=["clean", "mild", "medium"])
    args = parser.parse_args()
    cards = make_cards(args.cards, seed=2026, today=TODAY)

    frames = held_card_frames(bgr(draw_front(cards[0])), seed=1, level="mild")
    print("quality gate per frame (median of held-card frames, 3 passes)")
    for size in ((640, 480), (1280, 720)):
        sized = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        ours = per_frame_ms(check_frame, sized)
        naive = per_frame_ms(naive_gate, sized)
        print(
            f"  {size[0]}x{size[1]}: {ours:5.1f} ms ({1000 / ours:5.0f} fps)   naive {naive:5.1f} ms"
            f" ({1000 / naive:4.0f} fps)   ratio {ours / naive:.2f}x"
        )

    print(f"capture of both sides from held-up cards, {args.cards} cards per level")
    for level in args.levels:
        read_ok, wrong, passes, times = 0, 0, [], []
        for i, card in enumerate(cards):
            stream = held_card_frames(bgr(draw_front(card)), seed=i, level=level)
            stream += held_card_frames(bgr(draw_back(card)), seed=i + 10_000, level=level)
            capture = IdCardCapture(FrameListSource(stream), TODAY)
            started = time.perf_counter()
            try:
                fields = capture.read_card()
            except ReasonError:
                fields = None
            times.append((time.perf_counter() - started) * 1000)
            passes += [side.frames_read for side in capture.sides]
            if fields is not None:
                printed = (card.id_number, card.name, card.address, card.authority)
                got = (fields.id_number, fields.name, fields.address, fields.authority)
                read_ok += got == printed
                wrong += fields.id_number != card.id_number
        times.sort()
        print(
            f"  [{level:<6}] both sides read {100 * read_ok / len(cards):5.1f}%  wrong numbers accepted {wrong}"
            f"  OCR passes per side {statistics.mean(passes):.1f}"
            f"  per card p50 {statistics.median(times):5.0f} ms  p95 {times[int(0.95 * (len(times) - 1))]:5.0f} ms"
        )


if __name__ == "__main__":
    main()
