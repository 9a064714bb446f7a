"""Markdown report of the anomaly benchmark.

``render`` turns the per-seed results of ``anomaly.py`` (one dict per fit)
and the series' facts (``describe``) into ``ANOMALY.md``: the ``header``
(command, date, machine, versions, parameters, protocol and columns), a
summary table comparing skgru's mean ROC-AUC and false alarms with the best
baseline's on every series (``summary_row``, against ``RATIO_LIMIT`` and
``FLAGGED_LIMIT``), then per series a table of every method's means over
seeds (``method_table``) and notes (``series_notes``). ``METHODS`` maps each
method's command-line name to its label in the report.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _cli import run_header

METHODS = {  # CLI name -> label in the report
    "skgru": "skgru",
    "skgru_c01": "skgru, contamination=0.01",
    "zscore": "rolling z-score",
    "iforest": "IsolationForest",
    "ridge_ar": "Ridge AR",
}
BASELINES = ("zscore", "iforest", "ridge_ar")
FLAGGED_LIMIT = 0.05  # the share of clean test rows skgru may flag ("auto")
FLOAT_CONTAMINATION = 0.01  # skgru_c01's contamination
FLOAT_FACTOR = 3  # ... and the share it may flag: at most 3 times as much
RATIO_LIMIT = 0.8  # the lowest skgru / best baseline ROC-AUC ratio allowed


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
    at_rate = values(results, name, METHODS["skgru_c01"], "clean_flagged")
    if at_rate:
        low = np.mean(at_rate) <= FLOAT_FACTOR * FLOAT_CONTAMINATION
        cells += [f"{np.mean(at_rate):.1%}", "yes" if low else "no"]
    else:
        cells += ["–", "–"]
    return "| " + " | ".join(map(str, cells)) + " |", ratio


def header(args: argparse.Namespace, extra: dict) -> list[str]:
    """Command, date, machine, versions, parameters and the protocol."""
    return [
        *run_header("skgru anomaly detection benchmark", "anomaly.py", ("sktime",)),
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
        f"At contamination={FLOAT_CONTAMINATION}: skgru's false alarms (clean) "
        f"with that float `contamination` (the same network, the threshold "
        "set for that rate on the held-out rows); "
        f"`≤ {FLOAT_FACTOR * FLOAT_CONTAMINATION:.0%}`: whether it is at most "
        f"{FLOAT_FACTOR} times the rate. "
        "gap: the least rows between two events (the window, unless the test "
        "part is too short). anomalous: the share of labelled test rows.",
        "",
        "| series | rows | channels | window | train/test | gap | anomalous "
        "| skgru ROC-AUC | best baseline | skgru / best | skgru ≥ best "
        "| skgru false alarms (clean) | ≤ 5% | skgru normal flagged (injected) "
        f"| at contamination={FLOAT_CONTAMINATION} "
        f"| ≤ {FLOAT_FACTOR * FLOAT_CONTAMINATION:.0%} |",
        "|---" * 16 + "|",
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
