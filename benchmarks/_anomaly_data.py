"""Data of the anomaly benchmark: the five series and the injected events.

``load_series`` reads one of the ``SERIES`` (from skgru's datasets or the CSV
files that ship inside the sktime package, found by ``sktime_file``) as an
(n_rows, n_channels) float array with its window, and ``split`` cuts it into
the training and test halves. ``inject_events`` places one event of each of
the ``KINDS`` (``Anomaly``) in a copy of the test part with a generator seeded
by ``(seed, crc32(series name))``, sized on the training part, and returns
the row labels; ``describe`` gives a series' facts for the report. The
protocol itself is documented in ``anomaly.py``'s docstring.
"""

from __future__ import annotations

import importlib.util
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skgru.datasets import load_airline, load_basic_motions

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
KINDS = ("spike", "level_shift", "noise_burst", "frequency")
SPIKE_SIZE = 6.0  # × std of the channel's first differences (training part)
SHIFT_SIZE = 3.0  # × channel std (training part)
NOISE_SIZE = 1.5  # × channel std (training part)


@dataclass
class Anomaly:
    """One injected event: rows ``start .. start + length - 1`` of the test part."""

    kind: str
    start: int
    length: int
    channel: int
    sign: int
    changed: int = 0  # labelled rows whose value the injection changed


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


# ----------------------------------------------------------------- facts
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
