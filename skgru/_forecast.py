"""Recursive forecasts of a fitted GRURegressor: each prediction fed back.

Pure numpy and torch. The history of a series is its last ``window_size``
rows; each step predicts the next value(s) of the target channel from that
window, writes them into new rows (the other channels from ``X_future``) and
moves the window on, so a forecast costs O(steps), whatever the history.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import torch

from ._conformal import conformal_rank
from ._windows import GroupIndex


def check_steps(steps: object) -> int:
    """``steps`` as an int of at least 1, or a clear error."""
    if not isinstance(steps, Integral) or isinstance(steps, bool) or steps < 1:
        raise ValueError(
            f"steps must be an int of at least 1 (the values to forecast), got "
            f"{steps!r}."
        )
    return int(steps)


def last_windows(
    x: np.ndarray, window: int, groups: GroupIndex | None
) -> tuple[np.ndarray, list[int]]:
    """The last ``window`` rows of each series, ``(n_series, window, f)``
    float32, padded with the series' first row when it is shorter; and the
    first row of each series (to name them)."""
    runs = series_rows(len(x), groups)
    windows = np.empty((len(runs), window, x.shape[1]), np.float32)
    for k, rows in enumerate(runs):
        tail = rows[-window:]
        windows[k] = x[np.r_[np.repeat(tail[:1], window - len(tail)), tail]]
    return windows, [int(rows[0]) for rows in runs]


def series_rows(n: int, groups: GroupIndex | None) -> list[np.ndarray]:
    """The rows of each series, in time order, the series in sorted id order."""
    if groups is None:
        return [np.arange(n)]
    order = groups.order.numpy()
    starts = np.flatnonzero(groups.rank[order] == 0)
    return np.split(order, starts[1:])


def recursive_forecast(
    predict: Callable[[torch.Tensor], np.ndarray],
    windows: np.ndarray,
    steps: int,
    channel: int | list[int],
    future: np.ndarray | None,
) -> np.ndarray:
    """The next values after each window, fed back as they come.

    ``predict`` maps windows ``(n, window, f)`` to predictions. With one
    ``channel``: ``(n,)`` or ``(n, horizon)`` (its next ``horizon`` values),
    and the result is ``(n_series, steps)``. With a list of channels: one
    value per channel, each step one row, and the result is
    ``(n_series, steps, len(channel))``. ``future`` holds the other channels
    of the coming rows, ``(steps, f)`` for every series or
    ``(n_series, steps, f)``, or is None when every channel is predicted.
    """
    windows = windows.copy()
    n_series, window, n_channels = windows.shape
    several = isinstance(channel, list)
    out = np.empty((n_series, steps, len(channel)) if several else (n_series, steps))
    done = 0
    while done < steps:
        pred = np.asarray(predict(torch.from_numpy(windows)), dtype=np.float64)
        if several:  # one row of every fed channel
            pred = pred.reshape(n_series, 1, len(channel))
        else:  # the next values of one channel
            pred = pred.reshape(n_series, -1)[:, : steps - done, None]
        block = pred.shape[1]
        rows = np.zeros((n_series, block, n_channels), np.float32)
        if future is not None:
            rows[:] = future[..., done : done + block, :]
        rows[:, :, channel] = pred if several else pred[..., 0]
        windows = np.concatenate([windows, rows], axis=1)[:, -window:]
        out[:, done : done + block] = pred if several else pred[..., 0]
        done += block
    return out


def check_coverage(coverage: object) -> float:
    """``coverage`` as a float in (0, 1), or a clear error."""
    if isinstance(coverage, bool) or not isinstance(coverage, Real):
        raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
    return float(coverage)


def conformal_half_widths(residuals: np.ndarray, coverage: object) -> np.ndarray:
    """Split conformal half-widths: per column of the sorted conformity
    scores ``residuals`` ``(n, k)`` (absolute errors, or CQR's scores), the
    ``ceil((n + 1) * coverage)``-th smallest."""
    coverage = check_coverage(coverage)
    n = len(residuals)
    rank = conformal_rank(n, coverage)
    if rank > n:
        least = int(np.ceil(coverage / (1 - coverage)))
        raise ValueError(
            f"coverage={coverage} needs at least {least} calibration samples, "
            f"but calibrate saw {n}: calibrate on more data or lower coverage."
        )
    return residuals[rank - 1]
