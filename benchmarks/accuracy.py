"""Accuracy of skgru at default parameters against simple baselines.

On the official train/test splits of seven public data sets that aeon and
sktime ship inside their pip packages (nothing is downloaded), each set is
fitted by skgru's ``GRUClassifier`` / ``GRURegressor`` (only ``random_state``
set, plus ``--skgru-params`` if given), 1-NN (Euclidean), RandomForest, Ridge
and aeon's MiniRocket, all in the same run and timed. Scores: accuracy for
classification (higher is better), RMSE for regression (lower is better). The
regression sets also report the training targets' mean as a constant
prediction: a model that scores worse has learnt nothing that carries to the
test part.

Run ``python benchmarks/accuracy.py`` after ``make test``'s set-up plus
``.venv/bin/python -m pip install -c constraints.txt -e ".[bench]"``. It
prints one line per fit and rewrites ``benchmarks/ACCURACY.md`` after every
data set (``--output``); ``--json`` also dumps the per-seed results.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _cli import parser, run_header, skgru_params
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV
from sklearn.metrics import accuracy_score, root_mean_squared_error
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgru

HERE = Path(__file__).resolve().parent
Data = np.ndarray | list[np.ndarray]  # aeon's (n, c, T), or n arrays (c, T_i)
INSTALL = 'pip install -e ".[bench]" -c constraints.txt'
# name -> (package that ships it, task)
DATASETS = {
    "ACSF1": ("aeon", "classification"),
    "PickupGestureWiimoteZ": ("aeon", "classification"),
    "PLAID": ("sktime", "classification"),
    "UnitTest": ("aeon", "classification"),
    "BasicMotions": ("aeon", "classification"),
    "CardanoSentiment": ("aeon", "regression"),
    "Tecator": ("sktime", "regression"),
}
# CLI name -> (label in the report, tasks it applies to, deterministic)
METHODS = {
    "skgru": ("skgru", ("classification", "regression"), False),
    "1nn": ("1-NN (Euclidean)", ("classification",), True),
    "rf": ("RandomForest", ("classification", "regression"), False),
    "ridge": ("Ridge", ("regression",), True),
    "mean": ("training mean", ("regression",), True),
    "minirocket": ("MiniRocket", ("classification", "regression"), False),
}
SIMPLE = {"classification": ("1nn", "rf"), "regression": ("rf", "ridge")}


@dataclass
class Dataset:
    """One data set in aeon's layout: (n, channels, T) array or list of (c, T_i)."""

    name: str
    task: str
    X_train: Data
    y_train: np.ndarray
    X_test: Data
    y_test: np.ndarray


def data_file(package: str, name: str, split: str) -> Path:
    """Path of a .ts file shipped in ``package``; exits if it is not there."""
    spec = importlib.util.find_spec(package)
    path = None
    if spec is not None and spec.submodule_search_locations:
        root = Path(spec.submodule_search_locations[0])
        path = root / "datasets" / "data" / name / f"{name}_{split}.ts"
    if path is None or not path.is_file():
        sys.exit(f"{name}_{split}.ts not found in package {package!r}: run `{INSTALL}`")
    return path


def load_dataset(name: str) -> Dataset:
    """Read the official train and test splits from the installed package."""
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError:
        sys.exit(f"aeon is needed to read the data sets: run `{INSTALL}`")
    package, task = DATASETS[name]
    X_train, y_train = load_from_ts_file(str(data_file(package, name, "TRAIN")))
    X_test, y_test = load_from_ts_file(str(data_file(package, name, "TEST")))
    return Dataset(name, task, X_train, y_train, X_test, y_test)


def lengths(X: Data) -> list[int]:
    """Number of time points of each series."""
    return [x.shape[-1] for x in X]


def to_skgru(X: Data) -> Data:
    """aeon's (n, c, T) -> skgru's (n, T, c); a list of (c, T_i) -> (T_i, c)."""
    if isinstance(X, np.ndarray):
        return np.ascontiguousarray(X.transpose(0, 2, 1))
    return [np.ascontiguousarray(x.T, dtype=float) for x in X]


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """One (c, T) series linearly interpolated to (c, length), channel by channel."""
    old, new = np.linspace(0, 1, x.shape[-1]), np.linspace(0, 1, length)
    return np.stack([np.interp(new, old, channel) for channel in x])


def equal_length(X: Data, length: int) -> np.ndarray:
    """(n, c, length): the data as it is, or every series resampled."""
    if isinstance(X, np.ndarray) and X.shape[-1] == length:
        return X
    return np.stack([resample(x, length) for x in X])


def minirocket(task: str) -> type | None:
    """aeon's MiniRocket estimator for ``task``, or None if it cannot be imported."""
    try:
        if task == "classification":
            from aeon.classification.convolution_based import MiniRocketClassifier

            return MiniRocketClassifier
        from aeon.regression.convolution_based import MiniRocketRegressor

        return MiniRocketRegressor
    except ImportError:
        return None


def applies(method: str, task: str) -> bool:
    """Whether ``method`` runs on ``task`` (MiniRocket only where importable)."""
    if method == "minirocket" and minirocket(task) is None:
        return False
    return task in METHODS[method][1]


def make_estimator(method: str, task: str, seed: int, extra: dict) -> BaseEstimator:
    """The estimator of ``method`` for ``task``, seeded with ``seed``."""
    clf = task == "classification"
    if method == "skgru":
        cls = skgru.GRUClassifier if clf else skgru.GRURegressor
        return cls(random_state=seed, **extra)
    if method == "1nn":
        return KNeighborsClassifier(n_neighbors=1)
    if method == "rf":
        cls = RandomForestClassifier if clf else RandomForestRegressor
        return cls(random_state=seed)
    if method == "ridge":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    if method == "mean":
        return DummyRegressor(strategy="mean")
    return minirocket(task)(random_state=seed, n_jobs=1)


def evaluate(est: BaseEstimator, data: Dataset, train: Data, test: Data) -> dict:
    """Fit, predict, score and time one estimator; count ConvergenceWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(train, data.y_train)
        fit_s = time.perf_counter() - start
    others = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    for w in others:  # only ConvergenceWarning is silenced
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    start = time.perf_counter()
    pred = est.predict(test)
    predict_s = time.perf_counter() - start
    clf = data.task == "classification"
    metric = accuracy_score if clf else root_mean_squared_error
    score = float(metric(data.y_test, pred))
    warned = int(len(caught) > len(others))
    result = dict(
        score=score, fit_s=fit_s, predict_s=predict_s, convergence_warnings=warned
    )
    if hasattr(est, "n_iter_"):  # skgru: epochs run, and the training score
        result["epochs"] = int(est.n_iter_)
        result["train_score"] = float(metric(data.y_train, est.predict(train)))
    return result


def run_dataset(
    data: Dataset, methods: list[str], seeds: list[int], extra: dict
) -> Iterator[dict]:
    """Every applicable method on one data set; yields one result per fit."""
    target = max(lengths(data.X_train))
    train, test = equal_length(data.X_train, target), equal_length(data.X_test, target)
    inputs = {
        "skgru": (to_skgru(data.X_train), to_skgru(data.X_test)),
        "flat": (train.reshape(len(train), -1), test.reshape(len(test), -1)),
        "aeon": (train, test),
    }
    for method in filter(lambda m: applies(m, data.task), methods):
        label, _, deterministic = METHODS[method]
        kind = {"skgru": "skgru", "minirocket": "aeon"}.get(method, "flat")
        for seed in seeds[:1] if deterministic else seeds:
            est = make_estimator(method, data.task, seed, extra)
            seed = None if deterministic else seed
            result = dict(set=data.name, method=label, seed=seed)
            result.update(evaluate(est, data, *inputs[kind]))
            print(
                f"{data.name} {label} seed={seed}: score {result['score']:.4f}, "
                f"fit {result['fit_s']:.2f}s, predict {result['predict_s']:.2f}s"
                + (
                    f", {result['epochs']} epochs, train score "
                    f"{result['train_score']:.4f}"
                    if "epochs" in result
                    else ""
                ),
                flush=True,
            )
            yield result


def describe(data: Dataset) -> dict:
    """The data set's row-header facts for the summary table."""
    all_lengths = lengths(data.X_train) + lengths(data.X_test)
    low, high = min(all_lengths), max(all_lengths)
    equal = isinstance(data.X_train, np.ndarray) and isinstance(data.X_test, np.ndarray)
    return dict(
        set=data.name,
        task=data.task,
        sizes=f"{len(data.X_train)}/{len(data.X_test)}",
        length=str(high) if low == high else f"{low}–{high}",
        resampled=None if equal else max(lengths(data.X_train)),
        channels=data.X_train[0].shape[0],
        classes=len(np.unique(data.y_train)) if data.task == "classification" else "–",
    )


def scores_of(
    results: list[dict], name: str, label: str, key: str = "score"
) -> list[float]:
    """``key`` of every run of ``label`` on data set ``name``."""
    return [r[key] for r in results if r["set"] == name and r["method"] == label]


def mean_std(values: list[float]) -> str:
    """Mean ± sample std, or the single value."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def summary_row(info: dict, results: list[dict]) -> str:
    """One data set's row of the summary table."""
    name, clf = info["set"], info["task"] == "classification"
    runs = {m: scores_of(results, name, METHODS[m][0]) for m in METHODS}
    mean = {m: float(np.mean(v)) for m, v in runs.items() if v}
    fit = {m: np.mean(scores_of(results, name, METHODS[m][0], "fit_s")) for m in mean}
    simple = [m for m in SIMPLE[info["task"]] if m in mean]
    best = (max if clf else min)(simple, key=mean.get) if simple else None
    cells = [name, info["task"], info["sizes"], info["length"], info["channels"]]
    cells += [info["classes"], mean_std(runs["skgru"]) if "skgru" in mean else "–"]
    cells.append(f"{mean[best]:.4f} ({METHODS[best][0]})" if best else "–")
    cells.append(f"{mean['minirocket']:.4f}" if "minirocket" in mean else "–")
    if "skgru" in mean and best:
        wins = mean["skgru"] >= mean[best] if clf else mean["skgru"] <= mean[best]
        cells.append("yes" if wins else "no")
    else:
        cells.append("–")
    cells += [f"{fit[m]:.2f}" if m in fit else "–" for m in ("skgru", "rf")]
    both = {"skgru", "rf"} <= set(fit)
    cells.append(f"{fit['skgru'] / fit['rf']:.1f}" if both else "–")
    return "| " + " | ".join(map(str, cells)) + " |"


def header(args: argparse.Namespace, extra: dict) -> list[str]:
    """Command, date, machine, versions and parameters of this run."""
    lines = [
        *run_header("skgru accuracy benchmark", "accuracy.py", ("aeon",)),
        f"skgru parameters: {json.dumps(extra) if extra else 'defaults'} "
        f"(plus random_state=seed). Seeds: {' '.join(map(str, args.seeds))}.",
        "",
        "Scores: accuracy for classification (higher is better), RMSE for "
        "regression (lower is better); mean ± sample std over seeds. 1-NN, Ridge "
        "and the training mean (a constant prediction, shown for reference and "
        "not one of the baselines compared) are deterministic and run once. The "
        "baselines get flattened raw values (channels concatenated), MiniRocket "
        "the 3-D array; for them, variable-length series are linearly resampled "
        "to the length of the longest training series. skgru gets the series as "
        "they are. The first MiniRocket fit of a run may include numba's "
        "compilation.",
    ]
    if any(minirocket(t) is None for t in SIMPLE):
        lines += ["", "MiniRocket could not be imported from aeon: no MiniRocket."]
    return lines


def method_table(name: str, results: list[dict]) -> list[str]:
    """Every method's scores and times on one data set."""
    lines = ["| method | score | per seed | fit s | predict s |", "|---" * 5 + "|"]
    for label in dict.fromkeys(r["method"] for r in results if r["set"] == name):
        scores = scores_of(results, name, label)
        fit = np.mean(scores_of(results, name, label, "fit_s"))
        pred = np.mean(scores_of(results, name, label, "predict_s"))
        per_seed = ", ".join(f"{s:.4f}" for s in scores)
        lines.append(
            f"| {label} | {mean_std(scores)} | {per_seed} | {fit:.2f} | {pred:.2f} |"
        )
    warned = scores_of(results, name, "skgru", "convergence_warnings")
    if warned:
        count = f"{sum(warned)} of {len(warned)}"
        lines += ["", f"skgru fits with a ConvergenceWarning: {count}."]
    return lines


def render(head: list[str], infos: list[dict], results: list[dict]) -> str:
    """The whole Markdown report."""
    lines = [
        *head,
        "",
        "## Summary",
        "",
        "Best simple baseline: the better of 1-NN and RandomForest "
        "(classification) or of RandomForest and Ridge (regression), by mean. "
        "`skgru ≥ best`: skgru's mean accuracy ≥ it, or its mean RMSE ≤ it. "
        "Fit times: means over seeds, in seconds.",
        "",
        "| set | task | n train/test | length | channels | classes | skgru "
        "| best simple baseline | MiniRocket | skgru ≥ best | skgru fit s "
        "| RF fit s | skgru / RF fit |",
        "|---" * 13 + "|",
        *(summary_row(info, results) for info in infos),
    ]
    for info in infos:
        lines += ["", f"## {info['set']}", ""]
        if info["resampled"]:
            lines += [f"Resampled to length {info['resampled']} for the baselines.", ""]
        lines += method_table(info["set"], results)
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    output = HERE / "ACCURACY.md"
    return parser(__doc__, "sets", list(DATASETS), list(METHODS), output).parse_args()


def main() -> None:
    args = parse_args()
    extra = skgru_params(args)
    sets = args.sets or list(DATASETS)
    methods = args.methods or list(METHODS)
    for name in sets:  # fail before any fit if a file is missing
        data_file(DATASETS[name][0], name, "TRAIN")
    head = header(args, extra)
    infos, results = [], []
    for name in sets:
        data = load_dataset(name)
        infos.append(describe(data))
        results.extend(run_dataset(data, methods, args.seeds, extra))
        Path(args.output).write_text(render(head, infos, results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
