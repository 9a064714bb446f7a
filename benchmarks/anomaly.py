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
* ``skgru_c01``: the same with ``contamination=0.01`` (the same network; the
  threshold for a 1% false-alarm rate on new data, from the held-out rows):
  its false alarms measure a float ``contamination``'s calibration.
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
import json
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _anomaly_data import SERIES, Anomaly, describe, inject_events, load_series, split
from _anomaly_report import FLOAT_CONTAMINATION, METHODS, header, render
from _cli import parser, skgru_params
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

import skgru

HERE = Path(__file__).resolve().parent
ZSCORE_FLOOR = 0.1  # rolling std floor, in training stds
FENCE_IQRS = 1.5  # Tukey's fence


@dataclass
class Outcome:
    """One method's answer on the whole series, with its timings."""

    score: np.ndarray  # higher = more anomalous; NaN where not defined
    flagged: np.ndarray  # bool, predict == -1
    clean_flagged: np.ndarray  # predict == -1 on the series without anomalies
    fit_s: float
    score_s: float
    extra: dict


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
    if method.startswith("skgru"):
        if method == "skgru_c01":
            extra = {**extra, "contamination": FLOAT_CONTAMINATION}
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
