"""The card camera's two costs: the quality gate on every preview frame, and the capture of
both sides from a held-up card (gate + best-frame OCR + re-reads).

    .venv/bin/python bench/bench_card_capture.py [--cards 20] [--levels clean mild medium]
        [--people still listening] [--no-gate]

Gate: milliseconds per frame and frames per second at 640x480 and 1280x720, beside the naive
gate run in the same process (the card searched at the reader's 960 pixels and judged on the
full-size rectified card), with the ratio. Capture: per level, the share of cards whose both
sides were read with every field as printed, cards accepted with a field wrong, wrong numbers
accepted (must be 0), OCR passes per side, machine time per card (p50 / p95), and the reasons
the others were refused with, for a person who holds the card still whatever the screen says
and for one who does what the screen says (`CardHolder`: they hold each side until told, up to
`LISTENER_HOLD` frames; they tilt the card when told of glare, place it again when told to, and
turn it when told to). Machine time leaves out the drawing of the synthetic frames."""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from datetime import date

import cv2
import numpy as np

from kiosk_demo.synthetic.card import CardFace, draw_back, draw_front, make_cards
from kiosk_demo.synthetic.photo import CardHolder, held_card_frames
from terminal_app.capture.card_capture import IdCardCapture, printed_fields
from terminal_app.capture.card_finder import find_card, rectify
from terminal_app.capture.quality import check_frame, judge_card
from terminal_app.core.reasons import ReasonError

TODAY = date(2026, 11, 25)
LISTENER_HOLD = 45  # frames (3 s at 15 fps) a person who reads the screen holds a side untold


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
    parser.add_argument(
        "--people", nargs="+", choices=["still", "listening"], default=["still", "listening"],
        help="still: holds the card still whatever the screen says; listening: does what it says",
    )  # fmt: skip
    parser.add_argument("--no-gate", action="store_true", help="leave out the quality gate's timing")
    args = parser.parse_args()
    cards = make_cards(args.cards, seed=2026, today=TODAY)
    if not args.no_gate:
        gate_timing(cards[0])
    print(f"capture of both sides from held-up cards, {args.cards} cards per level")
    for level in args.levels:
        for people in args.people:
            capture_level(cards, level, listens=people == "listening")


def gate_timing(card: CardFace) -> None:
    """The quality gate's milliseconds a frame, beside the naive gate's, at both preview sizes."""
    frames = held_card_frames(bgr(draw_front(card)), seed=1, level="mild")
    print("quality gate per frame (median of held-card frames, 3 passes)")
    for size in ((640, 480), (1280, 720)):
        sized = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        ours = per_frame_ms(check_frame, sized)
        naive = per_frame_ms(naive_gate, sized)
        print(
            f"  {size[0]}x{size[1]}: {ours:5.1f} ms ({1000 / ours:5.0f} fps)   naive {naive:5.1f} ms"
            f" ({1000 / naive:4.0f} fps)   ratio {ours / naive:.2f}x"
        )


def capture_level(cards: list, level: str, listens: bool) -> None:
    """Both sides of each card captured from a person holding it up: one who holds still whatever
    the screen says (a recording), or one who does (`CardHolder`)."""
    read_ok = wrong_numbers = wrong_accepted = tilts = placements = 0
    passes, times = [], []
    refused: Counter[str] = Counter()
    for i, card in enumerate(cards):
        sides = [bgr(draw_front(card)), bgr(draw_back(card))]
        hold = LISTENER_HOLD if listens else CardHolder.STEADY
        holder = CardHolder(sides, seed=i, level=level, tilts=2 * listens, hold=hold)
        capture = IdCardCapture(holder, TODAY, on_instruction=holder.hear if listens else None)
        started = time.perf_counter()
        try:
            fields = capture.read_card()
        except ReasonError as error:
            fields = None
            refused[error.code] += 1
        times.append((time.perf_counter() - started) * 1000 - holder.drawing_ms)  # the frames' drawing is not ours
        passes += [side.frames_read for side in capture.sides]
        tilts += holder.tilts_made
        placements += holder.placements_made
        if fields is not None:
            as_printed = printed_fields(fields) == card.expected_fields("front") | card.expected_fields("back")
            read_ok += as_printed
            wrong_accepted += not as_printed
            wrong_numbers += fields.id_number != card.id_number
    times.sort()
    who = "does what the screen says" if listens else "holds still (a recording)"
    print(
        f"  [{level:<6}] {who:<26} all fields read {100 * read_ok / len(cards):5.1f}%"
        f"  accepted with a field wrong {wrong_accepted}  wrong numbers accepted {wrong_numbers}"
        f"  tilts {tilts}  placed again {placements}  OCR passes per side {statistics.mean(passes):.1f}"
        f"  per card p50 {statistics.median(times):5.0f} ms  p95 {times[int(0.95 * (len(times) - 1))]:5.0f} ms"
    )
    if refused:
        print("           refused: " + ", ".join(f"{code} {count}" for code, count in refused.most_common()))


if __name__ == "__main__":
    main()
