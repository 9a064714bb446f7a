"""GRURegressor's forecasts and prediction intervals, as a mixin.

``ForecastMixin`` holds the regressor's methods that go beyond one
prediction per sample: recursive multi-step forecasts (the pure steps are in
``_forecast``) and split conformal prediction intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._forecast import (
    check_steps,
    conformal_half_widths,
    last_windows,
    recursive_forecast,
)
from ._forecast import dataset as forecast_dataset
from ._series_scaling import standardise
from ._validation import Layout, check_float32_range, panel_ids


class ForecastMixin:
    """Forecasts and intervals of a fitted GRURegressor (see its methods)."""

    def calibrate(self, X, y, groups=None, steps=None):
        """Measure the errors of :meth:`predict` on data the network did not fit.

        Split conformal calibration for :meth:`predict_interval`: pass rows
        (or sequences) that ``fit`` did not see, e.g. the rows after the
        training rows. It keeps the absolute errors per output, and replaces
        those of an earlier call; ``fit`` forgets them.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``; in series layout, include the
            ``window_size - 1`` rows before the first calibration row, so its
            window is whole, and drop their targets (see ``y``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The true targets of ``X``'s samples; in series layout, rows whose
            target is NaN (the history rows) are left out.
        {groups}
        steps : int, default=None
            Also measure the errors of :meth:`forecast` up to ``steps``
            ahead, for its intervals: from every row ``t`` of ``X`` whose
            targets ``y[t], ..., y[t + steps - 1]`` are known, a forecast
            from the rows up to ``t`` (the other channels of the rows after
            ``t`` from ``X``) against those targets, within each series of
            ``groups``; the errors of all series are pooled. Needs a 1-D
            ``y`` and ``target_channel``.

        Returns
        -------
        self : GRURegressor
            The calibrated estimator.
        """
        check_is_fitted(self)
        y = np.asarray(y, dtype=np.float64)
        pred = self.predict(X, groups=groups)
        if y.shape != pred.shape:
            raise ValueError(
                f"y has shape {y.shape}, but predict(X) gives {pred.shape}: pass "
                "one target per sample of X."
            )
        errors = np.abs(y - pred).reshape(len(y), -1)
        errors = errors[~np.isnan(errors).any(axis=1)]
        if len(errors) == 0:
            raise ValueError("y has no target that is not NaN: nothing to calibrate.")
        forecast_errors = None
        if steps is not None:
            forecast_errors = self._forecast_errors(X, y, check_steps(steps), groups)
        self._residuals = np.sort(errors, axis=0)
        if forecast_errors is not None:
            self._forecast_residuals = forecast_errors
        return self

    def _forecast_errors(self, X, y: np.ndarray, steps: int, groups) -> np.ndarray:
        """Sorted absolute errors of ``steps``-step forecasts from the rows of
        ``X`` with known targets, ``(n_origins, steps)``."""
        if self._fitted_window is None or self.target_channel is None:
            raise ValueError(
                "calibrate(steps=...) measures forecast errors, so it needs a "
                "GRURegressor fitted in series layout with target_channel set."
            )
        if y.ndim != 1:
            raise ValueError(
                "calibrate(steps=...) needs a 1-D y: the next value of each row."
            )
        layout = self._predict_layout(X, groups)
        x, window = layout.x, layout.window
        # rows series by series: ``order[p]`` is the p-th, ``first[p]`` the
        # place of its series' first row, ``left[p]`` the rows after it there
        if layout.groups is None:
            order = np.arange(len(x))
            first = np.zeros(len(x), dtype=np.int64)
            left = len(x) - 1 - order
        else:
            index = layout.groups
            order = index.order.numpy()
            first = index.first.numpy()[order]
            left = (index.length - 1 - index.rank)[order]
        ahead = np.arange(steps)
        # an origin needs its next ``steps`` targets known, in its series
        # (and the rows that carry the other channels' future)
        unknown = np.r_[0, np.cumsum(np.isnan(y[order]))]
        end = np.minimum(np.arange(len(x)) + steps, len(x))
        fits = left >= steps - 1 + (layout.n_channels > 1)
        origins = np.flatnonzero(fits & (unknown[end] == unknown[: len(x)]))
        if len(origins) == 0:
            raise ValueError(
                f"No row of X has {steps} known targets after it in its "
                "series: calibrate on more rows or fewer steps."
            )
        start = origins[:, None] - window + 1 + np.arange(window)
        history = order[np.maximum(start, first[origins, None])]
        windows = x[history].astype(np.float32)
        future = None
        if layout.n_channels > 1:
            future = x[order[origins[:, None] + 1 + ahead]].astype(np.float32)
        channel = self._target_channel_index(layout)
        predict = self._predict_windows
        values = recursive_forecast(predict, windows, steps, channel, future)
        values = self._unscale_series(values, layout, order[origins])
        targets = y[order[origins[:, None] + ahead]]
        return np.sort(np.abs(targets - values), axis=0)

    def _predict_windows(self, windows: torch.Tensor) -> np.ndarray:
        """``predict`` of a batch of whole windows ``(n, window_size, f)``."""
        return self._answer("predict", self._forward(forecast_dataset(windows)))

    def predict_interval(self, X, coverage=0.9, groups=None):
        """Prediction intervals from the errors measured by :meth:`calibrate`.

        Split conformal: the half-width is the ``ceil((n + 1) * coverage)``-th
        smallest of the ``n`` absolute calibration errors (per output). If
        the calibration errors and the new ones are exchangeable (the same
        kind of data, in no particular order), the interval holds the true
        value with probability at least ``coverage``. Time series drift
        breaks that assumption: calibrate on the rows nearest to the new ones.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        coverage : float in (0, 1), default=0.9
            The share of true values the intervals should hold.
        {groups}

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            Lower and upper bounds, around :meth:`predict`.
        """
        check_is_fitted(self)
        residuals = getattr(self, "_residuals", None)
        if residuals is None:
            raise ValueError(
                "predict_interval needs calibration errors: call "
                "calibrate(X_cal, y_cal) first, with data the network did not "
                "fit (e.g. the rows after the training rows)."
            )
        half = conformal_half_widths(residuals, coverage)
        pred = self.predict(X, groups=groups)
        centre = pred.reshape(len(pred), -1)
        bounds = np.stack([centre - half, centre + half], axis=-1)
        return bounds[:, 0] if self._y_ndim == 1 else bounds

    def forecast(self, X, steps, *, groups=None, X_future=None, coverage=None):
        """The next ``steps`` values of the target after the history ``X``.

        Each step predicts from the last ``window_size`` rows, as
        :meth:`predict` does for the last row of ``X``, and feeds the
        prediction back as the ``target_channel`` of a new row; the other
        channels of the new rows come from ``X_future``. With a multi-output
        ``y`` fitted as the next ``n_outputs`` values, each step adds that
        many rows. Only the last ``window_size`` rows of each series are
        read, so a forecast costs O(steps), whatever the history.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_rows, n_features)
            The history, in series layout, the last row the latest.
        steps : int
            Values to forecast, at least 1.
        {groups}
        X_future : array-like or DataFrame of shape (steps, n_features), default=None
            The known future of the other channels (calendar, set-points),
            one row per step; its ``target_channel`` column is ignored.
            Required when ``X`` has channels besides the target; not
            supported with several series yet.
        coverage : float in (0, 1), default=None
            Also give split conformal intervals per step, from the forecast
            errors that ``calibrate(X_cal, y_cal, steps=...)`` measured
            (at least ``steps`` ahead): each holds the true value with
            probability at least ``coverage`` if the forecast errors of the
            new data are exchangeable with the calibration ones.

        Returns
        -------
        forecast : ndarray of shape (steps,), Series or DataFrame
            The forecast values. When ``X`` is a DataFrame whose DatetimeIndex
            has a frequency (set, or inferred from its timestamps), a Series
            indexed by the coming timestamps. With several series, a
            DataFrame with one row per series (indexed by its id) and one
            column per step. With ``coverage``, a DataFrame with the columns
            ``forecast``, ``lower`` and ``upper``, one row per step (indexed
            by the coming timestamps, or the step from 1), or per series and
            step.
        """
        check_is_fitted(self)
        steps = check_steps(steps)
        if self._fitted_window is None or self.target_channel is None:
            raise ValueError(
                "forecast feeds each prediction back as the next row's "
                "target_channel, so it needs a GRURegressor fitted in series "
                "layout (window_size set) with target_channel set."
            )
        layout = self._predict_layout(X, groups)
        channel = self._target_channel_index(layout)
        future = self._future(X_future, steps, layout)
        if future is not None and layout.series_stats is not None:
            mean, std, _ = layout.series_stats  # one series: X_future's
            future = standardise(future, mean, std, np.zeros(steps, np.intp))
        windows, firsts = last_windows(layout.x, layout.window, layout.groups)
        predict = self._predict_windows
        values = recursive_forecast(predict, windows, steps, channel, future)
        values = self._unscale_series(values, layout, np.array(firsts))
        if coverage is not None:
            return self._with_intervals(X, groups, layout, firsts, values, coverage)
        if layout.groups is None:
            index = _future_index(X, steps)
            if index is None:
                return values[0]
            return pd.Series(values[0], index=index, name="forecast")
        ids = panel_ids(X, groups)[firsts]
        return pd.DataFrame(
            values,
            index=pd.Index(ids, name="series"),
            columns=pd.RangeIndex(1, steps + 1, name="step"),
        )

    def _with_intervals(self, X, groups, layout, firsts, values, coverage):
        """``forecast``'s DataFrame of values and conformal bounds per step."""
        residuals = getattr(self, "_forecast_residuals", None)
        steps = values.shape[1]
        if residuals is None or residuals.shape[1] < steps:
            calibrated = 0 if residuals is None else residuals.shape[1]
            raise ValueError(
                f"forecast(coverage=...) needs the forecast errors up to {steps} "
                f"steps ahead, but calibrate measured {calibrated}: call "
                f"calibrate(X_cal, y_cal, steps={steps}) with data the network "
                "did not fit."
            )
        half = conformal_half_widths(residuals[:, :steps], coverage)
        if layout.groups is None:
            index = _future_index(X, steps)
            if index is None:
                index = pd.RangeIndex(1, steps + 1, name="step")
        else:
            ids = panel_ids(X, groups)[firsts]
            index = pd.MultiIndex.from_product(
                [ids, range(1, steps + 1)], names=["series", "step"]
            )
        flat = values.ravel()
        bounds = np.tile(half, len(values))
        return pd.DataFrame(
            {"forecast": flat, "lower": flat - bounds, "upper": flat + bounds},
            index=index,
        )

    def _future(self, X_future, steps: int, layout: Layout) -> np.ndarray | None:
        """``X_future`` checked: ``(steps, n_features)`` float32, or None."""
        n_channels = layout.n_channels
        if X_future is None:
            if n_channels > 1:
                raise ValueError(
                    f"X has {n_channels} channels: forecast needs X_future, the "
                    f"known future of the channels besides the target, {steps} "
                    f"rows of {n_channels} columns."
                )
            return None
        if layout.groups is not None:
            raise ValueError(
                "X_future with several series (groups) is not supported yet: "
                "forecast each series on its own."
            )
        names = getattr(self, "feature_names_in_", None)
        columns = getattr(X_future, "columns", None)
        if names is not None and columns is not None and list(columns) != list(names):
            raise ValueError(
                f"X_future has columns {list(columns)}, but X had "
                f"{list(names)}: pass the same columns in the same order."
            )
        future = check_array(X_future, dtype=np.float64, input_name="X_future")
        if future.shape[1] != n_channels or len(future) < steps:
            raise ValueError(
                f"X_future has shape {future.shape}, but forecasting {steps} "
                f"steps of a series of {n_channels} channels needs at least "
                f"({steps}, {n_channels})."
            )
        check_float32_range(future, "X_future")
        return future[:steps].astype(np.float32)


def _future_index(X, steps: int) -> pd.DatetimeIndex | None:
    """The ``steps`` timestamps after ``X``'s DatetimeIndex, when it has a
    frequency (set, or inferred from three or more timestamps)."""
    index = getattr(X, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
        return None
    freq = index.freq
    if freq is None and len(index) >= 3:
        freq = pd.infer_freq(index)
    if freq is None:
        return None
    return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
