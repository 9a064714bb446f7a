"""GRURegressor."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions

from ._architecture import (
    ARCHITECTURE_CONSTRAINTS,
    architecture_kwargs,
    instance_norm,
)
from ._base import BaseGRU
from ._docs import fill_doc
from ._forecasting import ForecastMixin
from ._intervals import CALIBRATION_ATTRIBUTES, IntervalMixin
from ._quantiles import (
    MedianR2,
    PinballLoss,
    median_index,
    sorted_outputs,
)
from ._readout import fit_readout
from ._targets import TargetsMixin
from ._validation import Layout


@fill_doc
class GRURegressor(RegressorMixin, ForecastMixin, IntervalMixin, TargetsMixin, BaseGRU):
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
    autoregressive : bool or "auto", default="auto"
        Series layout with ``target_channel``: add to the network's output a
        linear map of the window's normalised target-channel values (a
        linear autoregression, LSTNet's "highway"), before it is mapped back.
        It trains with the network, read through the features' dropout. At
        the end of ``fit`` (not of ``partial_fit``), with
        ``loss="squared_error"``, the output layer is solved again by ridge
        regression on the training windows: the mean of the ridge on the
        GRU's features and the window's values and of the ridge on the
        values alone, each with the penalty of the least leave-one-out
        error. Trained with dropout, the layer shrinks every step towards
        the window's mean, which a recursive forecast compounds.
        "auto": on where it can be (series layout with ``target_channel``),
        off elsewhere; ``True`` there only. In ``benchmarks/FORECASTING.md``'s
        setting (seeds 0–11) the solved layer took solar's MASE from 1.42 to
        0.71, M1 yearly's from 4.89 to 3.81, Uschange's from 0.305 to 0.284
        and PBS's from 0.051 to 0.032, and seatbelts' from 0.55 to 0.62; the
        airline demo's MAE went from 14.2 to 14.4 (seeds 0–5).
    loss : {{"squared_error", "quantile"}}, default="squared_error"
        What training minimises. "squared_error": the mean squared error;
        ``predict`` gives the conditional mean. "quantile": the pinball loss
        of every level of ``quantiles`` at once, one output per level and
        target; ``predict`` gives the level nearest 0.5 (the median when 0.5
        is a level), :meth:`predict_quantiles` all of them, sorted so they
        never cross, and :meth:`predict_interval` the two levels at
        ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``, conformalised
        after :meth:`calibrate`.
    quantiles : array-like of float in (0, 1), default=(0.05, 0.5, 0.95)
        The levels ``loss="quantile"`` learns; ignored otherwise.

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
        "_series_y",
        "_levels",
        "_quantile_calibration",
        "_residuals",
        "_forecast_residuals",
    )

    _parameter_constraints: dict = {
        **BaseGRU._parameter_constraints,
        **ARCHITECTURE_CONSTRAINTS,
        "target_channel": [Integral, str, None],
        "autoregressive": ["boolean", StrOptions({"auto"})],
        "loss": [StrOptions({"squared_error", "quantile"})],
        "quantiles": ["array-like"],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        dropout=0.5,
        bidirectional=False,
        window_size=None,
        scaling="auto",
        max_iter=200,
        learning_rate="adaptive",
        learning_rate_init=1e-2,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change="auto",
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
        ensemble_size=1,
        target_channel=None,
        autoregressive="auto",
        loss="squared_error",
        quantiles=(0.05, 0.5, 0.95),
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=bidirectional,
            window_size=window_size,
            scaling=scaling,
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
        self.ensemble_size = ensemble_size
        self.target_channel = target_channel
        self.autoregressive = autoregressive
        self.loss = loss
        self.quantiles = quantiles

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

    def _n_outputs(self, layout: Layout) -> int:
        return len(self._y_mean) * self._n_levels()

    def _n_levels(self) -> int:
        """Outputs per target: one, or one per quantile."""
        return len(self._levels) if self.loss == "quantile" else 1

    def _criterion(self):
        if self.loss != "quantile":
            return super()._criterion()
        return PinballLoss, {"quantiles": tuple(self._levels.tolist())}

    def _validation_scorer(self):
        if self.loss != "quantile":
            return super()._validation_scorer()
        return MedianR2(len(self._levels), median_index(self._levels))

    def _architecture_kwargs(self, layout: Layout) -> dict:
        kwargs = architecture_kwargs(self, layout)
        possible = layout.window is not None and self.target_channel is not None
        asked = self.autoregressive and not isinstance(self.autoregressive, str)
        if asked and not possible:
            raise ValueError(
                "autoregressive=True needs series layout and target_channel "
                "(its linear term reads the target channel's window): set "
                "window_size and target_channel, or autoregressive=False."
            )
        if self.autoregressive and possible:  # True, or "auto"
            kwargs["ar_window"] = int(layout.window)
        return kwargs

    def _finish_training(self, net, dataset) -> None:
        # with the autoregressive term, the output layer is solved in closed
        # form (skgru._readout) on the samples trained on; pinball losses
        # keep their trained layer
        if self.loss != "squared_error" or net.module_.ar is None:
            return
        if net.train_split is not None:  # early_stopping's validation part
            dataset = net.train_split(dataset)[0]
        fit_readout(net.module_, dataset, self._threads)

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
        {groups}

        Returns
        -------
        self : GRURegressor
            The fitted estimator.
        """
        for attr in CALIBRATION_ATTRIBUTES:  # another network's
            self.__dict__.pop(attr, None)
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
        {groups}

        Returns
        -------
        self : GRURegressor
            The updated estimator.
        """
        for attr in CALIBRATION_ATTRIBUTES:  # another network's
            self.__dict__.pop(attr, None)
        self._fit(X, y, incremental=True, groups=groups)
        return self

    def predict(self, X, groups=None):
        """Predict a target for every sequence or row of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, float64.
        """
        return self._predict_from(self._predict_layout(X, groups))

    def _predict_from(
        self, layout: Layout, method: str = "predict", outputs=None
    ) -> np.ndarray:
        """``method``'s answer for the samples of a validated ``layout``, from
        the network's ``outputs`` for them when already computed."""
        if outputs is None:
            outputs = self._forward(self._dataset(layout, None))
        return self._unscale_series(self._answer(method, outputs), layout)

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
        {groups}

        Returns
        -------
        score : float
            The coefficient of determination, as ``RegressorMixin.score``.
        """
        y_pred = self.predict(X, groups=groups)
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def _answer(self, method: str, outputs: np.ndarray) -> np.ndarray:
        y = outputs.astype(np.float64)
        if self.loss == "quantile":  # (n, n_targets, n_quantiles), sorted
            y = sorted_outputs(y, len(self._levels))
            y *= self._y_scale[:, None]
            y += self._y_mean[:, None]
            if method == "predict":
                y = y[..., median_index(self._levels)]
            elif self._y_ndim == 1:
                return y[:, 0]
            else:
                return y
        else:
            y *= self._y_scale
            y += self._y_mean
        return y.ravel() if self._y_ndim == 1 else y
