"""The on-device scorer as the kiosk runs it: bundle load (schema, graph and golden-row checks,
session creation), one application scored end to end (request checks, form mapping, fraud score,
both ONNX models, reasons), with and without the velocity write, then decision and offer; and
the peak memory of a process that only runs the kiosk (no training libraries loaded).

    .venv/bin/python bench/bench_kiosk_scoring.py

The baseline in the same process is the bare ONNX pair on a ready feature row (what
bench_scoring.py times): the ratio says what the kiosk's checks, mapping and fraud score add.
"""

from __future__ import annotations

import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

import numpy as np

from kiosk_demo.synthetic.applications import make_form
from kiosk_demo.synthetic.people import make_people
from ondevice_models.runtime import ModelBundle
from terminal_app.core.decision import decide_with_offer
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.scoring import ScoringRequest

COUNT = 1000
NOON = datetime(2026, 11, 25, 12, 0)


def figures(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1e6, ordered[int(0.99 * (len(ordered) - 1))] * 1e6


def timed(fn, items) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return times


# VmHWM (peak resident set) of the probe's own address space: ru_maxrss would carry the parent's
# peak across fork and exec.
MEMORY_PROBE = """
import re, tempfile, random
from datetime import datetime
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
before = peak()
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.scoring import ScoringRequest
from kiosk_demo.synthetic.applications import make_form
from kiosk_demo.synthetic.people import make_people
imported = peak()
kiosk = Kiosk.start(None, tempfile.mkdtemp())
started = peak()
rng = random.Random(1)
people = make_people(300, seed=1, today=datetime(2026, 11, 25).date(), county="422801")
for person in people:
    request = ScoringRequest(id_number=person.id_number, form=make_form(rng, kiosk.config.catalogue, person.phone),
        liveness={"spoof_score": 0.05, "face_match_score": 0.85}, local_time=datetime(2026, 11, 25, 12))
    kiosk.scorer.score(request, record=False)
print(before, imported, started, peak())
"""


def main() -> None:
    loads = []
    for _ in range(20):
        start = time.perf_counter()
        bundle = ModelBundle.embedded()
        loads.append(time.perf_counter() - start)
    print(
        f"bundle load (card schema, graph checks, 8 golden rows, 2 sessions): median "
        f"{statistics.median(loads) * 1e3:.1f} ms, of which sessions {bundle.session_ms:.1f} ms"
    )

    kiosk = Kiosk.start(None, tempfile.mkdtemp(prefix="bench-kiosk-score-"))
    rng = random.Random(7)
    people = make_people(COUNT, seed=7, today=NOON.date(), county=kiosk.config.terminal.county)
    requests = [
        ScoringRequest(
            id_number=p.id_number,
            form=make_form(rng, kiosk.config.catalogue, p.phone),
            liveness={"spoof_score": 0.05, "face_match_score": 0.85},
            local_time=NOON,
        )
        for p in people
    ]
    for request in requests[:100]:  # warm-up
        kiosk.scorer.score(request, record=False)

    rows = np.stack(
        [_row(bundle, r) for r in requests]  # the same applications, mapped
    )
    bare = timed(lambda i: bundle.run_rows(rows[i : i + 1]), range(COUNT))
    what_if = timed(lambda r: kiosk.scorer.score(r, record=False), requests)
    recorded = timed(lambda r: kiosk.scorer.score(r, record=True), requests)
    results = [kiosk.scorer.score(r, record=False) for r in requests]
    config = kiosk.config
    decided = timed(
        lambda i: decide_with_offer(results[i], config.risk, config.catalogue, requests[i].form), range(COUNT)
    )
    bare_median = figures(bare)[0]
    for name, times in (
        ("bare ONNX pair on a mapped row (baseline)", bare),
        ("score, what-if (no velocity write)", what_if),
        ("score, recorded (velocity row, fsync'd)", recorded),
        ("decision + offer (schedule, APR)", decided),
    ):
        median, p99 = figures(times)
        print(f"{name:<45} median {median:7.0f} µs  p99 {p99:7.0f} µs  ratio to baseline {median / bare_median:5.1f}")
    total = [a + b for a, b in zip(recorded, decided, strict=True)]
    median, p99 = figures(total)
    print(f"form complete to decision shown (recorded):     median {median:7.0f} µs  p99 {p99:7.0f} µs  (target < 1 s)")
    outcomes = {}
    for result, request in zip(results, requests, strict=True):
        outcome = str(decide_with_offer(result, config.risk, config.catalogue, request.form)[0].outcome)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"decisions over {COUNT} synthetic applications: {outcomes}")

    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE],
        capture_output=True,
        text=True,
        check=True,
    )
    before, imported, started, after = (int(v) / 1024 for v in probe.stdout.split())
    print(
        f"peak RSS of a kiosk-only process: {before:.0f} MiB bare Python, {imported:.0f} MiB after imports "
        f"(onnxruntime, numpy, pydantic, cryptography...), {started:.0f} MiB after Kiosk.start (model loaded), "
        f"{after:.0f} MiB after 300 scorings"
    )
    print(f"(this process, for reference: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


def _row(bundle: ModelBundle, request: ScoringRequest) -> np.ndarray:
    from ondevice_models.form_mapping import to_feature_row
    from terminal_app.core.id_number import validate_id_number
    from terminal_app.core.scoring import model_inputs

    check = validate_id_number(request.id_number, today=NOON.date())
    inputs = model_inputs(request.form, check.birth_date, NOON.date())
    return to_feature_row(bundle.card.features, bundle.card.form_mapping, inputs).row


if __name__ == "__main__":
    main()
