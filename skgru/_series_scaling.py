"""Per-series standardisation of a panel (``scaling="per_series"``).

Pure numpy. Each series (one id per row, ``groups``) gets its own mean and
standard deviation per column, measured on the rows ``fit`` saw; a series
that ``fit`` did not see is standardised by the statistics of the rows it
comes with. A fitted table is a plain tuple ``(ids, mean, std)`` (sorted
ids, ``(n_series, n_columns)`` float64 statistics), so that it saves safely.
"""

from __future__ import annotations

import numpy as np

from ._stats import STATS_CHUNK_ROWS, column_stats

Table = tuple[np.ndarray, np.ndarray, np.ndarray]


def measure(values: np.ndarray, groups: np.ndarray) -> Table:
    """``(ids, mean, std)`` of every column of each series of ``values``."""
    ids, inverse = np.unique(groups, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(ids)))[:-1]
    stats = [column_stats(values[rows]) for rows in np.split(order, bounds)]
    mean = np.array([m for m, _ in stats]).reshape(len(ids), -1)
    std = np.array([s for _, s in stats]).reshape(len(ids), -1)
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
    mean = np.empty((len(known), fitted_mean.shape[1]))
    std = np.empty_like(mean)
    if known.any():
        where = np.searchsorted(fitted_ids, ids[known])
        mean[known] = fitted_mean[where]
        std[known] = fitted_std[where]
    for k in np.flatnonzero(~known):
        mean[k], std[k] = column_stats(values[series == k])
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
