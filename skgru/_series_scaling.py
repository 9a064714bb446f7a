"""Per-series standardisation of a panel (``scaling="per_series"``).

Pure numpy. Each series (one id per row, ``groups``) gets its own mean and
standard deviation per column, measured on the rows ``fit`` saw; a series
that ``fit`` did not see is standardised by the statistics of the rows it
comes with. A fitted table is a plain tuple ``(ids, mean, std)`` (sorted
ids, ``(n_series, n_columns)`` float64 statistics), so that it saves safely.
Statistics and the standardised float32 copy are computed chunk by chunk, in
a fixed number of passes whatever the number of series.
"""

from __future__ import annotations

import numpy as np

from ._stats import STATS_CHUNK_ROWS

Table = tuple[np.ndarray, np.ndarray, np.ndarray]


def measure(values: np.ndarray, groups: np.ndarray) -> Table:
    """``(ids, mean, std)`` of every column of each series of ``values``."""
    ids, series = np.unique(groups, return_inverse=True)
    mean, std = _stats(values, series.ravel(), len(ids))
    return ids, mean, std


def row_stats(
    table: Table, values: np.ndarray, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, std, series)``: the statistics ``(n_here, k)`` of the series
    of ``groups`` (sorted ids) and each row's series in them ``(n,)``.

    A fitted id takes its fitted statistics; an id ``fit`` did not see, or
    the one series of ``groups=None``, those of its rows in ``values``.
    """
    fitted_ids, fitted_mean, fitted_std = table
    if groups is None:
        ids, series = None, np.zeros(len(values), dtype=np.intp)
        known = np.zeros(1, bool)
    else:
        ids, series = np.unique(groups, return_inverse=True)
        series = series.ravel()
        known = np.isin(ids, fitted_ids)
    if known.all():
        where = np.searchsorted(fitted_ids, ids)
        return fitted_mean[where], fitted_std[where], series
    mean, std = _stats(values, series, len(known))  # the new series' own
    if known.any():
        where = np.searchsorted(fitted_ids, ids[known])
        mean[known] = fitted_mean[where]
        std[known] = fitted_std[where]
    return mean, std, series


def standardise(
    values: np.ndarray, mean: np.ndarray, std: np.ndarray, series: np.ndarray
) -> np.ndarray:
    """``(values - mean[series]) / std[series]`` as float32, chunk by chunk."""
    out = np.empty(values.shape, np.float32)
    for i in range(0, len(values), STATS_CHUNK_ROWS):
        part = slice(i, i + STATS_CHUNK_ROWS)
        out[part] = (values[part] - mean[series[part]]) / std[series[part]]
    return out


def _stats(
    values: np.ndarray, series: np.ndarray, n_series: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``(n_series, k)`` of each series' rows, in
    float64 (two passes: the mean, then the squared deviations from it); a
    constant column gets a standard deviation of 1, as ``column_stats``."""
    values = values.reshape(len(values), -1)
    k = values.shape[1]
    counts = np.bincount(series, minlength=n_series).astype(np.float64)[:, None]
    total = np.zeros((n_series, k))
    squares = np.zeros((n_series, k))
    chunks = range(0, len(values), STATS_CHUNK_ROWS)
    for i in chunks:
        part = slice(i, i + STATS_CHUNK_ROWS)
        for j in range(k):
            total[:, j] += np.bincount(
                series[part], weights=values[part, j], minlength=n_series
            )
    mean = total / np.maximum(counts, 1)
    for i in chunks:
        part = slice(i, i + STATS_CHUNK_ROWS)
        deviations = (values[part] - mean[series[part]]) ** 2
        for j in range(k):
            squares[:, j] += np.bincount(
                series[part], weights=deviations[:, j], minlength=n_series
            )
    std = np.sqrt(squares / np.maximum(counts, 1))
    std[~(std > 1e-12)] = 1.0
    return mean, std
