"""How the anomaly detector turns the network's errors into scores.

Pure numpy and torch, no scikit-learn. The rules, each chosen on
``benchmarks/anomaly.py`` (see ``benchmarks/ANOMALY.md``):

* **Units.** A row's error on each channel is measured in units of the larger
  of the window's own standard deviation and the training data's. A stretch
  that swings more than the training data (a growing season) is then judged
  against its own swing, while a calm stretch is judged against the training
  data's, so a small wobble in it is not blown up.
* **Channels.** Each channel's mean squared error is divided by its mean on
  the held-out samples, and a sample's error is the largest of these, so a
  channel that is hard to predict neither drowns an anomaly in an easy one
  nor raises an alarm at its usual error.
* **Smoothing.** In series layout a row's error is the larger of its own and
  the mean error of the row and the ``smoothing - 1`` rows before it (fewer
  at the start of a call): a short burst of middling errors adds up, while a
  spike keeps its own error and is flagged at its own row.
* **Warm-up.** The first rows of a call have less than a window of history;
  their errors are divided by how much larger the network's errors are, on
  the held-out rows, with that little history (``warmup_factors``).
"""

from __future__ import annotations

import numpy as np
import torch

from ._conformal import conformal_rank

# Errors are measured in units of max(window std, UNIT_FLOOR * training std).
UNIT_FLOOR = 1.0

# A channel's error scale is at least this share of the largest channel's, so
# a channel the network predicts perfectly on the held-out samples (a constant
# one) does not turn the rounding error of new data into an anomaly.
MIN_CHANNEL_SCALE = 1e-3

# contamination="auto": the split-conformal threshold of the held-out errors
# for a false-alarm rate of AUTO_ALARM_RATES[0] (it needs 99 held-out
# samples), else of the next rate (49 samples), capped at AUTO_THRESHOLD times
# the mean held-out error: a root-mean-square error three times theirs, the
# threshold when there are too few held-out samples for any rate. On a
# slowly drifting sine (tests/test_detector.py), the 2% threshold of 150
# held-out rows flagged 2-13% of the drifting rows, the 1% one under 1%.
AUTO_THRESHOLD = 9.0
AUTO_ALARM_RATES = (0.01, 0.02)

# Held-out rows whose errors are measured with every shorter history.
WARMUP_ROWS = 32


def channel_errors(diff: torch.Tensor, window_scale: torch.Tensor) -> torch.Tensor:
    """Mean squared error per channel, ``(batch, channels)``.

    ``diff`` is ``(batch, steps, channels)`` in globally standardised units and
    ``window_scale`` ``(batch, channels)`` the standard deviation of each
    sample's window in the same units.
    """
    scale = window_scale.clamp(min=UNIT_FLOOR)
    return ((diff / scale[:, None, :]) ** 2).mean(dim=1)


def channel_scale(per_channel: np.ndarray) -> np.ndarray:
    """Each channel's mean held-out error, floored (see MIN_CHANNEL_SCALE)."""
    level = per_channel.mean(axis=0)
    floor = max(MIN_CHANNEL_SCALE * level.max(), np.finfo(np.float32).tiny)
    return np.maximum(level, floor)


def smooth(errors: np.ndarray, span: int, rank: np.ndarray | None = None) -> np.ndarray:
    """Each row's error, or the mean of it and the ``span - 1`` errors before
    it (all there are, at the start) when that is larger.

    With ``rank`` (each row's place in its series, rows series by series),
    a row averages only rows of its own series.
    """
    total = errors.copy()
    count = np.ones(len(errors))
    for lag in range(1, min(span, len(errors))):
        same = 1.0 if rank is None else rank[lag:] >= lag
        total[lag:] += errors[:-lag] * same
        count[lag:] += same
    return np.maximum(errors, total / count)


def conformal_threshold(held_out: np.ndarray, rate: float) -> float | None:
    """The split-conformal threshold of the held-out errors for a false-alarm
    rate of ``rate``, or None when there are too few of them for that rate.

    A new error exchangeable with the ``n`` held-out ones exceeds their
    ``k``-th smallest, ``k = (n + 1)(1 - rate)`` rounded up, with chance at
    most ``rate``; no threshold guarantees it when ``k > n``.
    """
    rank = conformal_rank(len(held_out), 1 - rate)
    if rank > len(held_out):
        return None
    return float(np.partition(held_out, rank - 1)[rank - 1])


def auto_threshold(held_out: np.ndarray) -> float:
    """The ``"auto"`` threshold, in units of the mean held-out error, from the
    held-out samples' errors in those units (see AUTO_ALARM_RATES)."""
    for rate in AUTO_ALARM_RATES:
        threshold = conformal_threshold(held_out, rate)
        if threshold is not None:
            return min(AUTO_THRESHOLD, threshold)
    return AUTO_THRESHOLD


def rate_threshold(held_out: np.ndarray, rate: float) -> float:
    """The threshold of a float ``contamination`` with ``novelty=True``: the
    split-conformal one for ``rate``; with too few held-out errors for it,
    the largest of them, and at least the ``"auto"`` threshold."""
    threshold = conformal_threshold(held_out, rate)
    if threshold is not None:
        return threshold
    return max(float(held_out.max()), auto_threshold(held_out))


def warmup_rows(rows: np.ndarray, pad: int, window: int) -> torch.Tensor:
    """Row indices of the windows of ``rows`` with every shorter history.

    Returns ``(len(rows) * pad, window)``: for each row ``t`` and each history
    length ``h < pad``, the window ``predict`` reads for ``t`` in a call that
    starts ``h`` rows before ``t`` (rows before the call are the call's first
    row, as ``WindowDataset`` pads).
    """
    t = torch.as_tensor(rows, dtype=torch.long)[:, None, None]
    history = torch.arange(pad)[None, :, None]
    offsets = torch.arange(window)[None, None, :] - pad
    index = torch.maximum(t + offsets, t - history).clamp_(min=0)
    return index.reshape(-1, window)


def warmup_factors(errors: np.ndarray, full: np.ndarray) -> np.ndarray:
    """How much larger the error is with each short history than with a full one.

    ``errors`` is ``(rows, pad)``: the errors of held-out rows with ``h`` rows
    of history; ``full`` their errors with a whole window. The factor of ``h``
    is at least 1 and never below that of a longer history.
    """
    ratio = errors.mean(axis=0) / max(float(full.mean()), np.finfo(float).tiny)
    ratio = np.maximum(ratio, 1.0)
    return np.maximum.accumulate(ratio[::-1])[::-1].copy()
