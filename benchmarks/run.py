"""What the scikit-learn wrapper costs: skgru against a hand-written PyTorch loop.

Run ``python benchmarks/run.py`` (about 8 minutes on 2 cores; ``--memory``
adds the 5,000,000-row memory benchmark of ``benchmarks/memory.py``, about 5
more). It prints a Markdown report and writes it to ``benchmarks/RESULTS.md``.

Workload (one per size): a univariate float32 series (three sines plus noise),
window -> next value, ``hidden_size=64``, one layer, batch 256, Adam at 1e-3,
5 epochs (10 for the shortest size). The reference is ``nn.GRU`` +
``nn.Linear`` on pre-built float32 window tensors with shuffled index batches
and ``zero_grad / backward / step``.
skgru gets the series itself (series layout) and forms its windows on the fly.
Both see the same windows (edge-padded series, one per row) and seeds, and
run in one process, interleaved (reference, skgru, reference, skgru, ...),
at 1 and 2 torch threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import skgru
from skgru import GRURegressor
from skgru._windows import edge_pad

HERE = Path(__file__).resolve().parent
# (series length, window, epochs per implementation): the shortest epochs get
# more repeats, because a 1.5 s epoch is the most exposed to this machine's noise.
SIZES = [(20_000, 32, 10), (80_000, 32, 5), (20_000, 128, 5)]
HIDDEN, BATCH, LR = 64, 256, 1e-3
PREDICT_BATCHES = (256, 1024, 4096)


def make_series(n: int, seed: int = 0) -> np.ndarray:
    """Sum of three sines plus noise, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    s = np.sin(t / 20) + 0.5 * np.sin(t / 7.3) + 0.3 * np.sin(t / 3.1)
    return (s + 0.1 * rng.normal(size=n)).astype(np.float32)


def prebuilt_windows(series: np.ndarray, window: int) -> torch.Tensor:
    """The reference's input: every window materialised, ``(n, window, 1)``."""
    padded = torch.from_numpy(edge_pad(series[:, None], window - 1))
    return padded[:, 0].unfold(0, window, 1).unsqueeze(-1).contiguous()


class Reference(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(1, HIDDEN, batch_first=True)
        self.head = torch.nn.Linear(HIDDEN, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(x)[1][-1])


class ReferenceTrainer:
    """The hand-written loop, one epoch per call."""

    def __init__(self, windows: torch.Tensor, y: torch.Tensor, seed: int) -> None:
        torch.manual_seed(seed)
        self.windows, self.y = windows, y
        self.model = Reference()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        start = time.perf_counter()
        order = torch.randperm(len(self.windows), generator=self.generator)
        for i in range(0, len(self.windows), BATCH):
            idx = order[i : i + BATCH]
            self.optimizer.zero_grad()
            out = self.model(self.windows[idx])
            loss = torch.nn.functional.mse_loss(out, self.y[idx])
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start


class SkgruTrainer:
    """skgru in series layout, one epoch per call (``warm_start=True``).

    The epoch's time is skorch's own (``history[-1, "dur"]``): the batch loop
    with all of skgru's and skorch's per-batch work. What a ``fit`` call does
    once around it (validation, statistics, building the net) is reported
    apart, from the first call.
    """

    def __init__(self, series, y, window, seed, threads) -> None:
        self.X, self.y = series[:, None], y
        self.est = GRURegressor(
            window_size=window,
            hidden_size=HIDDEN,
            batch_size=BATCH,
            learning_rate_init=LR,
            max_iter=1,
            warm_start=True,
            random_state=seed,
            n_threads=threads,
        )
        self.setup = None

    def epoch(self) -> float:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.est.fit(self.X, self.y)
        epoch = float(self.est.net_.history[-1, "dur"])
        if self.setup is None:
            self.setup = time.perf_counter() - start - epoch
        return epoch


def skorch_epoch(windows, y, threads):
    """Context: skorch's plain NeuralNetRegressor on pre-built windows, 1 epoch."""
    from skorch import NeuralNetRegressor

    torch.set_num_threads(threads)
    net = NeuralNetRegressor(
        Reference,
        max_epochs=1,
        batch_size=BATCH,
        lr=LR,
        optimizer=torch.optim.Adam,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
    )
    net.fit(windows.numpy(), y.numpy())
    return float(net.history[-1, "dur"])


def _rate(predict, n: int) -> float:
    start = time.perf_counter()
    predict()
    return n / (time.perf_counter() - start)


def reference_predict(model, windows, batch: int) -> None:
    with torch.inference_mode():
        for i in range(0, len(windows), batch):
            model(windows[i : i + batch])


def predict_rates(model, windows, est, series, repeats: int = 3):
    """Best windows/s of the reference (at its best batch size) and of skgru.

    One pass per batch size picks the reference's best; then that batch size
    and skgru's ``predict`` alternate ``repeats`` times and each keeps its best.
    """
    n = len(windows)
    best = max(
        PREDICT_BATCHES,
        key=lambda b: _rate(lambda: reference_predict(model, windows, b), n),
    )
    ref, ours = [], []
    for _ in range(repeats):
        ref.append(_rate(lambda: reference_predict(model, windows, best), n))
        ours.append(_rate(lambda: est.predict(series[:, None]), n))
    return max(ref), max(ours)


def single_window_latency(calls: int) -> float:
    """Median seconds of predict on one window (sequence layout, window 32)."""
    X = prebuilt_windows(make_series(4096), 32)[:, :, 0].numpy()
    est = GRURegressor(hidden_size=HIDDEN, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, X[:, -1])
    one = X[:1]
    for _ in range(50):
        est.predict(one)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        est.predict(one)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"torch {torch.__version__}, skgru {skgru.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per row (default: per size)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="trainer pairs per row")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency-calls", type=int, default=1000)
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also run benchmarks/memory.py (5M rows; about 5 more minutes)",
    )
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    caller_threads = torch.get_num_threads()
    started = time.perf_counter()

    rows = []
    for n, window, size_epochs in SIZES:
        epochs = args.epochs or size_epochs
        series = make_series(n)
        x, target = series[:-1], series[1:]
        windows = prebuilt_windows(x, window)
        y = torch.from_numpy(target[:, None].copy())
        for threads in args.threads:
            torch.set_num_threads(threads)
            ref_epochs, sk_epochs = [], []
            for rep in range(args.repeats):
                reference = ReferenceTrainer(windows, y, seed=rep)
                ours = SkgruTrainer(x, target, window, rep, threads)
                for _ in range(epochs):  # interleaved: A B A B ...
                    ref_epochs.append(reference.epoch())
                    sk_epochs.append(ours.epoch())
            ref_model, est = reference.model.eval(), ours.est
            ref_rate, sk_rate = predict_rates(ref_model, windows, est, x)
            row = dict(
                n=n,
                window=window,
                threads=threads,
                ref=statistics.median(ref_epochs),
                skgru=statistics.median(sk_epochs),
                # each skgru epoch against the reference epoch just before it:
                # cancels the drift of a shared machine between pairs
                paired=statistics.median(
                    s / r for r, s in zip(ref_epochs, sk_epochs, strict=True)
                ),
                epochs=len(sk_epochs),
                skgru_setup=ours.setup,
                ref_rate=ref_rate,
                sk_rate=sk_rate,
                skorch=skorch_epoch(windows, y, threads),
            )
            rows.append(row)
            print(
                f"n={n} w={window} threads={threads}: ref {row['ref']:.2f}s/epoch, "
                f"skgru {row['skgru']:.2f}s/epoch ({row['skgru'] / row['ref']:.3f}x), "
                f"skorch {row['skorch']:.2f}s; predict ref {ref_rate:,.0f}/s, "
                f"skgru {sk_rate:,.0f}/s",
                flush=True,
            )
    torch.set_num_threads(caller_threads)

    latency = single_window_latency(args.latency_calls)
    print(f"single-window predict latency: {latency * 1e3:.3f} ms", flush=True)
    memory = None
    if args.memory:
        result = subprocess.run(
            [sys.executable, str(HERE / "memory.py")],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = result.stdout.strip()
        print(memory, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = render(rows, latency, memory, peak, args, time.perf_counter() - started)
    Path(args.output).write_text(report)
    print(report)


def render(rows, latency, memory, peak_mb, args, seconds) -> str:
    best_ref = {}
    for r in rows:
        key = (r["n"], r["window"])
        best_ref[key] = min(best_ref.get(key, np.inf), r["ref"])
    lines = [
        "# skgru benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/run.py{' --memory' if args.memory else ''}` "
        f"({seconds / 60:.1f} min in all). "
        "Per row, epochs of the reference and of skgru alternate (A B A B ...);"
        " times are per-epoch medians, and `paired` is the median of each skgru"
        " epoch's time over the reference epoch run just before it.",
        "",
        "skgru trains in series layout (windows gathered from the series by index);",
        "the reference and skorch get pre-built window tensors. `skgru / best ref`",
        "compares with the faster of the two reference thread settings; skgru's",
        '`n_threads="auto"` picks the caller\'s count (2) for this workload (batch 256',
        "x 64 hidden units), so its row is the 2-thread one. The set-up column is",
        "what a `fit` call does once around its epochs (validation, statistics,",
        "building the net). The skorch column is one epoch of skorch's",
        "`NeuralNetRegressor` with its default DataLoader, as context.",
        "",
        "| series | window | threads | epochs | reference s/epoch | skgru s/epoch"
        " | skgru / ref | paired | skgru / best ref | skgru fit set-up s"
        " | skorch NeuralNetRegressor s/epoch | predict ref windows/s (best batch)"
        " | predict skgru windows/s | skgru / ref predict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        best = best_ref[(r["n"], r["window"])]
        lines.append(
            f"| {r['n']:,} | {r['window']} | {r['threads']} | {r['epochs']}"
            f" | {r['ref']:.3f} | {r['skgru']:.3f} | {r['skgru'] / r['ref']:.3f}"
            f" | {r['paired']:.3f}"
            f" | {r['skgru'] / best:.3f} | {r['skgru_setup']:.2f} | {r['skorch']:.2f}"
            f" | {r['ref_rate']:,.0f} | {r['sk_rate']:,.0f}"
            f" | {r['sk_rate'] / r['ref_rate']:.3f} |"
        )
    lines += [
        "",
        'darts\' `BlockRNNModel(model="GRU")` is not installed here (optional): '
        "no darts column.",
        "",
        f"Single-window `predict` latency (sequence layout, one (1, 32) window, "
        f"`hidden_size=64`), median of {args.latency_calls} calls: "
        f"**{latency * 1e3:.3f} ms**.",
        "",
        f"Peak RSS of this process: {peak_mb:,.0f} MB.",
    ]
    if memory:
        lines += ["", "## Memory: 5,000,000 rows x 4 float32 features, window 128", ""]
        lines += [memory]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
