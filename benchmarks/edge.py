"""Edge deployment figures: streaming latency, ONNX Runtime, int8 quantization.

* Streaming: a ``GRURegressor`` and a ``GRUAnomalyDetector`` (``hidden_size=64``,
  ``window_size=32``) each answer 1,000, 10,000 and 100,000 rows one at a
  time through ``est.stream()``; every ``update`` is timed. Flat means the
  median per-row latency at 100,000 rows is that at 1,000 (ratio about 1).
* ONNX: the same regressor exported with ``skgru.export.to_onnx`` and run by
  onnxruntime (one thread, like the stream), for one window and for 1,000,
  against skgru's ``predict`` on the same windows.
* int8: ``skgru.export.quantize`` of the airline regressor (the example's
  model) with its report, and of the 64-unit regressor on 20,000 windows.

Run: ``python benchmarks/edge.py`` (about 3 minutes on 2 cores); it prints a
Markdown report and writes it to ``benchmarks/EDGE.md``.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent
WINDOW, HIDDEN = 32, 64
LENGTHS = (1_000, 10_000, 100_000)


def sine_series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    s = np.sin(t / 7) + 0.5 * np.sin(t / 29) + 0.3 * np.sin(t / 97)
    return (s + 0.05 * rng.normal(size=n)).astype(np.float32)[:, None]


def fitted_models():
    from skgru import GRUAnomalyDetector, GRURegressor

    X = sine_series(4_000)
    params = dict(window_size=WINDOW, hidden_size=HIDDEN, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = GRURegressor(**params).fit(X[:-1], X[1:, 0])
        det = GRUAnomalyDetector(**params).fit(X)
    return reg, det


def stream_latency(est) -> list[tuple[int, float, float]]:
    """(rows, median ms per row, 99th percentile ms) for each stream length."""
    rows = []
    for n in LENGTHS:
        data = sine_series(n, seed=n)
        stream = est.stream()
        times = np.empty(n)
        for i, row in enumerate(data):
            start = time.perf_counter()
            stream.update(row)
            times[i] = time.perf_counter() - start
        rows.append((n, np.median(times) * 1e3, np.percentile(times, 99) * 1e3))
    return rows


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def onnx_rows(reg) -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return ["onnxruntime is not installed: pip install 'skgru[onnx]'."]
    from numpy.lib.stride_tricks import sliding_window_view

    from skgru.export import to_onnx

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        to_onnx(reg).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    series = sine_series(1_000 + WINDOW - 1, seed=7)
    windows = sliding_window_view(series, WINDOW, axis=0).transpose(0, 2, 1).copy()
    lines = [
        "| windows | onnxruntime ms | skgru ms | skgru / onnxruntime |",
        "|---|---|---|---|",
    ]
    # one window: skgru's single-row path is a stream's update
    one = {"X": windows[:1]}
    stream = reg.stream()
    stream.update(series[0])
    ort_s = median_seconds(lambda: session.run(None, one), 1_000)
    sk_s = median_seconds(lambda: stream.update(series[0]), 1_000)
    lines.append(
        f"| 1 (skgru: `stream.update`) | {ort_s * 1e3:.3f} | {sk_s * 1e3:.3f} "
        f"| {sk_s / ort_s:.1f} |"
    )
    # 1,000 windows: skgru predicts the rows that hold them (one per row, so
    # 1,031 predictions: the first 31 rows' padded windows come with them)
    feed = {"X": windows}
    ort_s = median_seconds(lambda: session.run(None, feed), 30)
    sk_s = median_seconds(lambda: reg.predict(series), 30)
    lines.append(
        f"| 1,000 (skgru: `predict`) | {ort_s * 1e3:.3f} | {sk_s * 1e3:.3f} "
        f"| {sk_s / ort_s:.1f} |"
    )
    return lines


def quantization_rows(reg) -> list[str]:
    from sklearn.metrics import mean_absolute_error

    from skgru import GRURegressor
    from skgru.datasets import load_airline
    from skgru.export import quantize

    passengers = load_airline()
    X = passengers.to_frame().iloc[:-1]
    y = passengers.shift(-1).iloc[:-1]
    train = np.asarray(y.index < "1958-12-01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        air = GRURegressor(
            window_size=12, target_channel="passengers", max_iter=300, random_state=0
        ).fit(X[train], y[train])
    int8, report = quantize(air, X, y)
    test = ~train
    f, q = air.predict(X)[test], int8.predict(X)[test]
    lines = [
        "Airline regressor (window 12, hidden 64, `target_channel`), test period "
        "1959-1960:",
        "",
        "```",
        str(report),
        "```",
        "",
        f"- MAE on the test period: float {mean_absolute_error(y[test], f):.2f}, "
        f"int8 {mean_absolute_error(y[test], q):.2f} (thousand passengers)",
        f"- largest change of a forecast: {np.abs(q - f).max():.2f} "
        f"({np.max(np.abs(q - f) / np.abs(f)):.2%} of it)",
        "",
    ]
    series = sine_series(20_000 + WINDOW, seed=3)
    _, big = quantize(reg, series[:-1], series[1:, 0])
    lines += [
        f"Regressor of the stream benchmark (window {WINDOW}, hidden {HIDDEN}), "
        "predict on 20,000 windows:",
        "",
        "```",
        str(big),
        "```",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(HERE / "EDGE.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # an edge device's one core; ONNX gets one too
    reg, det = fitted_models()
    lines = [
        "# skgru edge figures",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch thread, torch {torch.__version__}. "
        "Reproduce with `python benchmarks/edge.py`.",
        "",
        f"## Streaming: one row at a time (window {WINDOW}, hidden {HIDDEN})",
        "",
        "| estimator | rows streamed | median ms/row | p99 ms/row |",
        "|---|---|---|---|",
    ]
    flat = {}
    for est in (reg, det):
        results = stream_latency(est)
        for n, median, p99 in results:
            lines.append(f"| {type(est).__name__} | {n:,} | {median:.3f} | {p99:.3f} |")
        flat[type(est).__name__] = results[-1][1] / results[0][1]
    lines += [
        "",
        "Median per-row latency at 100,000 rows over that at 1,000: "
        + ", ".join(f"{name} {ratio:.2f}" for name, ratio in flat.items())
        + ".",
        "",
        "## ONNX Runtime against skgru (one thread)",
        "",
        *onnx_rows(reg),
        "",
        "## int8 quantization (`skgru.export.quantize`)",
        "",
        *quantization_rows(reg),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    Path(args.output).write_text(report)


if __name__ == "__main__":
    main()
