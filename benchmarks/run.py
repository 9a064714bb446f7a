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
from skgru._threads import wanted_threads
from skgru._windows import edge_pad

HERE = Path(__file__).resolve().parent
# (series length, window, epochs per implementation): the shortest epochs get
# more repeats, because a 1.5 s epoch is the most exposed to this machine's noise.
SIZES = [(20_000, 32, 8), (80_000, 32, 6), (20_000, 128, 6)]
# skgru's network as the reference builds it: the GRU's last state into a
# linear layer, no dropout, a constant learning rate (the defaults of
# GRUClassifier and GRURegressor read more; benchmarks/accuracy.py measures them)
PLAIN = dict(
    pooling="last",
    patch_size=1,
    instance_norm=False,
    dropout=0.0,
    learning_rate="constant",
)
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
            **PLAIN,
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


def predict_rates(model, windows, est, series, repeats: int = 7):
    """Windows/s of the reference (at its best batch size) and of skgru.

    One pass per batch size picks the reference's best; then that batch size
    and skgru's ``predict`` alternate ``repeats`` times. Returns the medians
    and the median of each skgru pass's rate over the reference pass before it.
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
    paired = statistics.median(o / r for r, o in zip(ref, ours, strict=True))
    return statistics.median(ref), statistics.median(ours), paired, best


def single_window_latency(calls: int) -> float:
    """Median seconds of predict on one window (sequence layout, window 32)."""
    X = prebuilt_windows(make_series(4096), 32)[:, :, 0].numpy()
    est = GRURegressor(hidden_size=HIDDEN, max_iter=1, random_state=0, **PLAIN)
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


# Where a training step's time goes: (label, how to pick the profile's entries,
# whether to sum their own time instead of their cumulative time).
PROFILE_PARTS = [
    (
        "autograd backward (`run_backward`)",
        lambda f, fn: fn == "<method 'run_backward' of 'torch._C._EngineBase' objects>",
        False,
    ),
    (
        "of it, the GRU's own backward (`_GRULayer.backward`)",
        lambda f, fn: f.endswith("_gru_cpu.py") and fn == "backward",
        False,
    ),
    (
        "GRU forward (`_GRULayer.forward`)",
        lambda f, fn: f.endswith("_gru_cpu.py") and fn == "forward",
        False,
    ),
    (
        "skorch's own Python (loop, callbacks, history; self time)",
        lambda f, fn: "/skorch/" in f,
        True,
    ),
    ("gradient norm clipping", lambda f, fn: fn == "clip_grad_norm_", False),
    (
        "Adam update (the reference does the same)",
        lambda f, fn: f.endswith("_adam.py") and fn == "_update",
        False,
    ),
    ("window gather (`WindowDataset._take`)", lambda f, fn: fn == "_take", False),
    (
        "heap checks (`HeapTrimmer.step`)",
        lambda f, fn: f.endswith("_memory.py") and fn == "step",
        False,
    ),
]


def profile_fit() -> list[tuple[str, float, float]]:
    """cProfile of a 2-epoch skgru fit (20,000 points, window 32, 1 thread)."""
    import cProfile
    import pstats

    series = make_series(20_000)
    est = GRURegressor(
        window_size=32,
        hidden_size=HIDDEN,
        batch_size=BATCH,
        **PLAIN,
        max_iter=2,
        random_state=0,
        n_threads=1,
    )
    profiler = cProfile.Profile()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        profiler.runcall(est.fit, series[:-1, None], series[1:])
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    parts = []
    for label, pick, own in PROFILE_PARTS:
        seconds = sum(
            (tt if own else ct)
            for (f, _, fn), (_, _, tt, ct, _) in stats.items()
            if pick(f, fn)
        )
        parts.append((label, seconds, seconds / total))
    return [("whole fit under the profiler", total, 1.0), *parts]


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

    auto = wanted_threads("auto", BATCH, HIDDEN)  # what skgru picks by itself
    rows, summaries = [], []
    for n, window, size_epochs in SIZES:
        epochs = args.epochs or size_epochs
        series = make_series(n)
        x, target = series[:-1], series[1:]
        windows = prebuilt_windows(x, window)
        y = torch.from_numpy(target[:, None].copy())
        # every thread setting of both in one cycle per epoch: ref 1, skgru 1,
        # ref 2, skgru 2, ...; the machine's drift then hits all of them alike
        times = {(who, t): [] for t in args.threads for who in ("ref", "skgru")}
        for rep in range(args.repeats):
            trainers = {}
            for t in args.threads:
                trainers["ref", t] = ReferenceTrainer(windows, y, seed=rep)
                trainers["skgru", t] = SkgruTrainer(x, target, window, rep, t)
            for _ in range(epochs):
                for t in args.threads:
                    torch.set_num_threads(t)
                    times["ref", t].append(trainers["ref", t].epoch())
                    times["skgru", t].append(trainers["skgru", t].epoch())
        for t in args.threads:
            torch.set_num_threads(t)
            ref_epochs, sk_epochs = times["ref", t], times["skgru", t]
            ref_model = trainers["ref", t].model.eval()
            est = trainers["skgru", t].est
            ref_rate, sk_rate, rate_paired, best_batch = predict_rates(
                ref_model, windows, est, x
            )
            row = dict(
                n=n,
                window=window,
                threads=t,
                epochs=len(sk_epochs),
                ref=statistics.median(ref_epochs),
                skgru=statistics.median(sk_epochs),
                # each skgru epoch against the reference epoch just before it
                paired=statistics.median(
                    s / r for r, s in zip(ref_epochs, sk_epochs, strict=True)
                ),
                skgru_setup=trainers["skgru", t].setup,
                ref_rate=ref_rate,
                sk_rate=sk_rate,
                rate_paired=rate_paired,
                best_batch=best_batch,
                skorch=skorch_epoch(windows, y, t),
            )
            rows.append(row)
            print(
                f"n={n} w={window} threads={t}: ref {row['ref']:.2f}s/epoch, "
                f"skgru {row['skgru']:.2f}s/epoch ({row['paired']:.3f}x paired), "
                f"skorch {row['skorch']:.2f}s; predict ref {ref_rate:,.0f}/s, "
                f"skgru {sk_rate:,.0f}/s ({rate_paired:.3f}x paired)",
                flush=True,
            )
        if auto in args.threads:
            # skgru as it runs by itself against the faster reference, per cycle
            fastest = [
                min(c)
                for c in zip(*(times["ref", t] for t in args.threads), strict=True)
            ]
            ours = times["skgru", auto]
            best = min(args.threads, key=lambda t: statistics.median(times["ref", t]))
            summaries.append(
                dict(
                    n=n,
                    window=window,
                    auto=auto,
                    best=best,
                    ref=statistics.median(times["ref", best]),
                    skgru=statistics.median(ours),
                    paired=statistics.median(
                        s / r for r, s in zip(fastest, ours, strict=True)
                    ),
                )
            )
    torch.set_num_threads(caller_threads)

    profile = profile_fit()
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
    report = render(
        rows,
        summaries,
        auto,
        latency,
        memory,
        profile,
        peak,
        args,
        time.perf_counter() - started,
    )
    Path(args.output).write_text(report)
    print(report)


def render(
    rows, summaries, auto, latency, memory, profile, peak_mb, args, seconds
) -> str:
    cycle = ", ".join(f"reference {t}, skgru {t}" for t in args.threads)
    lines = [
        "# skgru benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/run.py{' --memory' if args.memory else ''}` "
        f"({seconds / 60:.1f} min in all).",
        "",
        "skgru trains in series layout (windows gathered from the series by index);",
        "the reference and skorch get pre-built window tensors. Epochs run in",
        f"cycles ({cycle}), so that the drift of a shared machine hits every",
        "setting alike. Times are per-epoch medians; `paired` is the median of",
        "each skgru epoch's time over the reference epoch run just before it.",
        "",
        "## skgru as it runs by itself, against the faster reference",
        "",
        f'`n_threads="auto"` runs this workload (batch {BATCH} x {HIDDEN} hidden',
        f"units) on the caller's thread count, here {auto}. The faster reference is",
        "the thread setting with the lower median; `paired` divides each skgru",
        "epoch by the faster of the reference epochs of its own cycle.",
        "",
        "| series | window | faster reference | reference s/epoch"
        f" | skgru s/epoch ({auto} threads) | skgru / faster ref | paired |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summaries:
        lines.append(
            f"| {r['n']:,} | {r['window']} | {r['best']} thread(s) | {r['ref']:.3f}"
            f" | {r['skgru']:.3f} | {r['skgru'] / r['ref']:.3f} | {r['paired']:.3f} |"
        )
    lines += [
        "",
        "## Each thread setting",
        "",
        "The set-up column is what a `fit` call does once around its epochs",
        "(validation, statistics, building the net). The skorch column is one",
        "epoch of skorch's `NeuralNetRegressor` with its default DataLoader, as",
        "context. Predict: the reference at its best batch size (of"
        f" {', '.join(map(str, PREDICT_BATCHES))}), then the two alternate;"
        " medians of windows/s, and the paired median of skgru's rate over the"
        " reference's.",
        "",
        "| series | window | threads | epochs | reference s/epoch | skgru s/epoch"
        " | skgru / ref | paired | skgru fit set-up s"
        " | skorch NeuralNetRegressor s/epoch | predict ref windows/s (batch)"
        " | predict skgru windows/s | skgru / ref predict | paired |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['window']} | {r['threads']} | {r['epochs']}"
            f" | {r['ref']:.3f} | {r['skgru']:.3f} | {r['skgru'] / r['ref']:.3f}"
            f" | {r['paired']:.3f} | {r['skgru_setup']:.2f} | {r['skorch']:.2f}"
            f" | {r['ref_rate']:,.0f} ({r['best_batch']}) | {r['sk_rate']:,.0f}"
            f" | {r['sk_rate'] / r['ref_rate']:.3f} | {r['rate_paired']:.3f} |"
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
        "",
        "## Where the time goes",
        "",
        "`cProfile` of a 2-epoch skgru fit (20,000 points, window 32, 1 thread).",
        "The profiler inflates Python-heavy parts, so skgru's own share is",
        "smaller without it.",
        "",
        "| part | seconds | share |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {sec:.3f} | {share:.1%} |" for label, sec, share in profile]
    if memory:
        lines += ["", "## Memory: 5,000,000 rows x 4 float32 features, window 128", ""]
        lines += [memory]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
