"""How an skgru estimator trains its network (not exported).

:class:`TrainingMixin` gives :class:`~skgru._base.BaseGRU` its ``_fit``:
validate, build the private skorch net (or continue the fitted one), seed
torch, choose the batch size and patience, train until the stopping rule of
``skgru._net`` ends it, and record the fitted attributes and warnings. It
reads the estimator's parameters and calls the hooks ``BaseGRU`` declares
(``_validate``, ``_encode_targets``, ``_criterion``, ...), which each
estimator fills in.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._ensemble import GRUEnsemble, MemberLoss
from ._module import GRUNetwork
from ._net import (
    ADAPTIVE_REDUCTIONS,
    RandomSplit,
    StopWhenConverged,
    TailSplit,
    build_net,
)
from ._stats import channel_stats
from ._validation import Layout
from ._windows import WindowDataset, complete_windows
from .exceptions import FitInterruptedWarning

# Held while a block runs on a seeded global torch RNG (see TrainingMixin._seeded).
_SEEDED_LOCK = threading.RLock()

# Upper bound of batch_size="auto".
AUTO_BATCH_SIZE = 32
# n_iter_no_change="auto": epochs of patience by layout. An epoch in series
# layout reads every row window_size times (neighbouring windows overlap). On
# the forecasting benchmark's short series 5 epochs regularised the recursive
# forecasts (measured before the autoregressive term: MASE at or below the
# Ridge's on 4 of 5 sets, against 2 with 10). With the output layer solved
# after training (skgru._readout), 10 epochs score PBS 0.024, seatbelts 0.57,
# solar 0.75, Uschange 0.301 and M1 3.84 over seeds 0-11, against 0.032, 0.62,
# 0.71, 0.284 and 3.81 with 5, for 1.2-4.8 times the fit time (Uschange on 9 of
# the 12 seeds under the Ridge, against 12); the airline demo's one-step fit
# gets MAE 13.8, not 14.4 (seeds 0-5).
AUTO_PATIENCE = {"series": 5, "sequence": 10}

# The parameters a network is built from (those an estimator has), and the
# scaling of the inputs it learnt on. A continued fit (warm_start,
# partial_fit) keeps its network, so they cannot change between its calls;
# training parameters (max_iter, learning rates, stopping, batch size) apply
# to each call.
NETWORK_PARAMS = (
    "scaling",
    "hidden_size",
    "num_layers",
    "dropout",
    "bidirectional",
    "pooling",
    "patch_size",
    "conv_filters",
    "conv_kernel_sizes",
    "instance_norm",
    "sample_stats",
    "ensemble_size",
    "target_channel",
    "autoregressive",
    "loss",
    "quantiles",
    "method",
)


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


def _same(fitted: object, now: object) -> bool:
    """Whether two values of a parameter are the same (sequences by their
    items: a tuple, a list and an array of the same numbers are)."""
    sequences = (list, tuple, np.ndarray)
    if isinstance(fitted, sequences) or isinstance(now, sequences):
        if not (isinstance(fitted, sequences) and isinstance(now, sequences)):
            return False
        return np.array_equal(np.asarray(fitted, object), np.asarray(now, object))
    if fitted is None or now is None:
        return fitted is now
    return bool(fitted == now)


def _recorded(history, key: str) -> list[float]:
    """The values of ``key`` in the epochs of a skorch history that have it."""
    return [float(row[key]) for row in history if key in row]


class TrainingMixin:
    """``_fit`` and the training helpers of :class:`~skgru._base.BaseGRU`."""

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
        if continuing:
            self._check_network_params("partial_fit" if incremental else "warm_start")
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
        if not incremental and not stopper.interrupted_:
            self._finish_training(net, dataset)
        self.net_ = net
        self.loss_curve_ = _recorded(net.history, "train_loss")
        if self.early_stopping:
            # epochs of partial_fit have no validation loss: left out
            self.validation_loss_curve_ = _recorded(net.history, "valid_loss")
            if self._validation_score is not None:
                self.validation_scores_ = _recorded(net.history, "valid_score")
        self.n_iter_ = len(self.loss_curve_)
        self._fitted_window = layout.window
        self._network_params = self._network_params_now()
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

    def _network_params_now(self) -> dict:
        """The values of this estimator's ``NETWORK_PARAMS``."""
        params = self.get_params(deep=False)
        return {name: params[name] for name in NETWORK_PARAMS if name in params}

    def _check_network_params(self, how: str) -> None:
        """A continued fit keeps the network: refuse parameters that would
        describe another one than it is (a model saved or pickled before
        they were recorded is not checked)."""
        fitted = getattr(self, "_network_params", None)
        if fitted is None:
            return
        now = self._network_params_now()
        changed = [name for name in fitted if not _same(fitted[name], now.get(name))]
        if changed:
            was = ", ".join(f"{name}={fitted[name]!r}" for name in changed)
            asked = ", ".join(f"{name}={now.get(name)!r}" for name in changed)
            fresh = "call fit" if how == "partial_fit" else "fit with warm_start=False"
            raise ValueError(
                f"{how} continues the fitted network, which was built with {was}, "
                f"but the estimator now has {asked}. Set them back, or {fresh} "
                "to build a new network."
            )

    def _module_kwargs(self, layout: Layout) -> dict:
        """Arguments of the :class:`GRUNetwork` fitted on ``layout``."""
        norm, out = self._revin_channels(layout)
        return dict(
            n_channels=layout.n_channels,
            n_outputs=self._n_outputs(layout),
            # plain Python values: torch's GRU refuses numpy ints and bools,
            # which a grid such as {"hidden_size": np.arange(16, 129, 16)} gives
            hidden_size=int(self.hidden_size),
            num_layers=int(self.num_layers),
            dropout=float(self.dropout),
            bidirectional=bool(self.bidirectional),
            norm_channels=norm,
            output_channels=out,
            **self._architecture_kwargs(layout),
        )

    def _train_split(self, layout: Layout, seed: int, targets: torch.Tensor | None):
        """skorch ``train_split`` of ``early_stopping``: the hold-out."""
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
