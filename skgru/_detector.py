"""GRUAnomalyDetector."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseGRU
from ._docs import fill_doc
from ._held_out import HeldOutScoresMixin
from ._stats import float32_pair
from ._validation import Layout
from ._windows import WindowDataset, to_tensor


@fill_doc
class GRUAnomalyDetector(OutlierMixin, HeldOutScoresMixin, BaseGRU):
    """Unsupervised anomaly detection with a GRU, as a scikit-learn outlier detector.

    ``fit(X)`` learns what normal data looks like; ``score_samples`` is lower the
    more abnormal a sample is, ``predict`` gives +1 for inliers and -1 for
    outliers. In series layout there is one answer per row, and the score of
    row ``t`` judges row ``t`` itself, so a spike is flagged at its own row.

    The GRU sees each window normalised by its own mean and scale per channel
    (and maps its output back), so a slow drift in level is not an anomaly
    while a jump is.

    **Held-out calibration.** ``fit`` trains the network on all but the last
    ``calibration_fraction`` of the rows (of each series, with ``groups``; in
    sequence layout: a random ``calibration_fraction`` of the sequences) and
    measures its errors on those held-out samples, which it never trained
    on. Errors on training
    samples are smaller than on new data, and a threshold taken from them
    flags many normal rows of new data; held-out errors are what new normal
    data looks like. With ``early_stopping`` (the default) a further
    ``validation_fraction`` of the training part stops training.

    In series layout, ``batch_size="auto"`` takes batches of up to as many
    windows as a window has rows (a multiple of 32, at most 256): neighbouring
    windows share all rows but one, so long windows train in fewer, larger
    steps at little loss, and a fit on a few thousand rows takes seconds to
    a minute on two cores.

    **Scores.** The error of a row on each channel is its squared difference
    from the GRU's forecast (or reconstruction), in units of the larger of the
    window's own standard deviation and the training data's, divided by the
    channel's mean held-out error; a sample's error is the largest over its
    channels, so a channel that is hard to predict neither hides an anomaly
    in another nor raises alarms at its usual error. In series layout, a
    row's error is raised to the mean error of it and the ``smoothing - 1``
    rows before it when that is larger. ``score_samples`` is minus the error
    over the mean held-out error: a typical new row scores about -1.

    Rows at the start of a call have less than a window of history (it is
    padded with the call's first row), and the network forecasts them less
    well. Their errors are divided by how much larger the held-out rows'
    errors are with that little history, so they are not flagged for it. To
    judge the first rows of new data as closely as the others, pass the
    ``window_size`` rows before them too, and keep the tail of the result.

    Parameters
    ----------
    {parameters}
    method : {{"forecast", "reconstruction"}}, default="forecast"
        ``"forecast"``: the GRU predicts a row from the ``window_size`` rows
        before it (in sequence layout: the last step from the steps before it).
        ``"reconstruction"``: the GRU encodes the window ending at the row (in
        sequence layout: the whole sequence) and reconstructs all of it.
    contamination : "auto" or float in (0, 0.5], default="auto"
        ``"auto"``: the split-conformal threshold of the held-out errors for
        a 1% false-alarm rate (with ``n >= 99`` held-out samples: the
        ``ceil(0.99 * (n + 1))``-th smallest), else for 2% (``n >= 49``),
        and at most 9 times the mean held-out error, a root-mean-square error
        3 times theirs (the threshold with fewer held-out samples). On the
        normal rows after the training rows of ``benchmarks/anomaly.py``'s
        five series it flagged at most 1.8% (means over 3 seeds). A float:
        the share of outliers expected, calibrated as ``novelty`` says.
    novelty : bool, default=True
        What a float ``contamination`` is a share of. ``True`` (novelty
        detection: fit on normal data, judge new data): of new normal data.
        ``offset_`` is the split-conformal threshold of the held-out errors
        for a false-alarm rate of ``contamination``, the
        ``ceil((1 - contamination) * (n + 1))``-th smallest of the ``n``
        held-out errors; with too few held-out samples for that rate, the
        largest of them, and at least the ``"auto"`` threshold. ``False``
        (outlier detection, scikit-learn's meaning in IsolationForest: the
        outliers are in ``X``): of the training data. ``offset_`` is the
        ``contamination`` quantile of the scores of all training samples,
        the held-out ones included, and new data gets more, since the
        network fits its training rows more closely than new ones: fitted on
        the first 72 airline months, 0.01 flagged 23% of the next 72 normal
        months (``True``: 1.4%, seeds 0-2). :meth:`fit_predict`, which
        labels the training data itself, exists only with ``False``, as in
        :class:`~sklearn.neighbors.LocalOutlierFactor`. ``"auto"`` does not
        depend on it.
    calibration_fraction : float in (0, 0.5], default=0.25
        Share of the training samples held out from training to set the
        error scales and the ``"auto"`` threshold.
    smoothing : int, default=3
        Series layout: a row's error is at least the mean error of it and the
        ``smoothing - 1`` rows before it, so a burst of middling errors adds
        up. 1 judges each row alone. Sequence layout ignores it.

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
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(400)
    >>> series = (np.sin(t / 5) + rng.normal(0, 0.05, 400))[:, None]
    >>> det = GRUAnomalyDetector(window_size=20, hidden_size=16,
    ...                          random_state=0).fit(series)
    >>> new = series.copy()
    >>> new[300] += 1.0                            # a spike
    >>> labels = det.predict(new)
    >>> int(labels[300]), int(labels[299])         # flagged at its own row
    (-1, 1)
    >>> int((labels[:300] == -1).sum())            # and nothing before it
    0
    """

    _saved_attributes = (
        *BaseGRU._saved_attributes,
        "_n_steps",
        "_scoring",
        "_channel_scale",
        "_warmup",
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
        "calibration_fraction": [Interval(Real, 0, 0.5, closed="right")],
        "smoothing": [Interval(Integral, 1, None, closed="left")],
        "novelty": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        window_size=None,
        scaling="auto",
        max_iter=200,
        learning_rate="constant",
        learning_rate_init=1e-3,
        batch_size="auto",
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads="auto",
        method="forecast",
        contamination="auto",
        novelty=True,
        calibration_fraction=0.25,
        smoothing=3,
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
        self.method = method
        self.contamination = contamination
        self.novelty = novelty
        self.calibration_fraction = calibration_fraction
        self.smoothing = smoothing

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
            raise ValueError(  # "1 feature(s)": scikit-learn's check_fit2d_1feature
                "X has a sequence of 1 time step (1 feature(s) in a 2-D X, "
                "whose columns are the time steps); method='forecast' predicts "
                "the last step from the steps before it and needs at least 2. "
                "Use method='reconstruction' or longer sequences."
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
                groups=layout.groups,
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
    def _outputs(self, X, groups=None) -> np.ndarray:
        return self._row_errors(self._predict_layout(X, groups))

    def _stream_outputs(self, windows: torch.Tensor) -> torch.Tensor:
        # a window holds the rows the model reads and the row(s) it judges,
        # standardised as WindowDataset.targets does
        mean, scale = (v.to(windows.device) for v in float32_pair(*self._input_stats))
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
    def fit(self, X, y=None, groups=None):
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
        {groups}

        Returns
        -------
        self : GRUAnomalyDetector
            The fitted detector.
        """
        try:
            self._calibrate(self._fit(X, groups=groups))
        finally:
            self.__dict__.pop("_held_out", None)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, groups=None):
        """Train for one epoch on ``X``, continuing any earlier fit.

        The first call (on an unfitted estimator) builds the network, with
        the input standardisation measured on this call's data; later calls
        continue the weights and the optimizer state. Each call trains on
        all but the last ``calibration_fraction`` of its samples (a random
        share in sequence layout) and measures the error scales and
        ``offset_`` again on those, with the network as trained so far.
        ``early_stopping`` does not apply.

        Parameters
        ----------
        X : array-like or DataFrame
            Normal data, in the layout of the first call.
        y : None
            Ignored; present for API consistency.
        {groups}

        Returns
        -------
        self : GRUAnomalyDetector
            The updated detector.
        """
        try:
            self._calibrate(self._fit(X, incremental=True, groups=groups))
        finally:
            self.__dict__.pop("_held_out", None)
        return self

    def _outlier_detection(self) -> bool:
        if self.novelty:
            raise AttributeError(
                "fit_predict labels the training data and is only available "
                "with novelty=False; with novelty=True (the default), call "
                "fit(X) and then predict on new data."
            )
        return True

    @available_if(_outlier_detection)
    def fit_predict(self, X, y=None, groups=None):
        """Fit on ``X`` and label its samples: ``fit(X).predict(X)``.

        Only with ``novelty=False``, where a float ``contamination`` is the
        share of ``X`` that is flagged.

        Parameters
        ----------
        X : array-like or DataFrame
            Normal data, as for :meth:`fit`.
        y : None
            Ignored; present for API consistency.
        {groups}

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return self.fit(X, groups=groups).predict(X, groups=groups)

    def score_samples(self, X, groups=None):
        """Normality score of every sample: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the sample's error over the mean error of the held-out
            training samples.
        """
        return self._answer("score_samples", self._outputs(X, groups))

    def decision_function(self, X, groups=None):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Shifted scores; below 0 means outlier.
        """
        return self._answer("decision_function", self._outputs(X, groups))

    def predict(self, X, groups=None):
        """Label every sample +1 (inlier) or -1 (outlier).

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return self._answer("predict", self._outputs(X, groups))
