"""Splitters for panels: many series, each split at the same relative time."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import indexable

from ._validation import panel_ids

__all__ = ["PanelTimeSeriesSplit"]


class PanelTimeSeriesSplit(BaseCrossValidator):
    """Time-series cross-validation of a panel: every series split at once.

    ``X`` holds several series (a panel) in long format: ``groups`` gives each
    row's series (or the first level of a DataFrame's (id, time) MultiIndex
    does), and the rows of each series are in time order (series may be
    interleaved, e.g. sorted by time). Like
    :class:`~sklearn.model_selection.TimeSeriesSplit`, each series is cut into
    ``n_splits + 1`` consecutive parts of equal length (rounded down), here
    measured in its own rows, so series of different lengths are all split at
    the same share of their history. Fold ``k`` (from 1) tests on part
    ``k + 1`` of every series and trains on the parts before it, less the
    ``gap`` rows just before the test rows: no fold trains on the future of
    any series. A series too short to have a row in a fold's test part
    takes no part in that fold.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2.
    gap : int, default=0
        Rows of each series left out between its training and test rows, e.g.
        the forecast horizon, so that no training target overlaps a test
        window.

    See Also
    --------
    sklearn.model_selection.TimeSeriesSplit : The same splits of one series.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru.model_selection import PanelTimeSeriesSplit
    >>> groups = np.array(["a"] * 6 + ["b"] * 3)  # two series, 6 and 3 rows
    >>> X = np.arange(9)[:, None]
    >>> for train, test in PanelTimeSeriesSplit(n_splits=2).split(X, groups=groups):
    ...     print(train.tolist(), test.tolist())
    [0, 1, 6] [2, 3, 7]
    [0, 1, 2, 3, 6, 7] [4, 5, 8]
    """

    __metadata_request__split = {"groups": True}

    def __init__(self, n_splits=5, *, gap=0):
        self.n_splits = n_splits
        self.gap = gap

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored; present for API consistency.

        Returns
        -------
        n_splits : int
            The number of folds.
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Row indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            The panel, one row per time step of a series.
        y : array-like of shape (n_rows,), default=None
            Ignored; present for API consistency.
        groups : array-like of shape (n_rows,), default=None
            The series of each row. Required, unless ``X`` is a DataFrame with
            an (id, time) MultiIndex, whose first level gives them.

        Yields
        ------
        train : ndarray
            The training rows of the fold, in the order of ``X``.
        test : ndarray
            The test rows of the fold, in the order of ``X``.
        """
        for name, low in (("n_splits", 2), ("gap", 0)):
            value = getattr(self, name)
            is_int = isinstance(value, Integral) and not isinstance(value, bool)
            if not is_int or value < low:
                raise ValueError(
                    f"{name} must be an int of at least {low}, got {value!r}."
                )
        # one id per row, ids of one type and none missing, as the estimators
        # check them; a DataFrame with an (id, time) MultiIndex gives its own
        groups = panel_ids(X, groups)
        if groups is None:
            raise ValueError(
                "PanelTimeSeriesSplit needs groups, the series of each row of X: "
                "pass split(X, groups=...), or groups=... to cross_validate "
                "and GridSearchCV.fit, or X as a DataFrame with an (id, time) "
                "MultiIndex."
            )
        X, y, groups = indexable(X, y, groups)
        # the rank of each row in its series, and its series' length
        _, series, lengths = np.unique(groups, return_inverse=True, return_counts=True)
        order = np.argsort(series, kind="stable")
        rank = np.empty(len(groups), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rank[order] = np.arange(len(groups)) - np.repeat(starts, lengths)
        length = lengths[series]
        parts = self.n_splits + 1
        for k in range(1, parts):
            start = (k * length) // parts  # the first test row of each series
            end = ((k + 1) * length) // parts
            test = np.flatnonzero((rank >= start) & (rank < end))
            train = np.flatnonzero((rank < start - self.gap) & (end > start))
            if len(test) == 0 or len(train) == 0:
                raise ValueError(
                    f"Fold {k} of n_splits={self.n_splits} (gap={self.gap}) has no "
                    f"{'test' if len(test) == 0 else 'training'} rows: the longest "
                    f"series has {lengths.max()} rows. Lower n_splits or gap."
                )
            yield train, test
