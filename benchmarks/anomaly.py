"""Anomaly detection by skgru at default parameters against simple baselines.

Five real series that skgru and sktime ship inside their pip packages
(nothing is downloaded), each with a window of one natural period of the
data, not tuned:

* ``airline``: monthly airline passengers (skgru), 144 rows; window 12, a year.
* ``solar``: half-hourly solar generation (sktime, ``solar_gen``), 289 rows;
  window 48, a day.
* ``PBS_dataset``: monthly prescriptions (sktime, ``Scripts``), 204 rows;
  window 12, a year.
* ``seatbelts``: monthly road casualties (sktime, ``KSI`` only), the 169 rows
  before the seatbelt law of February 1983 (the first row whose ``label`` is 1
  and all later rows are dropped: that real level shift is not labelled);
  window 12, a year.
* ``basic_motions``: skgru's BasicMotions, the 20 "Walking" recordings (the 10
  of the train split, then the 10 of the test split, in order) joined into
  one series of 2000 rows and 6 channels; window 50, half a 100-row
  recording (5 s at 10 Hz).

Protocol, per series and seed. The first half of the rows is the training
part and is never changed; anomalies are injected into a copy of the second
half (the test part), with a generator seeded by ``(seed, crc32(series
name))``. Four kinds, one event each, in random order at random positions,
on one random channel each (so a multichannel detector must not let the
other channels hide it), with ``L = max(3, window // 4)`` and sizes measured
on the training part of that channel:

* spike: one row += ±6 × the std of the channel's first differences;
* level shift: L rows += ±3 × the channel's std;
* noise burst: L rows += Gaussian noise of std 1.5 × the channel's std;
* frequency change: 2L rows replaced by the next 4L rows (of the clean test
  part, from the same start) at double speed, every second row (its first
  row, and rows of a flat stretch, keep their value).

Each event's labelled rows are 1, all others 0. Events are at least
``min(window, free // 4)`` rows apart, ``free`` being the test rows that no
event needs (the frequency change needs 4L rows, of which 2L are labelled).

Every detector is fitted on the training part only, then scores the whole
series (training part + injected test part, so that every test row has a
full window of history) and is judged on the test rows only. The first
``window`` rows, which lack history, are all in the training part, so they
are never judged. Methods, all with the same window ``w``:

* ``skgru``: ``GRUAnomalyDetector(window_size=w, random_state=seed)`` on the
  raw series (plus ``--skgru-params``); score ``-score_samples``.
* ``zscore``: ``|x_t - mean| / std`` of the ``w`` rows before row ``t``, per
  channel (std floored at 0.1 training std), max over channels.
* ``iforest``: scikit-learn's ``IsolationForest(random_state=seed)`` on the
  flattened window of rows ``t-w+1..t``; its own ``predict``.
* ``ridge_ar``: ``Ridge(alpha=1.0)`` predicting row ``t`` from the ``w`` rows
  before it (all channels), one output per channel; score = max over
  channels of ``|residual|`` / the channel's training residual std.

The baselines see the series standardised by the training part's mean and
std per channel; ``zscore`` and ``ridge_ar`` flag a row whose score is beyond
Tukey's fence (Q3 + 1.5 IQR) of their training rows' scores.

Run ``make anomaly`` (or ``python benchmarks/anomaly.py`` after ``make
test``'s set-up plus ``.venv/bin/python -m pip install -c constraints.txt -e
".[bench]"``). It prints one line per fit and rewrites
``benchmarks/ANOMALY.md`` after every series (``--output``); ``--json`` also
dumps the per-seed results.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from _cli import parser, skgru_params
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

import skgru
from skgru.datasets import load_airline, load_basic_motions

HERE = Path(__file__).resolve().parent
INSTALL = 'pip install -e ".[bench]" -c constraints.txt'
# name -> (where it comes from, window: one natural period of the data)
SERIES = {
    "airline": ("skgru, monthly passengers", 12),
    "solar": ("sktime solar.csv, solar_gen, half-hourly", 48),
    "PBS_dataset": ("sktime PBS_dataset.csv, Scripts, monthly", 12),
    "seatbelts": ("sktime seatbelts.csv, KSI before the law, monthly", 12),
    "basic_motions": ("skgru BasicMotions, Walking, 6 channels, 10 Hz", 50),
}
SKTIME_FILES = {  # series -> (file under sktime/datasets/data, column)
    "solar": ("solar/solar.csv", "solar_gen"),
    "PBS_dataset": ("PBS_dataset/PBS_dataset.csv", "Scripts"),
    "seatbelts": ("seatbelts/seatbelts.csv", "KSI"),
}
ACTIVITY = "Walking"  # the BasicMotions class joined into one series
METHODS = {  # CLI name -> label in the report
    "skgru": "skgru",
    "zscore": "rolling z-score",
    "iforest": "IsolationForest",
    "ridge_ar": "Ridge AR",
}
BASELINES = ("zscore", "iforest", "ridge_ar")
KINDS = ("spike", "level_shift", "noise_burst", "frequency")
SPIKE_SIZE = 6.0  # × std of the channel's first differences (training part)
SHIFT_SIZE = 3.0  # × channel std (training part)
NOISE_SIZE = 1.5  # × channel std (training part)
ZSCORE_FLOOR = 0.1  # rolling std floor, in training stds
FENCE_IQRS = 1.5  # Tukey's fence
FLAGGED_LIMIT = 0.05  # the share of clean test rows skgru may flag ("auto")
RATIO_LIMIT = 0.8  # the lowest skgru / best baseline ROC-AUC ratio allowed


@dataclass
class Anomaly:
    """One injected event: rows ``start .. start + length - 1`` of the test part."""

    kind: str
    start: int
    length: int
    channel: int
    sign: int
    changed: int = 0  # labelled rows whose value the injection changed


@dataclass
class Outcome:
    """One method's answer on the whole series, with its timings."""

    score: np.ndarray  # higher = more anomalous; NaN where not defined
    flagged: np.ndarray  # bool, predict == -1
    clean_flagged: np.ndarray  # predict == -1 on the series without anomalies
    fit_s: float
    score_s: float
    extra: dict


# ------------------------------------------------------------------- data
def sktime_file(relative: str) -> Path:
    """Path of a file under ``sktime/datasets/data``; exits if it is not there."""
    spec = importlib.util.find_spec("sktime")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
        path = path / relative
    if path is None or not path.is_file():
        sys.exit(f"{relative} not found in package 'sktime': run `{INSTALL}`")
    return path


def read_sktime(name: str) -> np.ndarray:
    """One column of an sktime CSV as an (n, 1) float array."""
    relative, column = SKTIME_FILES[name]
    frame = pd.read_csv(sktime_file(relative))
    if name == "seatbelts":  # keep the rows before the law's first month
        law = np.flatnonzero(frame["label"].to_numpy() == 1)
        frame = frame.iloc[: law[0] if len(law) else len(frame)]
    return frame[[column]].to_numpy(dtype=np.float64)


def walking() -> np.ndarray:
    """BasicMotions' recordings of ``ACTIVITY``, train then test, as (n, 6)."""
    parts = []
    for split in ("train", "test"):
        X, y = load_basic_motions(split)
        parts.append(X[y == ACTIVITY].reshape(-1, X.shape[-1]))
    return np.concatenate(parts)


def load_series(name: str) -> tuple[np.ndarray, int]:
    """The series ``name`` as an (n_rows, n_channels) float array, and its window."""
    if name == "airline":
        X = load_airline().to_numpy(dtype=np.float64)[:, None]
    elif name == "basic_motions":
        X = walking()
    else:
        X = read_sktime(name)
    return X, SERIES[name][1]


def split(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first half of the rows (training part) and the rest (test part)."""
    half = len(X) // 2
    return X[:half], X[half:]


# -------------------------------------------------------------- injection
def event_length(window: int) -> int:
    """L: the rows of a level shift or a noise burst (a frequency change: 2L)."""
    return max(3, window // 4)


def footprints(window: int) -> dict[str, int]:
    """Test rows each kind of event needs (the frequency change reads 4L)."""
    L = event_length(window)
    return {"spike": 1, "level_shift": L, "noise_burst": L, "frequency": 4 * L}


def min_gap(n_test: int, window: int) -> int:
    """Rows at least between two events: the window, if the test part has room."""
    free = n_test - sum(footprints(window).values())
    gap = min(window, free // 4)
    if gap < 3:
        raise ValueError(f"{n_test} test rows are too few for window {window}")
    return gap


def place(
    n_test: int, n_channels: int, window: int, rng: np.random.Generator
) -> list[Anomaly]:
    """One event of each kind at random, non-overlapping, spaced positions."""
    need, L = footprints(window), event_length(window)
    gap = min_gap(n_test, window)
    slack = n_test - sum(need.values()) - gap * (len(KINDS) - 1)
    cuts = np.sort(rng.integers(0, slack + 1, size=len(KINDS)))
    spare = np.diff(np.concatenate([[0], cuts, [slack]]))  # before, between, after
    events, start = [], int(spare[0])
    for i, kind in enumerate(rng.permutation(KINDS)):
        length = {"spike": 1, "frequency": 2 * L}.get(str(kind), L)
        channel, sign = int(rng.integers(n_channels)), int(rng.choice([-1, 1]))
        events.append(Anomaly(str(kind), start, length, channel, sign))
        start += need[str(kind)] + gap + int(spare[i + 1])
    return events


def apply(
    train: np.ndarray, test: np.ndarray, events: list[Anomaly], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``test`` with ``events`` injected, and its 0/1 row labels."""
    X, labels = test.astype(np.float64, copy=True), np.zeros(len(test), dtype=int)
    std, diff_std = train.std(axis=0), np.diff(train, axis=0).std(axis=0)
    for event in events:
        rows, c = slice(event.start, event.start + event.length), event.channel
        if event.kind == "spike":
            X[rows, c] += event.sign * SPIKE_SIZE * diff_std[c]
        elif event.kind == "level_shift":
            X[rows, c] += event.sign * SHIFT_SIZE * std[c]
        elif event.kind == "noise_burst":
            X[rows, c] += rng.normal(0.0, NOISE_SIZE * std[c], event.length)
        else:  # played at double speed: every second of the next 2 × 2L rows
            stop = event.start + 2 * event.length
            X[rows, c] = test[event.start : stop : 2, c]
        labels[rows] = 1
        event.changed = int(np.sum(X[rows, c] != test[rows, c]))
    return X, labels


def inject_events(
    train: np.ndarray, test: np.ndarray, window: int, seed: int, name: str = ""
) -> tuple[np.ndarray, np.ndarray, list[Anomaly]]:
    """``inject``, plus the events; the generator is seeded by (seed, name)."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    events = place(len(test), test.shape[1], window, rng)
    return (*apply(train, test, events, rng), events)


def inject(
    train: np.ndarray, test: np.ndarray, window: int, seed: int, name: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """The injected copy of ``test`` (n, f) and its row labels (1 = anomalous).

    Sizes are measured on ``train`` (the rows before ``test``).
    """
    X, labels, _ = inject_events(train, test, window, seed, name)
    return X, labels


# ---------------------------------------------------------------- methods
def floored_std(X: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Std of each column, at least ``floor`` (1 where a column is constant)."""
    std = X.std(axis=0)
    return np.where(std > floor, std, 1.0)


def tukey_fence(scores: np.ndarray) -> float:
    """Q3 + 1.5 IQR of the finite scores."""
    q1, q3 = np.percentile(scores[np.isfinite(scores)], [25, 75])
    return float(q3 + FENCE_IQRS * (q3 - q1))


def pad(scores: np.ndarray, n_rows: int) -> np.ndarray:
    """Scores of the last rows, NaN before them, to one per row."""
    return np.concatenate([np.full(n_rows - len(scores), np.nan), scores])


def history(X: np.ndarray, w: int) -> np.ndarray:
    """(n - w, f, w): for each row t >= w, the w rows before it."""
    return sliding_window_view(X, w, axis=0)[:-1]


def rolling_z(X: np.ndarray, w: int) -> np.ndarray:
    """Rolling z-score of every row (NaN for the first w), max over channels."""
    past = history(X, w)
    std = np.maximum(past.std(axis=-1), ZSCORE_FLOOR)
    return pad((np.abs(X[w:] - past.mean(axis=-1)) / std).max(axis=1), len(X))


def timed(func: Callable, *args: object) -> tuple[object, float]:
    """``func(*args)`` and the seconds it took."""
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


# A runner fits a method on the training rows and returns a scorer: for any
# series that starts with those rows, (score, flagged) of every row.
Scorer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def run_zscore(train: np.ndarray, w: int, seed: int) -> tuple[Scorer, dict]:
    """Rolling z-score; flags rows beyond the fence of the training rows."""
    fence = tukey_fence(rolling_z(train, w))

    def scorer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score = rolling_z(X, w)
        return score, score > fence

    return scorer, {}


def run_iforest(train: np.ndarray, w: int, seed: int) -> tuple[Scorer, dict]:
    """IsolationForest on the flattened window ending at each row."""

    def windows(X: np.ndarray) -> np.ndarray:
        return sliding_window_view(X, w, axis=0).reshape(len(X) - w + 1, -1)

    est = IsolationForest(random_state=seed).fit(windows(train))

    def scorer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flagged = np.zeros(len(X), dtype=bool)
        flagged[w - 1 :] = est.predict(windows(X)) == -1
        return pad(-est.score_samples(windows(X)), len(X)), flagged

    return scorer, {}


def residuals(est: Ridge, X: np.ndarray, w: int) -> np.ndarray:
    """(n - w, f): each row t >= w minus its forecast from the w rows before."""
    inputs = history(X, w).reshape(len(X) - w, -1)
    return X[w:] - est.predict(inputs).reshape(len(X) - w, -1)


def run_ridge_ar(train: np.ndarray, w: int, seed: int) -> tuple[Scorer, dict]:
    """Ridge forecast of each row from the w before; flags large residuals."""
    n = len(train)
    est = Ridge(alpha=1.0).fit(history(train, w).reshape(n - w, -1), train[w:])
    scale = floored_std(residuals(est, train, w))
    fence = tukey_fence(np.abs(residuals(est, train, w) / scale).max(1))

    def scorer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score = pad(np.abs(residuals(est, X, w) / scale).max(axis=1), len(X))
        return score, score > fence

    return scorer, {}


def run_skgru(train: np.ndarray, w: int, seed: int, extra: dict) -> tuple[Scorer, dict]:
    """GRUAnomalyDetector at defaults on the raw series; counts ConvergenceWarnings."""
    est = skgru.GRUAnomalyDetector(**{"window_size": w, "random_state": seed, **extra})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(train)
    others = [c for c in caught if not issubclass(c.category, ConvergenceWarning)]
    for warning in others:  # only ConvergenceWarning is silenced
        warnings.showwarning(
            warning.message, warning.category, warning.filename, warning.lineno
        )

    def scorer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return -est.score_samples(X), est.predict(X) == -1

    info = dict(epochs=int(est.n_iter_), convergence_warning=len(caught) > len(others))
    return scorer, info


def run_method(
    method: str,
    raw: np.ndarray,
    clean: np.ndarray,
    n_train: int,
    w: int,
    seed: int,
    extra: dict,
) -> Outcome:
    """``method`` fitted on the training rows, then run on the injected series
    ``raw`` and on the clean one: skgru on raw values, baselines standardised."""
    train = raw[:n_train]
    mean, std = train.mean(axis=0), floored_std(train)
    if method == "skgru":
        (scorer, info), fit_s = timed(run_skgru, train, w, seed, extra)
        prepare = np.asarray
    else:
        runner = {"zscore": run_zscore, "iforest": run_iforest}.get(
            method, run_ridge_ar
        )
        (scorer, info), fit_s = timed(runner, (train - mean) / std, w, seed)

        def prepare(X: np.ndarray) -> np.ndarray:
            return (X - mean) / std

    (score, flagged), score_s = timed(lambda: scorer(prepare(raw)))
    _, clean_flagged = scorer(prepare(clean))
    return Outcome(score, flagged, clean_flagged, fit_s, score_s, info)


# ---------------------------------------------------------------- scoring
def metrics(labels: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict:
    """ROC-AUC, PR-AUC, F1 and the share of normal rows flagged (test rows)."""
    result = dict(normal_flagged=float(flagged[labels == 0].mean()))
    result["f1"] = float(f1_score(labels, flagged.astype(int), zero_division=0.0))
    if not np.all(np.isfinite(score)):  # a diverged fit: no ranking
        return dict(roc_auc=float("nan"), pr_auc=float("nan"), **result)
    result["roc_auc"] = float(roc_auc_score(labels, score))
    result["pr_auc"] = float(average_precision_score(labels, score))
    return result


def caught(events: list[Anomaly], flagged: np.ndarray) -> dict[str, bool]:
    """Per kind: whether any of its labelled rows was flagged."""
    return {e.kind: bool(flagged[e.start : e.start + e.length].any()) for e in events}


def run_series(
    name: str, methods: list[str], seeds: list[int], extra: dict
) -> Iterator[dict]:
    """Every method on one series, per seed; yields one result per fit."""
    X, w = load_series(name)
    train, test = split(X)
    for seed in seeds:
        injected, labels, events = inject_events(train, test, w, seed, name)
        series = np.concatenate([train, injected])
        for method in methods:
            out = run_method(method, series, X, len(train), w, seed, extra)
            test_rows = slice(len(train), None)
            result = dict(series=name, method=METHODS[method], seed=seed)
            result.update(metrics(labels, out.score[test_rows], out.flagged[test_rows]))
            result["clean_flagged"] = float(out.clean_flagged[test_rows].mean())
            result.update(fit_s=out.fit_s, score_s=out.score_s, **out.extra)
            result["caught"] = caught(events, out.flagged[test_rows])
            result["events"] = [asdict(e) for e in events]
            print(
                f"{name} {METHODS[method]} seed={seed}: ROC-AUC {result['roc_auc']:.4f}"
                f", PR-AUC {result['pr_auc']:.4f}, F1 {result['f1']:.4f}, normal "
                f"flagged {result['normal_flagged']:.1%} (clean "
                f"{result['clean_flagged']:.1%}), fit {out.fit_s:.2f}s, "
                f"score {out.score_s:.2f}s"
                + (f", {out.extra['epochs']} epochs" if "epochs" in out.extra else ""),
                flush=True,
            )
            yield result


# ----------------------------------------------------------------- report
def describe(name: str) -> dict:
    """The series' facts for the summary table."""
    X, w = load_series(name)
    train, test = split(X)
    L = event_length(w)
    return dict(
        series=name,
        source=SERIES[name][0],
        rows=len(X),
        channels=X.shape[1],
        window=w,
        sizes=f"{len(train)}/{len(test)}",
        gap=min_gap(len(test), w),
        anomalous=(1 + 2 * L + 2 * L) / len(test),
    )


def values(results: list[dict], name: str, label: str, key: str) -> list[float]:
    """``key`` of every run of ``label`` on series ``name``."""
    return [r[key] for r in results if r["series"] == name and r["method"] == label]


def mean_std(values: list[float]) -> str:
    """Mean ± sample std, or the single value."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def best_baseline(results: list[dict], name: str) -> tuple[str, float] | None:
    """The baseline with the highest mean ROC-AUC on ``name``, and that mean."""
    means = {
        METHODS[m]: float(np.mean(v))
        for m in BASELINES
        if (v := values(results, name, METHODS[m], "roc_auc"))
    }
    return max(means.items(), key=lambda item: item[1]) if means else None


def summary_row(info: dict, results: list[dict]) -> tuple[str, float | None]:
    """One series' summary row, and skgru's mean ROC-AUC / the best baseline's."""
    name = info["series"]
    auc = values(results, name, "skgru", "roc_auc")
    clean = values(results, name, "skgru", "clean_flagged")
    flagged = values(results, name, "skgru", "normal_flagged")
    best = best_baseline(results, name)
    cells = [name, info["rows"], info["channels"], info["window"], info["sizes"]]
    cells += [info["gap"], f"{info['anomalous']:.1%}"]
    cells.append(mean_std(auc) if auc else "–")
    cells.append(f"{best[1]:.4f} ({best[0]})" if best else "–")
    ratio = None
    if auc and best:
        ratio = float(np.mean(auc) / best[1])
        wins = bool(np.mean(auc) >= best[1])
        cells += [f"{ratio:.2f}", "yes" if wins else "no"]
    else:
        cells += ["–", "–"]
    if clean:
        low = np.mean(clean) <= FLAGGED_LIMIT
        cells += [f"{np.mean(clean):.1%}", "yes" if low else "no"]
    else:
        cells += ["–", "–"]
    cells.append(f"{np.mean(flagged):.1%}" if flagged else "–")
    return "| " + " | ".join(map(str, cells)) + " |", ratio


def header(args: argparse.Namespace, extra: dict) -> list[str]:
    """Command, date, machine, versions, parameters and the protocol."""
    command = shlex.join(["python", "benchmarks/anomaly.py", *sys.argv[1:]])
    versions = {"skgru": skgru.__version__, "torch": torch.__version__}
    versions["scikit-learn"] = sklearn.__version__
    versions["sktime"] = importlib.metadata.version("sktime")
    return [
        "# skgru anomaly detection benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}. "
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads. "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "skgru: `GRUAnomalyDetector(window_size=w, random_state=seed)`, other "
        f"parameters {json.dumps(extra) if extra else 'at their defaults'}. "
        f"Seeds: {' '.join(map(str, args.seeds))}. The script's docstring "
        "describes the series, the protocol and the baselines.",
        "",
        "Protocol: the first half of each series trains every method and is "
        "never changed. Into a copy of the second half (the test part), four "
        "events are injected, one of each kind, on one random channel each, "
        "at random positions at least `gap` rows apart, seeded by (seed, "
        "series): a spike (one row, ±6 × the std of the channel's first "
        "differences), a level shift (L rows, ±3 × the channel's std), a noise "
        "burst (L rows + Gaussian noise of 1.5 × the channel's std) and a "
        "frequency change (2L rows replaced by the next 4L at double speed), "
        "with L = max(3, window // 4) and stds of the training part. Every "
        "method scores the whole series (training part + injected test part) "
        "and is judged on the test rows only.",
        "",
        "Columns: ROC-AUC and PR-AUC (average precision; chance level = the "
        "share of anomalous test rows) of the anomaly score against the row "
        "labels; F1 of `predict == -1`; caught: events (of 4) with at least "
        "one labelled row flagged; fit s and score s: seconds to fit on the "
        "training part and to score the whole series. Means over seeds, with "
        "the sample std for ROC-AUC. The baselines get the series "
        "standardised by the training part's mean and std per channel; "
        "zscore and Ridge AR flag rows beyond Tukey's fence of their training "
        "scores, IsolationForest uses its own `predict`.",
        "",
        "False alarms (clean): the share of test rows that `predict` flags "
        "when the method, fitted as above, scores the clean series (no "
        "injected anomaly). This is the calibration measure, the false-alarm "
        "rate a monitoring user sees on normal data; for skgru's "
        '`contamination="auto"` it should be at most 5%.',
        "",
        "Normal flagged (injected): the share of the unlabelled test rows "
        "that `predict` flags in the injected series. These include the rows "
        "just after each event, whose windows still hold it, so every "
        "forecasting method flags some of them (the echo of each anomaly): "
        "this measure mixes false alarms with that echo.",
    ]


def method_table(name: str, results: list[dict]) -> list[str]:
    """Every method's means over seeds on one series."""
    lines = [
        "| method | ROC-AUC | PR-AUC | F1 | false alarms (clean) "
        "| normal flagged (injected) | caught | fit s | score s |",
        "|---" * 9 + "|",
    ]
    for label in dict.fromkeys(r["method"] for r in results if r["series"] == name):
        runs = [r for r in results if r["series"] == name and r["method"] == label]
        keys = ("pr_auc", "f1", "clean_flagged", "normal_flagged", "fit_s")
        keys += ("score_s",)
        mean = {k: np.mean([r[k] for r in runs]) for k in keys}
        hits = np.mean([sum(r["caught"].values()) for r in runs])
        lines.append(
            f"| {label} | {mean_std([r['roc_auc'] for r in runs])} "
            f"| {mean['pr_auc']:.4f} | {mean['f1']:.4f} "
            f"| {mean['clean_flagged']:.1%} | {mean['normal_flagged']:.1%} "
            f"| {hits:.1f} | {mean['fit_s']:.2f} "
            f"| {mean['score_s']:.2f} |"
        )
    return lines


def series_notes(name: str, results: list[dict]) -> list[str]:
    """Injections that changed nothing, and skgru's epochs and warnings."""
    runs = [r for r in results if r["series"] == name]
    seen = {r["seed"]: r["events"] for r in runs}
    void = [
        f"{e['kind']} (seed {seed})"
        for seed, events in seen.items()
        for e in events
        if e["changed"] == 0
    ]
    lines = []
    if void:
        lines.append(f"Injections that changed no value: {', '.join(void)}.")
    gru = [r for r in runs if r["method"] == "skgru"]
    if gru:
        epochs = ", ".join(str(r["epochs"]) for r in gru)
        warned = sum(r["convergence_warning"] for r in gru)
        lines.append(
            f"skgru epochs per seed: {epochs}; fits with a ConvergenceWarning: "
            f"{warned} of {len(gru)}."
        )
    return lines


def render(head: list[str], infos: list[dict], results: list[dict]) -> str:
    """The whole Markdown report."""
    rows = [summary_row(info, results) for info in infos]
    ratios = {
        info["series"]: ratio
        for info, (_, ratio) in zip(infos, rows, strict=True)
        if ratio is not None
    }
    lines = [
        *head,
        "",
        "## Summary",
        "",
        "Best baseline: the baseline with the highest mean ROC-AUC on the "
        "series. `skgru / best`: the ratio of the mean ROC-AUCs (over seeds). "
        "skgru false alarms (clean): the share of the clean series' test rows "
        "that skgru flags (mean over seeds); `≤ 5%`: whether it is at most 5%, "
        '`contamination="auto"`\'s bound. skgru normal flagged (injected): the '
        "same on the injected series' unlabelled test rows, echo included. "
        "gap: the least rows between two events (the window, unless the test "
        "part is too short). anomalous: the share of labelled test rows.",
        "",
        "| series | rows | channels | window | train/test | gap | anomalous "
        "| skgru ROC-AUC | best baseline | skgru / best | skgru ≥ best "
        "| skgru false alarms (clean) | ≤ 5% | skgru normal flagged (injected) |",
        "|---" * 14 + "|",
        *(row for row, _ in rows),
    ]
    if ratios:
        wins = sum(ratio >= 1.0 for ratio in ratios.values())
        lowest = min(ratios, key=ratios.__getitem__)
        met = "met" if ratios[lowest] >= RATIO_LIMIT else "NOT met"
        lines += [
            "",
            f"skgru's mean ROC-AUC ≥ the best baseline's on {wins} of "
            f"{len(ratios)} series.",
            "",
            f"Lowest skgru / best ratio: {ratios[lowest]:.2f} ({lowest}); the "
            f"bound is {RATIO_LIMIT} on every series: {met}. Mean ratio over "
            f"series: {np.mean(list(ratios.values())):.2f}.",
        ]
    for info in infos:
        lines += ["", f"## {info['series']}", "", f"Source: {info['source']}.", ""]
        lines += method_table(info["series"], results)
        notes = series_notes(info["series"], results)
        lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    output = HERE / "ANOMALY.md"
    return parser(__doc__, "series", list(SERIES), list(METHODS), output).parse_args()


# Fit time at defaults on series of the sizes the issue reported (223 s and
# 233 s before): rows, channels, window_size. Synthetic sines with noise.
FIT_SIZES = ((3520, 9, 64), (3750, 1, 256))


def fit_times(extra: dict) -> list[str]:
    """Markdown lines: seconds of a default fit on each of FIT_SIZES."""
    lines = [
        "",
        "## Fit time at defaults",
        "",
        "Channel c: sin(t / (5 + c)) plus noise of std 0.1; one fit each.",
        "",
        "| rows | channels | window | fit s | epochs | batch |",
        "|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(0)
    for rows, channels, window in FIT_SIZES:
        t = np.arange(rows)[:, None]
        X = np.sin(t / (5 + np.arange(channels))) + rng.normal(0, 0.1, (rows, channels))
        est = skgru.GRUAnomalyDetector(window_size=window, random_state=0, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, seconds = timed(est.fit, X)
        print(f"fit time: {rows} x {channels}, window {window}: {seconds:.1f}s")
        lines.append(
            f"| {rows} | {channels} | {window} | {seconds:.1f} | {est.n_iter_} "
            f"| {est.net_.batch_size} |"
        )
    return lines


def main() -> None:
    args = parse_args()
    extra = skgru_params(args)
    names = args.series or list(SERIES)
    methods = args.methods or list(METHODS)
    infos = [describe(name) for name in names]  # fail before any fit if data lack
    head = header(args, extra)
    results: list[dict] = []
    for i, name in enumerate(names):
        results.extend(run_series(name, methods, args.seeds, extra))
        Path(args.output).write_text(render(head, infos[: i + 1], results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    if "skgru" in methods and args.series is None:
        report = render(head, infos, results) + "\n".join(fit_times(extra)) + "\n"
        Path(args.output).write_text(report)
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
