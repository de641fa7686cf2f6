"""Credit model figures on this machine: training and export time, ONNX session creation,
single-application scoring latency after warm-up (median and p99, one thread, sessions made once),
batch throughput, file sizes, peak memory, and the hold-out metrics beside the published ones.

    .venv/bin/python bench/bench_scoring.py

The baseline in the same process is the native model (numpy WOE + scikit-learn + LightGBM) scoring
the same single rows: the ratio says what running the exported graphs on onnxruntime costs or saves.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime

from ondevice_models.export import export, feature_matrix
from ondevice_models.train import print_report, report


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1e6, ordered[int(0.99 * (len(ordered) - 1))] * 1e6


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="bench-model-"))
    start = time.perf_counter()
    models, card = export(out, "credit-bench", "2026-11-25")
    print(f"train + export from scratch: {time.perf_counter() - start:.2f} s")
    print_report(report(models))
    print(f"ONNX vs native, largest difference (test split): {card['parity_max_abs_diff']}")
    for name in card["files"]:
        print(f"{name}: {(out / name).stat().st_size / 1024:.1f} KiB")

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a terminal has 2 cores and the camera needs one
    options.inter_op_num_threads = 1
    start = time.perf_counter()
    scorecard = onnxruntime.InferenceSession(str(out / "scorecard.onnx"), options)
    gbm = onnxruntime.InferenceSession(str(out / "gbm.onnx"), options)
    print(f"session creation (both models): {(time.perf_counter() - start) * 1e3:.1f} ms")

    rows = feature_matrix(models.scorecard, models.test)

    def score_onnx(row: np.ndarray) -> float:
        woe = scorecard.run(None, {"features": row})[0]
        return float(gbm.run(["probabilities"], {"woe": woe})[0][0, 1])

    data = models.test
    singles = [data.take(np.array([i])) for i in range(len(data))]

    def score_native(i: int) -> float:
        return float(models.native_outputs(singles[i])["gbm_pd"][0])

    for i in range(200):  # warm-up
        score_onnx(rows[i % len(rows) : i % len(rows) + 1])
    onnx_times, native_times = [], []
    for repeat in range(20):
        for i in range(len(rows)):
            t = time.perf_counter()
            score_onnx(rows[i : i + 1])
            onnx_times.append(time.perf_counter() - t)
            if repeat < 2:
                t = time.perf_counter()
                score_native(i)
                native_times.append(time.perf_counter() - t)
    onnx_median, onnx_p99 = percentiles(onnx_times)
    native_median, native_p99 = percentiles(native_times)
    print(f"single application, onnxruntime: median {onnx_median:.0f} µs, p99 {onnx_p99:.0f} µs "
          f"over {len(onnx_times)} calls (target p99 < 5000 µs)")  # fmt: skip
    print(f"single application, native (baseline): median {native_median:.0f} µs, p99 {native_p99:.0f} µs")
    print(f"ratio onnx/native (median): {onnx_median / native_median:.3f}")
    start = time.perf_counter()
    woe = scorecard.run(None, {"features": rows})[0]
    gbm.run(["probabilities"], {"woe": woe})
    batch = time.perf_counter() - start
    print(f"batch of {len(rows)}: {batch * 1e3:.2f} ms ({len(rows) / batch:,.0f} applications/s)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          "(includes the training libraries)")  # fmt: skip


if __name__ == "__main__":
    main()
