"""The base every skgru estimator shares (not exported).

It holds the parameters, the validation of the input, the datasets the
network reads and the inference loop; training (seeding, the private skorch
net, the stopping rule) comes from :class:`~skgru._training.TrainingMixin`.
Subclasses say what the targets are, which loss to use and which channels
are normalised per window.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._architecture import PREVIOUS_VALUES
from ._inference import forward_all
from ._series_scaling import measure, row_stats, standardise
from ._threads import torch_threads
from ._training import TrainingMixin
from ._validation import Layout, validate_input
from ._windows import WindowDataset, to_tensor


class BaseGRU(TrainingMixin, BaseEstimator):
    """Parameters, training and inference shared by the skgru estimators."""

    # Fitted state that skgru.save writes besides the network (net_).
    _saved_attributes: tuple[str, ...] = (
        "n_features_in_",
        "feature_names_in_",
        "loss_curve_",
        "validation_loss_curve_",
        "validation_scores_",
        "n_iter_",
        "_input_stats",
        "_series_scaling",
        "_fitted_window",
        "_network_kwargs",
        "_network_params",
    )

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "bidirectional": ["boolean"],
        "window_size": [Interval(Integral, 1, None, closed="left"), None],
        "scaling": [StrOptions({"auto", "global", "per_series"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
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
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads="auto",
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.window_size = window_size
        self.scaling = scaling
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.n_threads = n_threads

    # ----------------------------------------------------------- subclass hooks
    def _y_params(self) -> dict | None:
        """``check_X_y`` arguments for ``y``; ``None`` for an unsupervised estimator."""
        raise NotImplementedError

    def _encode_targets(
        self, y: np.ndarray | None, layout: Layout, reset: bool, classes=None
    ) -> torch.Tensor | None:
        """Training targets as a tensor; ``reset`` (a new fit) records the
        encoding; ``classes``: the labels ``partial_fit`` was given, if any."""
        raise NotImplementedError

    def _n_outputs(self, layout: Layout) -> int:
        raise NotImplementedError

    def _target_scaling(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(mean, scale)`` that standardise the targets per batch, if any."""
        return None

    def _revin_channels(
        self, layout: Layout
    ) -> tuple[list[int] | None, list[int] | None]:
        """Channels normalised per window, and the channel of each output."""
        return None, None

    def _architecture_kwargs(self, layout: Layout) -> dict:
        """Network arguments of the estimator's architecture options, if any."""
        return {}

    def _criterion(self) -> tuple[type, dict]:
        return torch.nn.MSELoss, {}

    def _finish_training(self, net, dataset: WindowDataset) -> None:
        """After a fit's epochs (not ``partial_fit``'s), its network in eval
        mode: adjust the trained ``net.module_``, if need be. ``dataset`` holds
        the fit's samples, of which ``net.train_split`` (when set) holds out
        the validation part."""

    # score(y_true, output) recorded per epoch as validation_scores_ with
    # early_stopping (on the network's outputs and encoded targets); None: none
    _validation_score = None

    def _validation_scorer(self):
        """The ``_validation_score`` of this estimator's settings."""
        return type(self)._validation_score

    def _stratify(self, targets: torch.Tensor | None) -> np.ndarray | None:
        """Labels to stratify a random validation split by (classifiers)."""
        return None

    # ------------------------------------------------------------------ helpers
    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        # pickled before some parameters existed: the values it was made with
        for name in self._get_param_names():
            if name not in self.__dict__ and name in PREVIOUS_VALUES:
                setattr(self, name, PREVIOUS_VALUES[name])

    def __sklearn_is_fitted__(self) -> bool:
        # the net, assigned last in fit: a fit that failed leaves none
        return hasattr(self, "net_")

    @property
    def module_(self) -> torch.nn.Module:
        """The trained :class:`torch.nn.Module` (held by ``net_``)."""
        return self.net_.module_

    def _validate(
        self, X, y=None, *, reset: bool, fitting: bool = False, groups=None
    ) -> tuple[Layout, np.ndarray | None]:
        """Validate ``X``; when ``fitting`` a supervised estimator, ``y`` too.

        ``reset`` (a new fit, not a warm-started one) records
        ``n_features_in_`` and ``feature_names_in_``; otherwise ``X`` must
        match them, and its layout must match the fitted network.
        """
        params = self._y_params() if fitting else None
        layout, y = validate_input(
            self,
            X,
            y,
            reset=reset,
            window_size=self.window_size,
            y_params=params,
            groups=groups,
        )
        layout = self._scale_series(layout, reset)
        if not reset and layout.n_channels != len(self._input_stats[0]):
            raise ValueError(
                f"X gives {layout.n_channels} channel(s) per time step, but "
                f"{type(self).__name__} was fitted on "
                f"{len(self._input_stats[0])}: pass X in the layout used for fit "
                "(2-D univariate sequences, 3-D sequences or a series)."
            )
        return layout, y

    def _scale_series(self, layout: Layout, reset: bool) -> Layout:
        """``layout`` standardised per series, under ``scaling="per_series"``
        (or ``"auto"`` with ``groups``); a new fit (``reset``) measures each
        series' statistics first."""
        ids = layout.series_ids
        if reset:
            per_series = self.scaling == "per_series" or (
                self.scaling == "auto" and ids is not None
            )
            self._series_scaling = None
            if per_series and ids is not None:
                self._series_scaling = measure(layout.x, ids)
        scaling = getattr(self, "_series_scaling", None)
        if scaling is None:
            return layout
        mean, std, series = row_stats(scaling, layout.x, ids)
        x = standardise(layout.x, mean, std, series)
        return replace(layout, x=x, series_stats=(mean, std, series))

    def _check_global_scaling(self, what: str) -> None:
        """Refuse ``what`` (which reads raw rows of one series through the
        network alone) for a model fitted with per-series scaling."""
        if getattr(self, "_series_scaling", None) is not None:
            raise ValueError(
                f"{what} needs a model fitted with one standardisation for all "
                "rows, but this one standardised each series of groups on its "
                "own (scaling='per_series', or 'auto' with groups). Refit with "
                "scaling='global' to use it."
            )

    def _series_pad(self) -> int:
        """Rows of padding before a series: the window of row t ends at row t."""
        return self.window_size - 1

    def _dataset(self, layout: Layout, y: torch.Tensor | None) -> WindowDataset:
        """Model inputs (and targets) of ``layout`` as a :class:`WindowDataset`."""
        lengths = None if layout.lengths is None else torch.from_numpy(layout.lengths)
        scaling = None if y is None else self._target_scaling()
        if layout.window is None:
            return WindowDataset(
                to_tensor(layout.x), y, lengths=lengths, y_scaling=scaling
            )
        return WindowDataset(
            to_tensor(layout.x),
            y,
            window=layout.window,
            pad=self._series_pad(),
            y_scaling=scaling,
            groups=layout.groups,
        )

    def _threads(self, batch_rows: int):
        """Context: the torch thread count ``n_threads`` chooses, restored after."""
        return torch_threads(self.n_threads, batch_rows, self.hidden_size)

    # --------------------------------------------------------------- inference
    # methods a Stream can answer with; the first is stream()'s default
    _stream_methods: tuple[str, ...] = ("predict",)

    def _answer(self, method: str, outputs: np.ndarray) -> np.ndarray:
        """``method``'s result from the network's (float32) outputs."""
        raise NotImplementedError

    def _outputs(self, X, groups=None) -> np.ndarray:
        """The network's outputs for ``X``, which ``_answer`` turns into results."""
        return self._forward(self._dataset(self._predict_layout(X, groups), None))

    def _stream_outputs(self, windows: torch.Tensor) -> torch.Tensor:
        """Network outputs for a batch of raw windows (see ``Stream``)."""
        return self.module_(windows)

    def _stream_rows(
        self, outputs: np.ndarray, position: int, recent: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A stream's outputs for its row at ``position`` (0 for the first),
        from its window's ``outputs`` and what the stream keeps of the rows
        before (``recent``, returned updated): the outputs themselves, unless
        an estimator's answer for a row depends on the rows before it."""
        return outputs, recent

    def stream(self, method=None):
        """A :class:`~skgru.streaming.Stream` that answers one new row at a time.

        ``stream.update(row)`` returns what ``method`` gives for that row when
        called on all the rows streamed so far, at a cost per row that does
        not grow with the stream. Each call makes a new, independent stream
        on the same model (no copy).

        Parameters
        ----------
        method : str, default=None
            The method whose answer ``update`` returns, one of
            ``_stream_methods``: ``"predict"`` for the regressor, also
            ``"predict_proba"`` and ``"predict_log_proba"`` for the
            classifier; ``"score_samples"`` (the default),
            ``"decision_function"`` and ``"predict"`` for the detector.

        Returns
        -------
        stream : skgru.streaming.Stream
            A new stream, with no row seen yet.
        """
        from .streaming import Stream

        check_is_fitted(self)
        self._check_global_scaling("stream()")
        method = self._stream_methods[0] if method is None else method
        if method not in self._stream_methods:
            raise ValueError(
                f"method={method!r} cannot be streamed by {type(self).__name__}; "
                f"use one of {list(self._stream_methods)}."
            )
        return Stream(self, method)

    def _forward(self, dataset: WindowDataset, fn=None) -> np.ndarray:
        """Module outputs for every sample of ``dataset`` (see ``forward_all``)."""
        return forward_all(self.net_.module_, dataset, self._threads, fn)

    def _predict_layout(self, X, groups=None) -> Layout:
        check_is_fitted(self)
        layout, _ = self._validate(X, reset=False, groups=groups)
        return layout
