"""The base every skgru estimator shares (not exported).

It holds the parameters, validation, seeding, the private skorch net and the
inference loop. Subclasses say what the targets are, which loss to use and
which channels are normalised per window.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._architecture import PREVIOUS_VALUES
from ._ensemble import GRUEnsemble, MemberLoss
from ._inference import forward_all
from ._module import GRUNetwork
from ._net import (
    ADAPTIVE_REDUCTIONS,
    RandomSplit,
    StopWhenConverged,
    TailSplit,
    build_net,
)
from ._series_scaling import measure, row_stats, standardise
from ._stats import channel_stats
from ._threads import torch_threads
from ._validation import Layout, validate_input
from ._windows import WindowDataset, complete_windows, to_tensor
from .exceptions import FitInterruptedWarning

# Held while a block runs on a seeded global torch RNG (see BaseGRU._seeded).
_SEEDED_LOCK = threading.RLock()

# Upper bound of batch_size="auto".
AUTO_BATCH_SIZE = 32
# n_iter_no_change="auto": epochs of patience by layout. An epoch in series
# layout reads every row window_size times (neighbouring windows overlap). On
# the forecasting benchmark's short series 5 epochs regularised the recursive
# forecasts (measured before the autoregressive term: MASE at or below the
# Ridge's on 4 of 5 sets, against 2 with 10); on the airline demo's one-step
# fit they cost accuracy (MAE 14.2, not 12.9).
AUTO_PATIENCE = {"series": 5, "sequence": 10}


def _check_device(device) -> None:
    """Reject a device torch does not know, or CUDA where there is none."""
    try:
        kind = torch.device(device).type
    except RuntimeError as error:
        raise ValueError(
            f"device={device!r} is not a torch device: pass 'cpu', 'cuda' or "
            f"'cuda:<index>' ({error})."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r}, but CUDA is not available on this machine "
            f"(torch {torch.__version__}). Pass device='cpu'."
        )


def _recorded(history, key: str) -> list[float]:
    """The values of ``key`` in the epochs of a skorch history that have it."""
    return [float(row[key]) for row in history if key in row]


class BaseGRU(BaseEstimator):
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

    def _training_dataset(
        self, layout: Layout, targets: torch.Tensor | None, seed: int
    ) -> WindowDataset:
        """The samples a fit trains on (the detector holds some out).

        Sequence layout: all of them. Series layout: the rows whose window is
        complete, i.e. all rows of a series but its first ``window_size - 1``
        (which see copies of its first row as their history, a window no
        forecast meets); a series no longer than that trains on all its rows.
        """
        dataset = self._dataset(layout, targets)
        if layout.window is None:
            return dataset
        rows = complete_windows(len(dataset), self._series_pad(), layout.groups)
        return dataset.subset(rows)

    def _patience(self, layout: Layout) -> int:
        """``n_iter_no_change``, with "auto" resolved for ``layout``."""
        if self.n_iter_no_change != "auto":
            return self.n_iter_no_change
        return AUTO_PATIENCE["sequence" if layout.window is None else "series"]

    def _auto_batch_size(self) -> int:
        """The most samples in a batch of ``batch_size="auto"``."""
        return AUTO_BATCH_SIZE

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            # Batches of at most _auto_batch_size() samples, as equal as
            # possible: a small last batch makes the epoch's last step noisy.
            n_batches = -(-n // self._auto_batch_size())
            return -(-n // n_batches)
        return min(self.batch_size, n)

    @contextlib.contextmanager
    def _seeded(self, seed: int):
        """Seed torch for the block, restoring the caller's RNG states after.

        torch's random state is global to the process, so blocks running in
        several threads at once (fits under joblib's threading backend) take
        turns: each fit is then as repeatable as on its own.
        """
        device = torch.device(self.device)
        cuda = device.type == "cuda" and torch.cuda.is_available()
        devices = [device.index or 0] if cuda else []
        with _SEEDED_LOCK, torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def _threads(self, batch_rows: int):
        """Context: the torch thread count ``n_threads`` chooses, restored after."""
        return torch_threads(self.n_threads, batch_rows, self.hidden_size)

    # --------------------------------------------------------------------- fit
    def _fit(
        self, X, y=None, *, incremental: bool = False, classes=None, groups=None
    ) -> Layout:
        """Validate, build or reuse the net, train; return the validated input.

        ``incremental`` (``partial_fit``): one epoch over ``X``, continuing
        the fitted network and its optimizer state when there is one, with no
        validation split and no convergence warning.
        """
        if getattr(self, "_quantized", False):
            raise TypeError(
                f"This {type(self).__name__} was quantized for inference and "
                "cannot be trained further: train the float estimator it was "
                "made from, and quantize it again."
            )
        continuing = (incremental or self.warm_start) and hasattr(self, "net_")
        if not continuing and hasattr(self, "net_"):
            del self.net_  # a failed refit must not leave the old net in use
        _check_device(self.device)
        layout, y = self._validate(
            X, y, reset=not continuing, fitting=True, groups=groups
        )
        if continuing and layout.window != self._fitted_window:
            how = "partial_fit" if incremental else "warm_start=True"
            raise ValueError(
                f"{how} continues the previous fit, which used "
                f"window_size={self._fitted_window}; refit with warm_start=False "
                "to change the layout."
            )
        if not continuing:
            self._input_stats = channel_stats(layout)
        targets = self._encode_targets(y, layout, not continuing, classes)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        dataset = self._training_dataset(layout, targets, seed)

        # a continued fit draws new dropout masks and a new order of batches
        epochs_before = len(self.net_.history) if continuing else 0
        batch_rows = self._batch_size(len(dataset))
        with self._seeded(seed + epochs_before), self._threads(batch_rows):
            if continuing:
                net = self.net_
            else:
                self._network_kwargs = self._module_kwargs(layout)
                net = self._new_net(seed)
                mean, std = self._input_stats
                net.module_.set_input_scaling(
                    torch.as_tensor(mean), torch.as_tensor(std)
                )
            stopper = dict(net.callbacks_)["stop_when_converged"]
            # this call's data and stopping parameters apply; a continued fit
            # shuffles anew rather than repeating its first epochs' order
            validate = self.early_stopping and not incremental
            net.train_split = (
                self._train_split(layout, seed, targets) if validate else None
            )
            net.batch_size = batch_rows
            net.iterator_train__seed = seed + epochs_before
            net.max_epochs = 1 if incremental else self.max_iter
            stopper.monitor = "valid_loss" if validate else "train_loss"
            stopper.tol, stopper.n_iter_no_change = self.tol, self._patience(layout)
            adaptive = self.learning_rate == "adaptive" and not incremental
            stopper.reductions = ADAPTIVE_REDUCTIONS if adaptive else 0
            stopper.keep_best = validate
            try:
                net.partial_fit(dataset, None)
            finally:  # also when training fails: no progress bar left open,
                # and a kept (warm-started) network predicts without dropout
                net.module_.eval()
                progress = dict(net.callbacks_).get("progress")
                if progress is not None:
                    progress.close()
        if stopper.interrupted_ and not continuing and not stopper.epochs_:
            raise KeyboardInterrupt  # nothing trained that could be kept
        self.net_ = net
        self.net_.module_.eval()
        self.loss_curve_ = _recorded(net.history, "train_loss")
        if self.early_stopping:
            # epochs of partial_fit have no validation loss: left out
            self.validation_loss_curve_ = _recorded(net.history, "valid_loss")
            if self._validation_score is not None:
                self.validation_scores_ = _recorded(net.history, "valid_score")
        self.n_iter_ = len(self.loss_curve_)
        self._fitted_window = layout.window
        if stopper.interrupted_:
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted after "
                f"{stopper.epochs_} of max_iter={self.max_iter} epochs. The "
                f"estimator keeps the weights of its last finished epoch "
                f"(n_iter_={self.n_iter_}); fit again with warm_start=True to "
                "continue training.",
                FitInterruptedWarning,
                stacklevel=4,
            )
        elif not stopper.converged_ and not incremental:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} "
                f"epochs before the loss stopped improving by tol={self.tol}. "
                "Increase max_iter, or raise learning_rate_init.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return layout

    def _module_kwargs(self, layout: Layout) -> dict:
        """Arguments of the :class:`GRUNetwork` fitted on ``layout``."""
        norm, out = self._revin_channels(layout)
        return dict(
            n_channels=layout.n_channels,
            n_outputs=self._n_outputs(layout),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            norm_channels=norm,
            output_channels=out,
            **self._architecture_kwargs(layout),
        )

    def _train_split(self, layout: Layout, seed: int, targets: torch.Tensor | None):
        """skorch ``train_split``: none, or the ``early_stopping`` hold-out."""
        if not self.early_stopping:
            return None
        if layout.window is not None:
            return TailSplit(self.validation_fraction)
        return RandomSplit(self.validation_fraction, seed, self._stratify(targets))

    def _new_net(self, seed: int, device: str | None = None):
        """The initialised skorch net, with a new network of ``_network_kwargs``."""
        criterion, criterion_kwargs = self._criterion()
        module = GRUNetwork
        if self._network_kwargs.get("members", 1) > 1:  # ensemble_size
            module = GRUEnsemble
            criterion_kwargs = {"base": criterion, **criterion_kwargs}
            criterion = MemberLoss
        stopper = StopWhenConverged(  # tol and patience: set per fit call
            "valid_loss" if self.early_stopping else "train_loss",
            self.tol,
            AUTO_PATIENCE["sequence"],
        )
        net = build_net(
            module,
            self._network_kwargs,
            criterion,
            criterion_kwargs=criterion_kwargs,
            learning_rate=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=1,  # set per fit call, from that call's samples
            device=str(self.device) if device is None else device,
            seed=seed,
            validation=self.early_stopping,
            validation_score=self._validation_scorer(),
            stopper=stopper,
            verbose=self.verbose,
        )
        return net.initialize()

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
