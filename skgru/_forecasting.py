"""GRURegressor's multi-step forecasts, as a mixin.

``ForecastMixin`` holds ``forecast``: recursive forecasts of each series (the
pure steps are in ``_forecast``), with conformal intervals per step from the
errors ``calibrate`` measured (see ``_intervals``).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._columns import column_names_hint, non_numeric_columns
from ._forecast import (
    check_steps,
    conformal_half_widths,
    last_windows,
    recursive_forecast,
    series_rows,
)
from ._validation import Layout, check_float32_range
from ._windows import WindowDataset


class ForecastMixin:
    """Forecasts of a fitted GRURegressor (see ``forecast``)."""

    def _predict_windows(self, windows: torch.Tensor) -> np.ndarray:
        """``predict`` of a batch of whole windows ``(n, window_size, f)``."""
        return self._answer("predict", self._forward(WindowDataset(windows)))

    def forecast(
        self, X, steps, *, groups=None, X_future=None, coverage=None, channels=None
    ):
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
            Required when ``X`` has channels besides the target. With several
            series: a DataFrame with an (id, time) MultiIndex (each series'
            first ``steps`` rows are used), or an array of shape
            ``(n_series, steps, n_features)`` in sorted id order.
        coverage : float in (0, 1), default=None
            Also give split conformal intervals per step, from the forecast
            errors that ``calibrate(X_cal, y_cal, steps=...)`` measured
            (at least ``steps`` ahead): each holds the true value with
            probability at least ``coverage`` if the forecast errors of the
            new data are exchangeable with the calibration ones.
        channels : sequence of int or str, default=None
            The channels of ``X`` that the columns of ``y`` are the next
            values of, one per column (indices, or column names of a
            DataFrame ``X``): each step predicts every column and writes each
            into its channel of the new row, e.g. ``channels=[0, 1]`` for a
            model fitted on ``y = X[1:, :2]``. ``target_channel`` is then not
            needed; ``X_future`` gives the channels not listed. Not with
            ``coverage``.

        Returns
        -------
        forecast : ndarray of shape (steps,), Series or DataFrame
            The forecast values. When ``X`` is a DataFrame whose DatetimeIndex
            has a frequency (set, or inferred from its timestamps), a Series
            indexed by the coming timestamps. With several series, a
            DataFrame with one row per series (indexed by its id; the index
            is named as the id level of ``X``'s MultiIndex, else "series")
            and one column per step from 1. With ``coverage``, a DataFrame
            with the columns ``forecast``, ``lower`` and ``upper``, one row
            per step (indexed by the coming timestamps, or the step from 1),
            or per series and step (indexed by id and the coming timestamps
            of that series when ``X`` has an (id, time) MultiIndex whose
            times have a frequency, else by id and step). With ``channels``,
            an array of shape (steps, n_channels) for one series, or a
            DataFrame with one column per channel, indexed by the coming
            timestamps (dated ``X``) or by series and step.
        """
        check_is_fitted(self)
        steps = check_steps(steps)
        if channels is not None:
            return self._forecast_channels(
                X, steps, groups, X_future, coverage, channels
            )
        if self._fitted_window is None or self.target_channel is None:
            raise ValueError(
                "forecast feeds each prediction back as the next row's "
                "target_channel, so it needs a GRURegressor fitted in series "
                "layout (window_size set) with target_channel set."
            )
        layout = self._predict_layout(X, groups)
        channel = self._target_channel_index(layout)
        future = self._future(X_future, steps, layout, [channel])
        windows, firsts = last_windows(layout.x, layout.window, layout.groups)
        predict = self._predict_windows
        values = recursive_forecast(predict, windows, steps, channel, future)
        values = self._unscale_series(values, layout, np.array(firsts))
        if coverage is not None:
            return self._with_intervals(X, layout, firsts, values, coverage)
        if layout.groups is None:
            index = _future_index(X, steps)
            if index is None:
                return values[0]
            return pd.Series(values[0], index=index, name="forecast")
        ids = layout.series_ids[firsts]
        return pd.DataFrame(
            values,
            index=pd.Index(ids, name=_series_name(X)),
            columns=pd.RangeIndex(1, steps + 1, name="step"),
        )

    def _forecast_channels(self, X, steps, groups, X_future, coverage, channels):
        """``forecast`` with ``channels``: every output fed back into its own
        channel, one row per step."""
        if self._fitted_window is None:
            raise ValueError(
                "forecast feeds predictions back as the next rows, so it needs "
                "a GRURegressor fitted in series layout (window_size set)."
            )
        if coverage is not None:
            raise ValueError(
                "forecast(coverage=...) is for one target channel; with "
                "channels it is not supported: leave coverage out."
            )
        layout = self._predict_layout(X, groups)
        fed = self._channel_indices(channels, layout)
        future = self._future(X_future, steps, layout, fed)
        windows, firsts = last_windows(layout.x, layout.window, layout.groups)
        rows = np.array(firsts)
        to_channels, to_raw = self._channel_units(layout, rows, fed)

        def predict(batch: torch.Tensor) -> np.ndarray:
            return to_channels(self._predict_windows(batch))

        values = to_raw(recursive_forecast(predict, windows, steps, fed, future))
        names = getattr(self, "feature_names_in_", None)
        columns = [names[c] if names is not None else c for c in fed]
        if layout.groups is None:
            index = _future_index(X, steps)
            if index is None:
                return values[0]
            return pd.DataFrame(values[0], index=index, columns=columns)
        index = _panel_index(X, layout, firsts, steps)
        return pd.DataFrame(values.reshape(-1, len(fed)), index=index, columns=columns)

    def _channel_indices(self, channels, layout: Layout) -> list[int]:
        """``channels`` as distinct channel indices, one per column of ``y``."""
        names = list(getattr(self, "feature_names_in_", []))
        items = [channels] if isinstance(channels, (str, int)) else list(channels)
        fed = []
        for item in items:
            if isinstance(item, str) and item in names:
                fed.append(names.index(item))
            elif (
                isinstance(item, Integral)
                and not isinstance(item, bool)
                and 0 <= item < layout.n_channels
            ):
                fed.append(int(item))
            elif isinstance(item, str) and names:
                raise ValueError(
                    f"channels holds {item!r}, which is not a column of X: "
                    f"{column_names_hint(names, item)}"
                )
            else:
                raise ValueError(
                    f"channels holds {item!r}, which is not a channel of X: give "
                    f"indices from 0 to {layout.n_channels - 1}, or column names "
                    "of a DataFrame X."
                )
        n_outputs = len(self._y_mean)
        if len(set(fed)) != len(fed) or len(fed) != n_outputs:
            raise ValueError(
                f"channels must name {n_outputs} distinct channel(s), one per "
                f"column of the y the model was fitted on; got {channels!r}."
            )
        return fed

    def _channel_units(self, layout: Layout, rows: np.ndarray, fed: list[int]):
        """Maps of predictions to the fed channels' units in the network's
        input, and of those back to raw values, for the series starting at
        ``rows`` (identities under global scaling)."""
        if layout.series_stats is None:
            return (lambda v: v), (lambda v: v)
        mean, std, series = layout.series_stats
        x_mean, x_std = mean[series[rows]][:, fed], std[series[rows]][:, fed]
        y_mean, y_std = (stat[rows] for stat in self._series_y_stats(layout))

        def to_channels(values: np.ndarray) -> np.ndarray:
            values = values.reshape(len(values), -1)
            return (values * y_std + y_mean - x_mean) / x_std

        def to_raw(values: np.ndarray) -> np.ndarray:
            return values * x_std[:, None, :] + x_mean[:, None, :]

        return to_channels, to_raw

    def _with_intervals(self, X, layout, firsts, values, coverage):
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
            index = _panel_index(X, layout, firsts, steps)
        flat = values.ravel()
        scale = self._row_scale(layout, len(layout.x))[np.array(firsts)]
        bounds = (half * scale).ravel()  # per series, in its units
        return pd.DataFrame(
            {"forecast": flat, "lower": flat - bounds, "upper": flat + bounds},
            index=index,
        )

    def _future(
        self, X_future, steps: int, layout: Layout, fed: list[int]
    ) -> np.ndarray | None:
        """``X_future`` checked: ``(n_series, steps, n_features)`` float32 (the
        series in sorted id order), standardised as ``X``; or None when every
        channel is ``fed`` back."""
        n_channels = layout.n_channels
        if X_future is None:
            if n_channels > len(fed):
                raise ValueError(
                    f"X has {n_channels} channels: forecast needs X_future, the "
                    f"known future of the channels it does not forecast, {steps} "
                    f"rows of {n_channels} columns per series."
                )
            return None
        names = getattr(self, "feature_names_in_", None)
        columns = getattr(X_future, "columns", None)
        if names is not None and columns is not None and list(columns) != list(names):
            raise ValueError(
                f"X_future has columns {list(columns)}, but X had "
                f"{list(names)}: pass the same columns in the same order."
            )
        if layout.groups is None:
            parts = [
                check_array(_numbers(X_future), dtype=np.float64, input_name="X_future")
            ]
        else:
            parts = _series_futures(X_future, np.unique(layout.series_ids))
        for part in parts:
            if part.ndim != 2 or part.shape[1] != n_channels or len(part) < steps:
                raise ValueError(
                    f"X_future has a series of shape {part.shape}, but "
                    f"forecasting {steps} steps of a series of {n_channels} "
                    f"channels needs at least ({steps}, {n_channels}) per series."
                )
        future = np.stack([part[:steps] for part in parts])
        check_float32_range(future.reshape(-1, n_channels), "X_future")
        if layout.series_stats is not None:
            mean, std, _ = layout.series_stats  # per series, in sorted id order
            future = (future - mean[:, None, :]) / std[:, None, :]
        return future.astype(np.float32)


def _series_futures(X_future, ids: np.ndarray) -> list[np.ndarray]:
    """Each series' rows of ``X_future``, in the order of ``ids``: from a
    DataFrame with an (id, time) MultiIndex, or an array of shape
    ``(n_series, steps, n_features)`` already in that order."""
    index = getattr(X_future, "index", None)
    if isinstance(index, pd.MultiIndex) and index.nlevels == 2:
        level = index.get_level_values(0)
        missing = [str(i) for i in ids if not (level == i).any()]
        if missing:
            raise ValueError(
                f"X_future has no rows for the series {missing[:5]}: give the "
                "known future of every series of X."
            )
        return [
            check_array(
                _numbers(X_future[level == i]), dtype=np.float64, input_name="X_future"
            )
            for i in ids
        ]
    future = _numbers(X_future)
    if future.ndim == 2 and len(ids) == 1:  # one series: its rows
        future = future[None]
    if future.ndim != 3 or len(future) != len(ids):
        raise ValueError(
            f"With several series, X_future must be a DataFrame with an (id, "
            f"time) MultiIndex, or an array of shape (n_series, steps, "
            f"n_features) with the series in sorted id order ({len(ids)} "
            f"series here); got shape {future.shape}."
        )
    if not np.isfinite(future).all():
        raise ValueError("X_future contains NaN or infinity.")
    return list(future)


def _numbers(values: object) -> np.ndarray:
    """``values`` (some of ``X_future``) as float64, or a ValueError naming
    ``X_future`` (numpy's own names neither it nor what to pass)."""
    try:
        if hasattr(values, "to_numpy"):  # pandas: a missing value (pd.NA) is NaN
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        bad = non_numeric_columns(values)
        why = f"its column(s) {', '.join(bad)} are not" if bad else error
        raise ValueError(
            f"X_future must hold numbers, one column per channel of X ({why})."
        ) from None


def _future_index(X, steps: int) -> pd.DatetimeIndex | None:
    """The ``steps`` timestamps after ``X``'s DatetimeIndex (see ``_next_times``)."""
    index = getattr(X, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
        return None
    return _next_times(index, steps)


def _next_times(stamps: pd.DatetimeIndex, steps: int) -> pd.DatetimeIndex | None:
    """The ``steps`` timestamps after ``stamps``, when they have a frequency
    (set, or inferred from three or more timestamps)."""
    freq = stamps.freq
    if freq is None and len(stamps) >= 3:
        freq = pd.infer_freq(stamps)
    if freq is None:
        return None
    return pd.date_range(stamps[-1], periods=steps + 1, freq=freq)[1:]


def _panel_index(X, layout: Layout, firsts: list[int], steps: int) -> pd.MultiIndex:
    """(id, step from 1) of the ``steps`` rows after each series (the series
    whose first rows are ``firsts``); (id, timestamp) when ``X`` has an (id,
    time) MultiIndex whose times have a frequency in every series (inferred
    from three or more timestamps)."""
    ids = layout.series_ids[firsts]
    steps_index = pd.MultiIndex.from_product(
        [ids, range(1, steps + 1)], names=[_series_name(X), "step"]
    )
    index = getattr(X, "index", None)
    if not isinstance(index, pd.MultiIndex) or index.nlevels != 2:
        return steps_index
    times = index.get_level_values(1)
    if not isinstance(times, pd.DatetimeIndex):
        return steps_index
    coming = []
    for rows in series_rows(len(times), layout.groups):
        after = _next_times(times[rows], steps)
        if after is None:
            return steps_index
        coming.append(after)
    name = index.names[1] if index.names[1] is not None else "time"
    return pd.MultiIndex.from_arrays(
        [np.repeat(ids, steps), coming[0].append(coming[1:])],
        names=[_series_name(X), name],
    )


def _series_name(X) -> str:
    """The name of the series level of ``X``'s (id, time) MultiIndex, or
    ``"series"``."""
    index = getattr(X, "index", None)
    if isinstance(index, pd.MultiIndex) and index.names[0] is not None:
        return str(index.names[0])
    return "series"
