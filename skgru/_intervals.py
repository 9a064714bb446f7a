"""GRURegressor's prediction intervals and quantiles, as a mixin.

``IntervalMixin`` measures the errors of a fitted GRURegressor on data its
network did not fit (``calibrate``) and turns them into split conformal
intervals: around ``predict`` (``predict_interval``), per forecast step (used
by ``forecast(coverage=...)``), or around the quantiles of
``loss="quantile"`` (conformalised quantile regression, CQR; Romano, Patterson
and Candes, 2019).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._forecast import (
    check_coverage,
    check_steps,
    conformal_half_widths,
    recursive_forecast,
)
from ._quantiles import conformal_bounds, conformity_scores, interval_levels
from ._validation import Layout

# what calibrate measures of one fitted network (fit and partial_fit drop it)
CALIBRATION_ATTRIBUTES = ("_residuals", "_forecast_residuals", "_quantile_calibration")


class IntervalMixin:
    """Calibration, intervals and quantiles of a fitted GRURegressor."""

    def calibrate(self, X, y, groups=None, steps=None):
        """Measure the errors of :meth:`predict` on data the network did not fit.

        Split conformal calibration for :meth:`predict_interval`: pass rows
        (or sequences) that ``fit`` did not see, e.g. the rows after the
        training rows. It keeps the absolute errors per output, and replaces
        those of an earlier call; ``fit`` forgets them. Under per-series
        scaling (``scaling``) an error counts in units of its series' scale
        (its standard deviation), so that every series' intervals scale with
        it, and small series are not given the widths of large ones.

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
        layout = self._predict_layout(X, groups)
        outputs = self._forward(self._dataset(layout, None))
        pred = self._predict_from(layout, outputs=outputs)
        if y.shape != pred.shape:
            raise ValueError(
                f"y has shape {y.shape}, but predict(X) gives {pred.shape}: pass "
                "one target per sample of X."
            )
        scale = self._row_scale(layout, len(y))
        y2 = y.reshape(len(y), -1) / scale
        known = ~np.isnan(y2).any(axis=1)
        if not known.any():
            raise ValueError("y has no target that is not NaN: nothing to calibrate.")
        errors = np.abs(y2 - pred.reshape(len(y), -1) / scale)[known]
        forecast_errors = quantile_calibration = None
        if steps is not None:
            forecast_errors = self._forecast_errors(layout, y, check_steps(steps))
        if self.loss == "quantile":
            levels = self._predict_from(layout, "predict_quantiles", outputs)
            levels = levels.reshape(len(y), -1, len(self._levels)) / scale[..., None]
            quantile_calibration = (levels[known], y2[known])
        self._residuals = np.sort(errors, axis=0)
        if forecast_errors is not None:
            self._forecast_residuals = forecast_errors
        if quantile_calibration is not None:
            self._quantile_calibration = quantile_calibration
        return self

    def _forecast_errors(self, layout: Layout, y: np.ndarray, steps: int) -> np.ndarray:
        """Sorted absolute errors of ``steps``-step forecasts from the rows of
        ``layout`` with known targets, ``(n_origins, steps)``, in units of the
        series' scale under per-series scaling."""
        if self._fitted_window is None or self.target_channel is None:
            raise ValueError(
                "calibrate(steps=...) measures forecast errors, so it needs a "
                "GRURegressor fitted in series layout with target_channel set."
            )
        if y.ndim != 1:
            raise ValueError(
                "calibrate(steps=...) needs a 1-D y: the next value of each row."
            )
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
        scale = self._row_scale(layout, len(x))[order[origins]]
        return np.sort(np.abs(targets - values) / scale, axis=0)

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
        coverage = check_coverage(coverage)
        layout = self._predict_layout(X, groups)
        if self.loss == "quantile":
            lower, upper = self._quantile_interval(layout, coverage)
        else:
            residuals = getattr(self, "_residuals", None)
            if residuals is None:
                raise ValueError(
                    "predict_interval needs calibration errors: call "
                    "calibrate(X_cal, y_cal) first, with data the network did "
                    "not fit (e.g. the rows after the training rows)."
                )
            pred = self._predict_from(layout)
            centre = pred.reshape(len(pred), -1)
            half = conformal_half_widths(residuals, coverage)
            half = half * self._row_scale(layout, len(pred))
            lower, upper = centre - half, centre + half
        bounds = np.stack([lower, upper], axis=-1)
        return bounds[:, 0] if self._y_ndim == 1 else bounds

    def _quantile_interval(self, layout: Layout, coverage: float):
        """``loss="quantile"``: the fitted quantiles at ``(1 -+ coverage) / 2``,
        conformalised (CQR) when ``calibrate`` measured their scores."""
        low, high = interval_levels(self._levels, coverage)
        levels = self._predict_from(layout, "predict_quantiles")
        levels = levels.reshape(len(levels), -1, len(self._levels))
        half = None
        calibration = getattr(self, "_quantile_calibration", None)
        if calibration is not None:
            cal, cal_y = calibration
            scores = conformity_scores(cal[..., low], cal[..., high], cal_y)
            half = conformal_half_widths(scores, coverage)
            half = half * self._row_scale(layout, len(levels))
        return conformal_bounds(levels[..., low], levels[..., high], half)

    def predict_quantiles(self, X, groups=None):
        """The quantiles of the target that ``loss="quantile"`` trained for.

        One network gives every level of ``quantiles``; the levels of each
        prediction are sorted, so they never cross. They are the network's
        estimates, without a coverage guarantee; :meth:`predict_interval`
        conformalises them after :meth:`calibrate`.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        quantiles : ndarray of shape (n_samples, n_quantiles) or \
                (n_samples, n_outputs, n_quantiles)
            The levels of ``quantiles`` in increasing order, float64.
        """
        check_is_fitted(self)
        if self.loss != "quantile":
            raise ValueError(
                "predict_quantiles needs a GRURegressor fitted with "
                "loss='quantile' (and the levels in quantiles=...); this one "
                f"was fitted with loss={self.loss!r}."
            )
        return self._predict_from(self._predict_layout(X, groups), "predict_quantiles")

    def _row_scale(self, layout: Layout, n: int) -> np.ndarray:
        """The unit of each row's calibration errors ``(n, n_outputs)`` or 1:
        its series' target scale under per-series scaling."""
        if layout.series_stats is None:
            return np.ones((n, 1))
        return self._series_y_stats(layout)[1]
