"""Point forecasts by skgru at default parameters against simple baselines.

Five real data sets that sktime and aeon ship inside their pip packages
(nothing is downloaded), with the standard horizon ``h`` of their frequency:

* ``PBS_dataset``: monthly prescriptions (sktime, ``Scripts``), 204 rows;
  season 12, h = 18. An intermittent count series (90 of its values are 0)
  that ends in 38 zeros: its test part is all 0, so the naive methods score
  MASE 0 and any forecast other than 0 gets sMAPE 200%.
* ``seatbelts``: monthly road casualties (sktime, ``KSI``), 192 rows;
  season 12, h = 18.
* ``solar``: half-hourly solar generation (sktime, ``solar_gen``), 289 rows;
  season 48, h = 48.
* ``Uschange``: quarterly US consumption growth (sktime, ``Consumption``
  only), 187 rows; season 4, h = 8.
* ``m1_yearly``: the 181 yearly series of the M1 competition (aeon's
  ``m1_yearly_dataset.tsf``); season 1, h = 6.

Protocol: in every series, the last ``h`` values are the test part and all
values before them the training part. Every method is fitted on training
parts only, then forecasts the ``h`` test values in one go. All window-based
methods use the same window ``w = min(max(2 * season, h, 8), n_min // 3)``,
``n_min`` being the length of the shortest training part of the set: two
seasons (and at least the horizon, and 8), but at most a third of the
shortest training part, so that every series gives at least twice as many
training windows as the window is long. Methods:

* ``naive``: the last training value, repeated.
* ``seasonal_naive``: the last season of the training part, repeated
  (= ``naive`` when the season is 1).
* ``ridge``: scikit-learn's ``Ridge(alpha=1.0)`` predicting the next value
  from the ``w`` before it, the window and its target divided by the
  window's level (the mean absolute value of the window; 1 if that is 0),
  the prediction multiplied back; recursive (each prediction is fed back as
  the newest lag).
* ``hgb``: ``HistGradientBoostingRegressor(random_state=seed)`` on the same
  level-relative lags, recursive.
* ``autoets`` and ``autotheta``: statsforecast's ``AutoETS`` and
  ``AutoTheta`` with the set's season, fitted on each series on its own
  (also on ``m1_yearly``: the per-series statistical baselines the global
  models are compared with); left out when statsforecast is not installed.
* ``skgru``: ``GRURegressor(window_size=w, target_channel=0,
  random_state=seed)`` (plus ``--skgru-params``) fitted in series layout on
  the raw values, ``X = train[:-1, None]``, ``y = train[1:]``; forecast by
  ``forecast(train[:, None], h)``.
* ``skgru_intervals``: the same model fitted without the last
  ``c = min(2h, n // 2)`` values of each training part (n its length);
  ``calibrate(steps=h)`` measures its forecast errors from every origin in
  them, and ``forecast(..., coverage=0.9)`` gives 90% split conformal
  intervals per step. The report gives their coverage of the test values and
  their mean width in units of the MASE scale.

On ``m1_yearly`` the three learned methods are global: one model over all
series (Ridge and HGB pool every series' windows; skgru is fitted with
``groups=`` the series ids and forecasts every series with one
``forecast(..., groups=ids)`` call). skgru gets raw values there too,
though the series' mean levels range from about 2 to 1.8e7: with
``groups``, its default ``scaling="auto"`` standardises each series by its
own statistics.

Metrics, averaged over the series of a set: MASE (mean absolute error over
the mean absolute seasonal difference of the training part, season 1 for
yearly data) and sMAPE (mean of ``200 |y - f| / (|y| + |f|)`` in %, 0 where
both are 0). ``fit s`` is the seconds spent fitting and forecasting,
summed over the series of the set. The naive methods, Ridge, AutoETS and
AutoTheta are deterministic and run once; HGB and skgru run once per seed,
and the report gives their means over seeds.

Run ``python benchmarks/forecasting.py`` with the ``bench`` extra installed.
It prints one line per set and method and rewrites
``benchmarks/FORECASTING.md`` after every set (``--output``); ``--json`` also
dumps the per-seed results.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _cli import parser, run_header, skgru_params
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

import skgru

HERE = Path(__file__).resolve().parent
# name -> (package, file under datasets/data, column, season, horizon)
SETS = {
    "PBS_dataset": ("sktime", "PBS_dataset/PBS_dataset.csv", "Scripts", 12, 18),
    "seatbelts": ("sktime", "seatbelts/seatbelts.csv", "KSI", 12, 18),
    "solar": ("sktime", "solar/solar.csv", "solar_gen", 48, 48),
    "Uschange": ("sktime", "Uschange/Uschange.csv", "Consumption", 4, 8),
    "m1_yearly": ("aeon", "m1_yearly_dataset/m1_yearly_dataset.tsf", None, 1, 6),
}
NOTES = {  # a line under the set's table
    "PBS_dataset": "The test part is all 0 (the series ends in 38 zeros): the "
    "naive methods are exact, and any other forecast gets sMAPE 200%.",
    "m1_yearly": "skgru gets raw values (mean levels from about 2 to 1.8e7) and "
    "standardises each series by its own statistics (scaling='auto' with "
    "groups); Ridge and HGB see level-relative lags.",
}
METHODS = [
    "naive",
    "seasonal_naive",
    "ridge",
    "hgb",
    "autoets",
    "autotheta",
    "skgru",
    "skgru_intervals",
]
STATSFORECAST = {"autoets": "AutoETS", "autotheta": "AutoTheta"}
STOCHASTIC = {"hgb", "skgru", "skgru_intervals"}
COVERAGE = 0.9


# ---------------------------------------------------------------- data
def data_file(package: str, relative: str) -> Path:
    """A file under ``<package>/datasets/data``, located without importing."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        sys.exit(f"{package} is not installed: pip install -e '.[bench]'")
    return Path(spec.origin).parent / "datasets" / "data" / relative


def read_tsf(path: Path) -> list[np.ndarray]:
    """The series of a .tsf file: lines after ``@data`` are
    ``name:start_timestamp:v1,v2,...``."""
    series, in_data = [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if in_data:
            values = line.rsplit(":", 1)[1]
            series.append(np.array([float(v) for v in values.split(",")]))
        elif line.lower() == "@data":
            in_data = True
    return series


def load_set(name: str) -> tuple[list[np.ndarray], int, int]:
    """The series of set ``name``, its season and its horizon."""
    package, relative, column, season, h = SETS[name]
    path = data_file(package, relative)
    if path.suffix == ".tsf":
        return read_tsf(path), season, h
    return [pd.read_csv(path)[column].to_numpy(dtype=float)], season, h


def window(trains: list[np.ndarray], season: int, h: int) -> int:
    """Two seasons (at least h and 8), at most a third of the shortest part."""
    return min(max(2 * season, h, 8), min(len(t) for t in trains) // 3)


# ---------------------------------------------------------------- methods
def level(windows: np.ndarray) -> np.ndarray:
    """Mean absolute value of each window (last axis); 1 where it is 0."""
    scale = np.abs(windows).mean(axis=-1)
    return np.where(scale > 0, scale, 1.0)


def lagged(trains: list[np.ndarray], w: int) -> tuple[np.ndarray, np.ndarray]:
    """Level-relative windows of ``w`` values and their next values, pooled."""
    inputs, targets = [], []
    for train in trains:
        windows = sliding_window_view(train, w)[:-1]
        scale = level(windows)
        inputs.append(windows / scale[:, None])
        targets.append(train[w:] / scale)
    return np.concatenate(inputs), np.concatenate(targets)


def recursive(est: object, trains: list[np.ndarray], w: int, h: int) -> np.ndarray:
    """(n_series, h): each prediction fed back as the newest lag."""
    recent = np.stack([t[-w:] for t in trains])
    out = np.empty((len(trains), h))
    for step in range(h):
        scale = level(recent)
        out[:, step] = est.predict(recent / scale[:, None]) * scale
        recent = np.concatenate([recent[:, 1:], out[:, step : step + 1]], axis=1)
    return out


def run_naive(trains, season, w, h, seed, extra) -> np.ndarray:
    return np.stack([np.repeat(t[-1], h) for t in trains])


def run_seasonal_naive(trains, season, w, h, seed, extra) -> np.ndarray:
    return np.stack([np.resize(t[-season:], h) for t in trains])


def run_ridge(trains, season, w, h, seed, extra) -> np.ndarray:
    return recursive(Ridge(alpha=1.0).fit(*lagged(trains, w)), trains, w, h)


def run_hgb(trains, season, w, h, seed, extra) -> np.ndarray:
    est = HistGradientBoostingRegressor(random_state=seed)
    return recursive(est.fit(*lagged(trains, w)), trains, w, h)


def statsforecast_model(method: str) -> type | None:
    """statsforecast's model class for ``method``, or None if not installed."""
    try:
        from statsforecast import models
    except ImportError:
        return None
    return getattr(models, STATSFORECAST[method])


def statsforecast_runner(method: str) -> Callable:
    """The runner of ``method``: its model fitted on each series on its own."""

    def run(trains, season, w, h, seed, extra) -> np.ndarray:
        model = statsforecast_model(method)
        return np.stack(
            [model(season_length=season).forecast(y=t, h=h)["mean"] for t in trains]
        )

    return run


def run_skgru(trains, season, w, h, seed, extra) -> np.ndarray:
    """One GRURegressor over all series (with ``groups`` when several)."""
    params = {"window_size": w, "target_channel": 0, "random_state": seed, **extra}
    est = skgru.GRURegressor(**params)
    X = np.concatenate([t[:-1] for t in trains])[:, None]
    y = np.concatenate([t[1:] for t in trains])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if len(trains) == 1:
            est.fit(X, y)
            return np.asarray(est.forecast(trains[0][:, None], h))[None, :]
        ids = np.concatenate([np.full(len(t) - 1, i) for i, t in enumerate(trains)])
        est.fit(X, y, groups=ids)
    history = np.concatenate(trains)[:, None]
    all_ids = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    out = est.forecast(history, h, groups=all_ids)
    return np.asarray(out.loc[np.arange(len(trains))], dtype=float)


def run_skgru_intervals(trains, season, w, h, seed, extra) -> np.ndarray:
    """skgru's 90% forecast intervals, ``(n_series, h, 3)``: forecast, lower,
    upper. The model is fitted without the last ``c = min(2h, len // 2)``
    values of each training part, ``calibrate(steps=h)`` measures its errors
    on them, and ``forecast(coverage=0.9)`` continues the whole training part."""
    params = {"window_size": w, "target_channel": 0, "random_state": seed, **extra}
    est = skgru.GRURegressor(**params)
    X = np.concatenate([t[:-1] for t in trains])[:, None]
    y = np.concatenate([t[1:] for t in trains])
    ids = np.concatenate([np.full(len(t) - 1, i) for i, t in enumerate(trains)])
    # a row is fitted when its target comes before its series' last c values
    fitted = np.concatenate(
        [np.arange(1, len(t)) < len(t) - min(2 * h, len(t) // 2) for t in trains]
    )
    several = len(trains) > 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[fitted], y[fitted], groups=ids[fitted] if several else None)
    est.calibrate(
        X, np.where(fitted, np.nan, y), groups=ids if several else None, steps=h
    )
    history = np.concatenate(trains)[:, None]
    all_ids = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    out = est.forecast(history, h, groups=all_ids if several else None, coverage=0.9)
    values = out[["forecast", "lower", "upper"]].to_numpy(dtype=float)
    return values.reshape(len(trains), h, 3)


RUNNERS: dict[str, Callable] = {
    "naive": run_naive,
    "seasonal_naive": run_seasonal_naive,
    "ridge": run_ridge,
    "hgb": run_hgb,
    **{method: statsforecast_runner(method) for method in STATSFORECAST},
    "skgru": run_skgru,
    "skgru_intervals": run_skgru_intervals,
}


# ---------------------------------------------------------------- scoring
def mase(train: np.ndarray, test: np.ndarray, pred: np.ndarray, m: int) -> float:
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return float(np.mean(np.abs(test - pred)) / scale) if scale > 0 else np.nan


def smape(test: np.ndarray, pred: np.ndarray) -> float:
    denominator = np.abs(test) + np.abs(pred)
    ratio = np.divide(
        2 * np.abs(test - pred),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(100 * np.mean(ratio))


def interval_scores(trains, tests, lower, upper, season) -> dict:
    """Share of test values inside their interval (over all series and
    steps), and the mean width in units of each series' MASE scale."""
    inside = [
        (lo <= te) & (te <= up) for te, lo, up in zip(tests, lower, upper, strict=True)
    ]
    widths = []
    for tr, lo, up in zip(trains, lower, upper, strict=True):
        scale = np.mean(np.abs(tr[season:] - tr[:-season]))
        if scale > 0:
            widths.append(np.mean(up - lo) / scale)
    return {
        "coverage": float(np.mean(np.concatenate(inside))),
        "width": float(np.mean(widths)),
        "values": int(sum(len(te) for te in tests)),
    }


def run_set(name: str, methods: list[str], seeds: list[int], extra: dict) -> list[dict]:
    """Every method on one set; one result per method and seed."""
    series, season, h = load_set(name)
    trains, tests = [s[:-h] for s in series], [s[-h:] for s in series]
    w = window(trains, season, h)
    results = []
    for method in methods:
        for seed in seeds if method in STOCHASTIC else [None]:
            start = time.perf_counter()
            pred = RUNNERS[method](trains, season, w, h, seed, extra)
            fit_s = time.perf_counter() - start
            interval = None
            if pred.ndim == 3:  # forecast, lower, upper
                pred, lower, upper = pred[..., 0], pred[..., 1], pred[..., 2]
                interval = interval_scores(trains, tests, lower, upper, season)
            scores = [
                (mase(tr, te, p, season), smape(te, p))
                for tr, te, p in zip(trains, tests, pred, strict=True)
            ]
            result = dict(set=name, method=method, seed=seed, window=w, horizon=h)
            result["mase"] = float(np.nanmean([s[0] for s in scores]))
            result["smape"] = float(np.mean([s[1] for s in scores]))
            result.update(fit_s=fit_s, series=len(series), season=season)
            if interval is not None:
                result.update(interval)
            print(
                f"{name} {method}"
                + (f" seed={seed}" if seed is not None else "")
                + f": MASE {result['mase']:.4f}, sMAPE {result['smape']:.2f}%, "
                f"fit {fit_s:.2f}s (w={w}, h={h})",
                flush=True,
            )
            results.append(result)
    return results


# ---------------------------------------------------------------- report
def header(args: argparse.Namespace, extra: dict) -> list[str]:
    """Command, date, machine, versions and parameters of this run."""
    installed = statsforecast_model("autoets") is not None
    return [
        *run_header(
            "skgru forecasting benchmark",
            "forecasting.py",
            ("sktime", "aeon", *(("statsforecast",) if installed else ())),
        ),
        f"skgru parameters: {json.dumps(extra) if extra else 'defaults'} "
        f"(plus window_size=w, target_channel=0, random_state=seed). "
        f"Seeds: {' '.join(map(str, args.seeds))}.",
        "",
        "The last h values of each series are the test part; every method is "
        "fitted on the values before them. MASE and sMAPE (%) are averaged over "
        "the series of a set (lower is better); fit s (fitting plus "
        "forecasting) is summed over them. "
        "naive, seasonal_naive, ridge, autoets and autotheta are deterministic "
        "and run once; hgb and skgru give means over seeds, and their MASE per "
        "seed. "
        "Window w = min(max(2 season, h, 8), "
        "shortest training part // 3); on m1_yearly ridge, hgb and skgru are "
        "one global model over all series, and autoets and autotheta "
        "(statsforecast) one model per series. See the docstring of "
        "benchmarks/forecasting.py for the full protocol.",
    ]


def render(head: list[str], results: list[dict]) -> str:
    lines = list(head)
    names = list(dict.fromkeys(r["set"] for r in results))
    wins, compared = 0, 0
    statistical: list[str] = []  # per set: skgru against AutoETS / AutoTheta
    statistical_wins = 0
    coverages: list[float] = []
    for name in names:
        rows = [r for r in results if r["set"] == name]
        first = rows[0]
        lines += [
            "",
            f"## {name}",
            "",
            f"{first['series']} series, season {first['season']}, horizon "
            f"{first['horizon']}, window {first['window']}.",
            "",
            "| method | MASE | MASE per seed | sMAPE | fit s |",
            "|---|---|---|---|---|",
        ]
        means = {}
        for method in dict.fromkeys(r["method"] for r in rows):
            runs = [r for r in rows if r["method"] == method]
            mean = {k: float(np.mean([r[k] for r in runs])) for k in ("mase", "smape")}
            means[method] = mean["mase"]
            fit_s = np.mean([r["fit_s"] for r in runs])
            per_seed = ", ".join(f"{r['mase']:.4f}" for r in runs) if runs[1:] else ""
            lines.append(
                f"| {method} | {mean['mase']:.4f} | {per_seed} | {mean['smape']:.2f} "
                f"| {fit_s:.2f} |"
            )
        spans = [r for r in rows if "coverage" in r]
        if spans:
            covered = [r["coverage"] for r in spans]
            lines += [
                "",
                f"skgru_intervals' {COVERAGE:.0%} forecast intervals hold "
                f"{np.mean(covered):.3f} of the {spans[0]['values']} test values "
                f"(per seed: {', '.join(f'{c:.3f}' for c in covered)}); mean "
                f"width {np.mean([r['width'] for r in spans]):.2f} MASE scales.",
            ]
            coverages.append(float(np.mean(covered)))
        if name in NOTES:
            lines += ["", NOTES[name]]
        if "skgru" in means and "ridge" in means:
            compared += 1
            wins += means["skgru"] <= means["ridge"]
        local = {m: means[m] for m in STATSFORECAST if m in means}
        if "skgru" in means and local:
            best = min(local, key=local.get)
            won = means["skgru"] <= local[best]
            statistical_wins += won
            verdict = "≤" if won else ">"
            statistical.append(
                f"{name} {means['skgru']:.4f} {verdict} {local[best]:.4f} ({best})"
            )
    if compared:
        lines += [
            "",
            "## Summary",
            "",
            f"skgru's MASE ≤ Ridge's on {wins} of {compared} sets.",
        ]
    if statistical:
        lines += [
            "",
            f"skgru's MASE ≤ the better of statsforecast's AutoETS and AutoTheta "
            f"(one model per series) on {statistical_wins} of {len(statistical)} "
            "sets: " + "; ".join(statistical) + ".",
        ]
    if coverages:
        held = sum(0.85 <= c <= 0.95 for c in coverages)
        lines += [
            "",
            f"Coverage of skgru's {COVERAGE:.0%} forecast intervals (mean over "
            f"seeds) is within 0.85-0.95 on {held} of {len(coverages)} sets: "
            + ", ".join(f"{c:.3f}" for c in coverages)
            + ". A set's test part is h values per series, so on one series it "
            "is a coarse estimate.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    output = HERE / "FORECASTING.md"
    args = parser(__doc__, "sets", list(SETS), METHODS, output).parse_args()
    extra = skgru_params(args)
    names = args.sets or list(SETS)
    methods = args.methods or METHODS
    missing = [m for m in methods if m in STATSFORECAST and not statsforecast_model(m)]
    if missing:
        print(f"statsforecast is not installed: {', '.join(missing)} left out")
        methods = [m for m in methods if m not in missing]
    for name in names:  # fail before any fit if data lack
        load_set(name)
    head = header(args, extra)
    results: list[dict] = []
    start = time.perf_counter()
    for name in names:
        results.extend(run_set(name, methods, args.seeds, extra))
        Path(args.output).write_text(render(head, results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.output} in {time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
