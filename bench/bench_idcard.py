"""ID card reading over generated cards at each degradation level: per-field exact-match rate,
whole-card rate, wrong numbers accepted (must be 0), cards accepted as valid with some other field
not as printed, latency (median, p95) and peak memory. Backs are read with the county of the
front's number, as the capture reads the back after the front.

    .venv/bin/python bench/bench_idcard.py [--cards 500] [--levels clean mild medium hard] [--show]

The baseline, run side by side on the same images through the same card finder and field
reader, is Tesseract 5 with its Chinese model (Debian tesseract-ocr-chi-sim, via pytesseract):
what a user might pick instead. The ratio compares the two on the whole-card rate and latency.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import date

import cv2
import numpy as np

from county_common.regions import lookup_region
from kiosk_demo.synthetic.card import draw_back, draw_front, make_cards
from kiosk_demo.synthetic.photo import LEVELS, photograph
from terminal_app.capture.ocr import OcrLine, ocr_engine
from terminal_app.capture.reader import read_card

TODAY = date(2026, 11, 25)


class TesseractEngine:
    """Tesseract's lines as OcrLines, so the same field reader runs on them."""

    def word_scores(self, line_bgr: np.ndarray, words) -> dict[str, float]:
        """Tesseract gives no per-frame character probabilities to score words with: none."""
        return {}

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]:
        import pytesseract

        data = pytesseract.image_to_data(
            cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), lang="chi_sim", config="--psm 11", output_type="dict"
        )
        groups: dict[tuple, list[int]] = {}
        for i, text in enumerate(data["text"]):
            if text.strip():
                groups.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
        lines = []
        for indices in groups.values():
            text = "".join(data["text"][i] for i in indices)
            left = min(data["left"][i] for i in indices)
            top = min(data["top"][i] for i in indices)
            right = max(data["left"][i] + data["width"][i] for i in indices)
            bottom = max(data["top"][i] + data["height"][i] for i in indices)
            box = np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)
            score = statistics.mean(float(data["conf"][i]) for i in indices) / 100
            lines.append(OcrLine(re.sub(r"\s+", "", text), score, box))
        return lines


def peak_mib() -> float:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) / 1024


def run(engine, name: str, frames: list, expected: list, numbers: list, counties: list, show: bool = False) -> dict:
    fields_right: dict[str, int] = {}
    fields_seen: dict[str, int] = {}
    whole = wrong_numbers = wrong_accepted = 0
    times = []
    for frame, want, number, county in zip(frames, expected, numbers, counties, strict=True):
        started = time.perf_counter()
        reading = read_card(frame, today=TODAY, engine=engine, county=county)
        times.append(time.perf_counter() - started)
        for key, value in want.items():
            fields_seen[key] = fields_seen.get(key, 0) + 1
            fields_right[key] = fields_right.get(key, 0) + (reading.fields.get(key) == value)
        whole += reading.valid and reading.fields == want
        if show and not (reading.valid and reading.fields == want):
            wrong = {k: (v, reading.fields.get(k)) for k, v in want.items() if reading.fields.get(k) != v}
            codes = [f"{e.field}:{e.code}" for e in reading.errors]
            print(f"    card {len(times) - 1}: {'accepted' if reading.valid else 'refused'} {codes} {wrong}")
        wrong_accepted += reading.valid and reading.fields != want  # read as valid, some field not as printed
        if reading.valid and number is not None and reading.fields.get("id_number") != number:
            wrong_numbers += 1
    ordered = sorted(times)
    return {
        "engine": name,
        "whole": whole / len(frames),
        "fields": {k: fields_right[k] / fields_seen[k] for k in fields_seen},
        "wrong_numbers": wrong_numbers,
        "wrong_accepted": wrong_accepted,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--levels", nargs="+", default=list(LEVELS))
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--show", action="store_true", help="print each card not read whole: what was printed, what was read"
    )
    args = parser.parse_args()
    cards = make_cards(args.cards, seed=2026, today=TODAY)
    engines = [(ocr_engine(), "PP-OCRv4 (rapidocr-onnxruntime)")]
    if not args.no_baseline:
        engines.append((TesseractEngine(), "Tesseract 5 chi_sim (baseline)"))
    print(f"{args.cards} cards per level, fronts and backs alternating, seed 2026")
    for level in args.levels:
        frames, expected, numbers, counties = [], [], [], []
        for i, card in enumerate(cards):
            side = "front" if i % 2 == 0 else "back"
            image = draw_front(card) if side == "front" else draw_back(card)
            frames.append(photograph(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR), LEVELS[level], seed=i))
            expected.append(card.expected_fields(side))
            numbers.append(card.id_number if side == "front" else None)
            region = lookup_region(card.id_number[:6])  # the back is read after the front, as the capture does
            counties.append(region.name if side == "back" and region else None)
        results = [run(engine, name, frames, expected, numbers, counties, args.show) for engine, name in engines]
        for r in results:
            fields = " ".join(f"{k} {v:.1%}" for k, v in r["fields"].items())
            print(
                f"[{level:<6}] {r['engine']:<32} all fields {r['whole']:6.1%}  wrong numbers accepted "
                f"{r['wrong_numbers']}  cards accepted with a field wrong {r['wrong_accepted']}  "
                f"p50 {r['p50_ms']:5.0f} ms  p95 {r['p95_ms']:5.0f} ms\n          {fields}"
            )
        if len(results) == 2:
            ours, base = results
            rate = f"{ours['whole'] / base['whole']:.2f}x" if base["whole"] else "n/a (the baseline read none)"
            print(
                f"[{level:<6}] ratio ours/baseline: all-fields {rate}, "
                f"p50 latency {ours['p50_ms'] / base['p50_ms']:.2f}x"
            )
    print(f"peak RSS: {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
