"""GRURegressor."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._architecture import (
    ARCHITECTURE_CONSTRAINTS,
    architecture_kwargs,
    instance_norm,
)
from ._base import BaseGRU
from ._docs import fill_doc
from ._forecast import check_steps, last_windows, recursive_forecast
from ._forecast import dataset as forecast_dataset
from ._stats import column_stats, float32_pair
from ._validation import Layout, check_float32_range, panel_ids
from ._windows import to_tensor


@fill_doc
class GRURegressor(RegressorMixin, BaseGRU):
    """Regression with a GRU, as a scikit-learn estimator.

    One prediction per sequence (``window_size=None``) or per row of a series
    (``window_size`` set); ``y`` may have several columns (e.g. several steps
    ahead). Inputs and targets are standardised inside the estimator.

    Parameters
    ----------
    {parameters}
    {architecture}
    target_channel : int, str or None, default=None
        The input channel that holds the target's own history (its index, or
        its column name when ``X`` is a DataFrame). When set, every window is
        normalised by that channel's mean and scale within the window, and the
        prediction is mapped back with them (reversible instance
        normalisation, RevIN). This lets a GRU forecast a trending series,
        which a network fed globally standardised values cannot extrapolate.

    Attributes
    ----------
    {attributes}

    See Also
    --------
    GRUClassifier : The same network for class labels.
    SlidingWindowTransformer : Windows as an explicit Pipeline step.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRURegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8))             # 200 sequences of 8 steps
    >>> y = X[:, -3:].sum(axis=1)
    >>> reg = GRURegressor(hidden_size=16, max_iter=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _saved_attributes = (
        *BaseGRU._saved_attributes,
        "_y_ndim",
        "_y_mean",
        "_y_scale",
        "_residuals",
    )

    _parameter_constraints: dict = {
        **BaseGRU._parameter_constraints,
        **ARCHITECTURE_CONSTRAINTS,
        "target_channel": [Integral, str, None],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        dropout=0.5,
        bidirectional=False,
        window_size=None,
        max_iter=200,
        learning_rate="adaptive",
        learning_rate_init=1e-2,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads="auto",
        pooling="concat",
        patch_size="auto",
        conv_filters=None,
        conv_kernel_sizes=(8, 5, 3),
        instance_norm="auto",
        sample_stats=True,
        target_channel=None,
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=bidirectional,
            window_size=window_size,
            max_iter=max_iter,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            batch_size=batch_size,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            device=device,
            n_threads=n_threads,
        )
        self.pooling = pooling
        self.patch_size = patch_size
        self.conv_filters = conv_filters
        self.conv_kernel_sizes = conv_kernel_sizes
        self.instance_norm = instance_norm
        self.sample_stats = sample_stats
        self.target_channel = target_channel

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = True
        return tags

    # R² is unchanged by the targets' standardisation: computed on the
    # network's standardised outputs, it is the estimator's score
    _validation_score = staticmethod(r2_score)

    def _y_params(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(
        self, y: np.ndarray, layout: Layout, reset: bool, classes=None
    ) -> torch.Tensor:
        if np.asarray(y).dtype.kind not in "biuf":
            raise ValueError(
                f"y has dtype {np.asarray(y).dtype}, but GRURegressor needs "
                "numeric targets. For labels, use GRUClassifier."
            )
        y2 = np.reshape(y, (len(y), -1))
        check_float32_range(y2, "y")
        if reset:
            self._y_ndim = np.ndim(y)
            self._y_mean, self._y_scale = column_stats(y2)
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(
                f"y has {y2.shape[1]} columns, but the fit being continued "
                f"had {len(self._y_mean)}."
            )
        return to_tensor(y2)

    def _target_scaling(self) -> tuple[torch.Tensor, torch.Tensor]:
        return float32_pair(self._y_mean, self._y_scale)

    def _n_outputs(self, layout: Layout) -> int:
        return len(self._y_mean)

    def _target_channel_index(self, layout: Layout) -> int:
        channel = self.target_channel
        if isinstance(channel, str):
            names = list(getattr(self, "feature_names_in_", []))
            if layout.window is None or channel not in names:
                raise ValueError(
                    f"target_channel={channel!r} is not a column of X. A column "
                    "name needs X as a DataFrame in series layout; otherwise "
                    f"give the channel's index (0 to {layout.n_channels - 1})."
                )
            return names.index(channel)
        if not 0 <= channel < layout.n_channels:
            raise ValueError(
                f"target_channel={channel} is out of range: X has "
                f"{layout.n_channels} channel(s) per time step."
            )
        return int(channel)

    def _architecture_kwargs(self, layout: Layout) -> dict:
        return architecture_kwargs(self, layout)

    def _revin_channels(self, layout: Layout):
        every = list(range(layout.n_channels)) if instance_norm(self, layout) else None
        if self.target_channel is None:
            return every, None
        channel = self._target_channel_index(layout)
        return every or [channel], [channel] * self._n_outputs(layout)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            Sequence layout (``window_size=None``): ``(n_samples, n_timesteps,
            n_features)``, ``(n_samples, n_timesteps)`` for univariate
            sequences, or a list of ``(n_timesteps_i, n_features)`` arrays.
            Series layout: ``(n_timesteps, n_features)``, rows in time order.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, one per sequence or per row.
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X`` (several series in
            one ``X``, rows in time order within each); a window never holds
            rows of two series, and each series' first rows are padded with
            its first row. A DataFrame with an (id, time) MultiIndex gives
            them itself. Routed by metadata routing where requested.

        Returns
        -------
        self : GRURegressor
            The fitted estimator.
        """
        self.__dict__.pop("_residuals", None)  # the errors of another network
        self._fit(X, y, groups=groups)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, groups=None):
        """Train for one epoch on ``X`` and ``y``, continuing any earlier fit.

        The first call (on an unfitted estimator) builds the network, with
        the standardisation of inputs and targets measured on this call's
        data; later calls continue the weights and the optimizer state.
        ``early_stopping`` does not apply. In series layout the first
        ``window_size - 1`` rows of each call have a padded window: pass
        chunks much longer than the window.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout of the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, one per sequence or per row.
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X`` (several series in
            one ``X``, rows in time order within each); a window never holds
            rows of two series, and each series' first rows are padded with
            its first row. A DataFrame with an (id, time) MultiIndex gives
            them itself. Routed by metadata routing where requested.

        Returns
        -------
        self : GRURegressor
            The updated estimator.
        """
        self.__dict__.pop("_residuals", None)  # the errors of another network
        self._fit(X, y, incremental=True, groups=groups)
        return self

    def predict(self, X, groups=None):
        """Predict a target for every sequence or row of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X`` (several series in
            one ``X``, rows in time order within each); a window never holds
            rows of two series, and each series' first rows are padded with
            its first row. A DataFrame with an (id, time) MultiIndex gives
            them itself. Routed by metadata routing where requested.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, float64.
        """
        return self._answer("predict", self._outputs(X, groups))

    def score(self, X, y, sample_weight=None, groups=None):
        """R² of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X`` (several series in
            one ``X``, rows in time order within each); a window never holds
            rows of two series, and each series' first rows are padded with
            its first row. A DataFrame with an (id, time) MultiIndex gives
            them itself. Routed by metadata routing where requested.

        Returns
        -------
        score : float
            The coefficient of determination, as ``RegressorMixin.score``.
        """
        y_pred = self.predict(X, groups=groups)
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def calibrate(self, X, y, groups=None):
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
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X``.

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
        self._residuals = np.sort(errors, axis=0)
        return self

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
        groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X``.

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
        if isinstance(coverage, bool) or not isinstance(coverage, Real):
            raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
        n = len(residuals)
        rank = int(np.ceil((n + 1) * coverage))
        if rank > n:
            least = int(np.ceil(coverage / (1 - coverage)))
            raise ValueError(
                f"coverage={coverage} needs at least {least} calibration samples, "
                f"but calibrate saw {n}: calibrate on more data or lower coverage."
            )
        half = residuals[rank - 1]
        pred = self.predict(X, groups=groups)
        centre = pred.reshape(len(pred), -1)
        bounds = np.stack([centre - half, centre + half], axis=-1)
        return bounds[:, 0] if self._y_ndim == 1 else bounds

    def forecast(self, X, steps, *, groups=None, X_future=None):
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
        groups : array-like of shape (n_rows,), default=None
            The series of each row of ``X``: each series is forecast from its
            own last rows. A DataFrame with an (id, time) MultiIndex gives
            them itself.
        X_future : array-like or DataFrame of shape (steps, n_features), default=None
            The known future of the other channels (calendar, set-points),
            one row per step; its ``target_channel`` column is ignored.
            Required when ``X`` has channels besides the target; not
            supported with several series yet.

        Returns
        -------
        forecast : ndarray of shape (steps,), or DataFrame
            The forecast values; with several series, a DataFrame with one
            row per series (indexed by its id) and one column per step.
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
        windows, firsts = last_windows(layout.x, layout.window, layout.groups)

        def predict(batch: torch.Tensor) -> np.ndarray:
            return self._answer("predict", self._forward(forecast_dataset(batch)))

        values = recursive_forecast(predict, windows, steps, channel, future)
        if layout.groups is None:
            return values[0]
        ids = panel_ids(X, groups)[firsts]
        return pd.DataFrame(
            values,
            index=pd.Index(ids, name="series"),
            columns=pd.RangeIndex(1, steps + 1, name="step"),
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

    def _answer(self, method: str, outputs: np.ndarray) -> np.ndarray:
        y = outputs.astype(np.float64)
        y *= self._y_scale
        y += self._y_mean
        return y.ravel() if self._y_ndim == 1 else y
