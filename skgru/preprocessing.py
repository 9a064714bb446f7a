"""Windowing transformers: a series becomes one window per row, no row dropped."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._columns import validate_numbers
from ._validation import FLOAT_DTYPES, _check_time_index
from ._windows import edge_pad, sliding_windows


class SlidingWindowTransformer(TransformerMixin, BaseEstimator):
    """Turn a series into the window of rows ending at each row.

    Row ``t`` of the output holds rows ``t-w+1 .. t`` of the input, oldest first,
    so the output has as many rows as the input and ``y`` stays aligned with
    it. The first ``w-1`` rows of a call see their missing history as copies
    of the call's first row (edge padding), the same rule the skgru estimators
    follow in series layout.

    Parameters
    ----------
    window_size : int, default=10
        Number of rows in each window, the current row included.
    flatten : bool, default=True
        ``True``: a 2-D output ``(n_timesteps, window_size * n_features)`` of
        named lag columns (``temp_lag_2, ..., temp_lag_0``) for any scikit-learn
        estimator, with ``set_output(transform="pandas")`` support.
        ``False``: 3-D windows ``(n_timesteps, window_size, n_features)`` for a
        skgru estimator in sequence layout, returned as a read-only strided
        view on one padded copy of the series (memory O(n * f)).

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit``, when ``X`` is a DataFrame with string names.

    See Also
    --------
    GRURegressor : Takes a series directly with ``window_size`` set.

    Examples
    --------
    >>> import pandas as pd
    >>> from skgru import SlidingWindowTransformer
    >>> X = pd.DataFrame({"temp": [20.0, 21.0, 23.0, 22.0]})
    >>> swt = SlidingWindowTransformer(window_size=3).set_output(transform="pandas")
    >>> swt.fit_transform(X)
       temp_lag_2  temp_lag_1  temp_lag_0
    0        20.0        20.0        20.0
    1        20.0        20.0        21.0
    2        20.0        21.0        23.0
    3        21.0        23.0        22.0
    """

    _parameter_constraints: dict = {
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "flatten": ["boolean"],
    }

    def __init__(self, window_size=10, flatten=True):
        self.window_size = window_size
        self.flatten = flatten

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate(self, X, reset: bool) -> np.ndarray:
        _check_time_index(X)
        X = validate_numbers(
            lambda: validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES), X
        )
        if len(X) < self.window_size:
            raise ValueError(
                f"X has {len(X)} sample(s) (rows), but window_size="
                f"{self.window_size} needs a series of at least "
                f"{self.window_size} rows. Pass a longer series or lower "
                "window_size."
            )
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number and names of the columns of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_timesteps, n_features)
            A series, rows in time order.
        y : None
            Ignored.

        Returns
        -------
        self : SlidingWindowTransformer
            The fitted transformer.
        """
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Return the window ending at every row of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_timesteps, n_features)
            A series, rows in time order.

        Returns
        -------
        windows : ndarray
            ``(n_timesteps, window_size * n_features)`` when ``flatten``,
            else a read-only view ``(n_timesteps, window_size, n_features)``.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        windows = sliding_windows(edge_pad(X, self.window_size - 1), self.window_size)
        if not self.flatten:
            return windows
        flat = windows.reshape(len(X), -1)
        # window_size=1 reshapes without a copy: never hand out a view of X
        return flat if flat.flags.writeable else flat.copy()

    def get_feature_names_out(self, input_features=None):
        """Names of the lag columns: ``<feature>_lag_<k>``, oldest lag first.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; by default ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        names : ndarray of str
            ``window_size * n_features`` names; lag 0 is the current row.
        """
        check_is_fitted(self)
        if not self.flatten:
            raise ValueError(
                "flatten=False gives 3-D windows, which have no column names; "
                "set flatten=True for named lag columns."
            )
        names = _check_feature_names_in(self, input_features)
        return np.array(
            [
                f"{name}_lag_{lag}"
                for lag in range(self.window_size - 1, -1, -1)
                for name in names
            ],
            dtype=object,
        )
