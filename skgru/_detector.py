"""GRUAnomalyDetector."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseGRU
from ._docs import fill_doc
from ._stats import float32_pair
from ._validation import Layout
from ._windows import WindowDataset, to_tensor

# contamination="auto": a sample is an outlier when its root-mean-square error
# is beyond Tukey's fence (the boxplot rule) of the training samples' RMS
# errors, Q3 + 1.5 * IQR. On squared errors, whose tail is long, the same
# fence would flag several per cent of normal data.
AUTO_FENCE_IQRS = 1.5


@fill_doc
class GRUAnomalyDetector(OutlierMixin, BaseGRU):
    """Unsupervised anomaly detection with a GRU, as a scikit-learn outlier detector.

    ``fit(X)`` learns what normal data looks like; ``score_samples`` is lower the
    more abnormal a sample is, ``predict`` gives +1 for inliers and -1 for
    outliers. In series layout there is one answer per row, and the score of
    row ``t`` judges row ``t`` itself, so a spike is flagged at its own row.

    The GRU sees each window normalised by its own mean and scale per channel
    (and maps its output back), so a slow drift in level is not an anomaly
    while a jump is. The error of a sample is the mean squared difference
    between what the GRU expects and what came, in units of the training
    data's standard deviation per channel; ``score_samples`` is minus that
    error divided by the median error on the training data (a typical
    training row scores about -1).

    Rows at the start of a call have less than a window of history (it is
    padded with the call's first row), so a model that forecasts a smooth
    signal well often flags them. To judge the first rows of new data, pass
    the ``window_size`` rows before them too, and keep the tail of the result.

    Parameters
    ----------
    {parameters}
    method : {{"forecast", "reconstruction"}}, default="forecast"
        ``"forecast"``: the GRU predicts a row from the ``window_size`` rows
        before it (in sequence layout: the last step from the steps before it).
        ``"reconstruction"``: the GRU encodes the window ending at the row (in
        sequence layout: the whole sequence) and reconstructs all of it.
    contamination : "auto" or float in (0, 0.5], default="auto"
        A float is the expected share of outliers: ``offset_`` is the
        ``contamination`` quantile of the training scores. ``"auto"`` sets
        ``offset_`` at Tukey's fence (the boxplot rule) of the training
        errors: a sample is an outlier when its root-mean-square error exceeds
        ``Q3 + 1.5 * IQR`` of the RMS errors of the training samples. For
        Gaussian errors that flags about 1.6% of normal samples; new data the
        model fits less well gets more.

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples - offset_``; negative decisions are
        outliers.
    {attributes}

    See Also
    --------
    sklearn.ensemble.IsolationForest : The same outlier contract, for tabular rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRUAnomalyDetector
    >>> t = np.arange(400)
    >>> series = np.sin(t / 5)[:, None]
    >>> det = GRUAnomalyDetector(window_size=20, hidden_size=16, max_iter=30,
    ...                          random_state=0).fit(series)
    >>> new = series.copy()
    >>> new[300] += 3.0                            # a spike
    >>> int(np.argmin(det.score_samples(new)))
    300
    >>> det.predict(new)[300]
    np.int64(-1)
    """

    _saved_attributes = (
        *BaseGRU._saved_attributes,
        "_n_steps",
        "_error_scale",
        "offset_",
    )

    _parameter_constraints: dict = {
        **BaseGRU._parameter_constraints,
        "method": [StrOptions({"forecast", "reconstruction"})],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        window_size=None,
        max_iter=200,
        learning_rate="constant",
        learning_rate_init=1e-3,
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
        method="forecast",
        contamination="auto",
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
        self.method = method
        self.contamination = contamination

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # ---------------------------------------------------------------- layout
    def _series_pad(self) -> int:
        return self.window_size - (self.method == "reconstruction")

    def _check_layout(self, layout: Layout) -> None:
        if layout.window is not None:
            return
        steps = layout.x.shape[1] if layout.lengths is None else layout.lengths.min()
        if self.method == "forecast" and steps < 2:
            raise ValueError(
                "X has sequences of 1 feature(s) (time steps); method='forecast' "
                "predicts the last step from the steps before it and needs at "
                "least 2. Use method='reconstruction' or longer sequences."
            )
        if self.method == "reconstruction" and layout.lengths is not None:
            raise ValueError(
                "method='reconstruction' needs sequences of one length; pad them "
                "or use method='forecast'."
            )
        if hasattr(self, "_n_steps") and self.method == "reconstruction":
            if layout.x.shape[1] != self._n_steps:
                raise ValueError(
                    f"X has sequences of {layout.x.shape[1]} time steps, but "
                    f"method='reconstruction' was fitted on {self._n_steps}."
                )

    def _dataset(self, layout: Layout, y=None) -> WindowDataset:
        """Inputs and standardised targets of every sample."""
        self._check_layout(layout)
        scaling = float32_pair(*self._input_stats)
        x = to_tensor(layout.x)
        if layout.window is not None:
            return WindowDataset(
                x,
                x,
                window=layout.window,
                pad=self._series_pad(),
                y_window=self.method == "reconstruction",
                y_scaling=scaling,
            )
        if self.method == "reconstruction":
            return WindowDataset(x, x, y_scaling=scaling)
        if layout.lengths is None:
            return WindowDataset(x[:, :-1], x[:, -1], y_scaling=scaling)
        last = torch.from_numpy(layout.lengths - 1)
        target = x[torch.arange(len(last)), last]
        return WindowDataset(x, target, lengths=last, y_scaling=scaling)

    def _y_params(self) -> None:
        return None

    def _encode_targets(self, y, layout: Layout, reset: bool, classes=None) -> None:
        if reset and layout.window is None:
            self._n_steps = layout.x.shape[1]
        return None

    def _n_outputs(self, layout: Layout) -> int:
        f = layout.n_channels
        if self.method == "forecast":
            return f
        return f * (layout.window or self._n_steps)

    def _revin_channels(self, layout: Layout):
        channels = list(range(layout.n_channels))
        repeats = self._n_outputs(layout) // layout.n_channels
        return channels, channels * repeats

    # ----------------------------------------------------------------- errors
    def _batch_errors(self, xb, yb: torch.Tensor) -> torch.Tensor:
        """Mean squared error of each sample of a batch (standardised targets)."""
        module = self.net_.module_
        pred = module(**xb) if isinstance(xb, dict) else module(xb)
        return ((yb - pred) ** 2).mean(dim=1)

    def _errors(self, layout: Layout) -> np.ndarray:
        """Mean squared error of each sample in standardised units (float64)."""
        dataset = self._dataset(layout)
        return self._forward(dataset, self._batch_errors).astype(np.float64)

    def _outputs(self, X) -> np.ndarray:
        # the detector's answers come from each sample's error
        return self._errors(self._predict_layout(X))

    def _stream_outputs(self, windows: torch.Tensor) -> torch.Tensor:
        # a window holds the rows the model reads and the row(s) it judges,
        # standardised as WindowDataset.targets does
        mean, scale = float32_pair(*self._input_stats)
        if self.method == "forecast":
            xb, yb = windows[:, :-1], windows[:, -1]
        else:
            xb, yb = windows, windows
        yb = ((yb - mean) / scale).flatten(1)
        return self._batch_errors(xb, yb)

    _stream_methods = ("score_samples", "decision_function", "predict")

    def _answer(self, method: str, outputs: np.ndarray) -> np.ndarray:
        scores = -outputs.astype(np.float64) / self._error_scale
        if method == "score_samples":
            return scores
        decision = scores - self.offset_
        if method == "decision_function":
            return decision
        return np.where(decision < 0, -1, 1)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the normal behaviour of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame
            Normal data. Sequence layout (``window_size=None``):
            ``(n_samples, n_timesteps, n_features)`` or ``(n_samples,
            n_timesteps)``. Series layout: ``(n_timesteps, n_features)``, rows
            in time order.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : GRUAnomalyDetector
            The fitted detector.
        """
        self._set_threshold(self._errors(self._fit(X)))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing any earlier fit.

        The first call (on an unfitted estimator) builds the network, with
        the input standardisation measured on this call's data; later calls
        continue the weights and the optimizer state. The score scale and
        ``offset_`` are measured again on each call's data, with the network
        as trained so far. ``early_stopping`` does not apply.

        Parameters
        ----------
        X : array-like or DataFrame
            Normal data, in the layout of the first call.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : GRUAnomalyDetector
            The updated detector.
        """
        self._set_threshold(self._errors(self._fit(X, incremental=True)))
        return self

    def _set_threshold(self, errors: np.ndarray) -> None:
        """Score scale and ``offset_`` from the errors of the training samples."""
        median = np.median(errors)
        self._error_scale = float(median) if median > 0 else 1.0
        if self.contamination == "auto":
            q1, q3 = np.percentile(np.sqrt(errors), [25, 75])
            fence = q3 + AUTO_FENCE_IQRS * (q3 - q1)
            self.offset_ = float(-(fence**2) / self._error_scale)
        else:
            scores = -errors / self._error_scale
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def score_samples(self, X):
        """Normality score of every sample: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the sample's error over the median training error.
        """
        return self._answer("score_samples", self._outputs(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Shifted scores; below 0 means outlier.
        """
        return self._answer("decision_function", self._outputs(X))

    def predict(self, X):
        """Label every sample +1 (inlier) or -1 (outlier).

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return self._answer("predict", self._outputs(X))
