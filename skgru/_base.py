"""The base every skgru estimator shares (not exported).

It holds the parameters, validation, seeding, the private skorch net and the
inference loop. Subclasses say what the targets are, which loss to use and
which channels are normalised per window.
"""

from __future__ import annotations

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._module import GRUNetwork
from ._net import RandomSplit, StopWhenConverged, TailSplit, build_net
from ._validation import Layout, validate_input
from ._windows import (
    INFERENCE_ROW_MULTIPLE,
    WindowDataset,
    inference_batches,
    to_tensor,
)

# n_threads="auto": one torch thread for steps smaller than this many
# (batch rows x hidden units); the caller's thread count for larger ones. On a
# 2-core machine, one thread was as fast or faster below it and a second
# thread gained 7-20% above it (benchmarks/RESULTS.md).
THREADS_AUTO_MIN_WORK = 4096

# Upper bound of batch_size="auto".
AUTO_BATCH_SIZE = 32

# Rows per chunk when computing input statistics.
STATS_CHUNK_ROWS = 65536

# Time steps per inference batch (rows x window): 1024 windows of 32 steps,
# 256 of 128. Measured fastest for both the reference loop and skgru on this
# CPU; a fixed number of rows would fall off for long windows.
INFERENCE_STEPS = 32768


def column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of a 2-D array.

    Computed in float64 over chunks of rows, so a long series is never
    copied whole (a float64 copy of a float32 series would double it). A
    constant column gets a standard deviation of 1.
    """
    chunks = range(0, len(x), STATS_CHUNK_ROWS)
    total = sum(
        x[i : i + STATS_CHUNK_ROWS].sum(axis=0, dtype=np.float64) for i in chunks
    )
    mean = total / len(x)
    squares = sum(
        ((x[i : i + STATS_CHUNK_ROWS] - mean) ** 2).sum(axis=0) for i in chunks
    )
    std = np.sqrt(squares / len(x))
    std[~(std > 1e-12)] = 1.0
    return mean, std


def float32_pair(
    mean: np.ndarray, scale: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, scale)`` as float32 tensors, for per-batch standardisation."""
    return (
        torch.tensor(mean, dtype=torch.float32),
        torch.tensor(scale, dtype=torch.float32),
    )


def _channel_stats(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over all real time steps."""
    x = layout.x
    if layout.lengths is not None:
        steps = np.arange(x.shape[1])
        x = x[steps[None, :] < layout.lengths[:, None]]
    return column_stats(x.reshape(-1, layout.n_channels))


def _to_device(batch, device: torch.device):
    if isinstance(batch, dict):
        return {k: v.to(device) for k, v in batch.items()}
    return batch.to(device)


class BaseGRU(BaseEstimator):
    """Parameters, training and inference shared by the skgru estimators."""

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "bidirectional": ["boolean"],
        "window_size": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
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
        max_iter=200,
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
        self.max_iter = max_iter
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
        self, y: np.ndarray | None, layout: Layout, reset: bool
    ) -> torch.Tensor | None:
        """Training targets as a tensor; ``reset`` (a new fit) records the encoding."""
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

    def _criterion(self) -> tuple[type, dict]:
        return torch.nn.MSELoss, {}

    def _stratify(self, targets: torch.Tensor | None) -> np.ndarray | None:
        """Labels to stratify a random validation split by (classifiers)."""
        return None

    # ------------------------------------------------------------------ helpers
    @property
    def module_(self) -> torch.nn.Module:
        """The trained :class:`torch.nn.Module` (held by ``net_``)."""
        return self.net_.module_

    def _validate(
        self, X, y=None, *, reset: bool, fitting: bool = False
    ) -> tuple[Layout, np.ndarray | None]:
        """Validate ``X``; when ``fitting`` a supervised estimator, ``y`` too.

        ``reset`` (a new fit, not a warm-started one) records
        ``n_features_in_`` and ``feature_names_in_``; otherwise ``X`` must
        match them, and its layout must match the fitted network.
        """
        params = self._y_params() if fitting else None
        layout, y = validate_input(
            self, X, y, reset=reset, window_size=self.window_size, y_params=params
        )
        if not reset and layout.n_channels != len(self._input_stats[0]):
            raise ValueError(
                f"X gives {layout.n_channels} channel(s) per time step, but "
                f"{type(self).__name__} was fitted on "
                f"{len(self._input_stats[0])}: pass X in the layout used for fit "
                "(2-D univariate sequences, 3-D sequences or a series)."
            )
        return layout, y

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
        )

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            # Batches of at most AUTO_BATCH_SIZE samples, as equal as possible:
            # a small last batch makes the epoch's last step a noisy one.
            n_batches = -(-n // AUTO_BATCH_SIZE)
            return -(-n // n_batches)
        return min(self.batch_size, n)

    @contextlib.contextmanager
    def _seeded(self, seed: int):
        """Seed torch for the block, restoring the caller's RNG states after."""
        device = torch.device(self.device)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    @contextlib.contextmanager
    def _threads(self, batch_rows: int):
        """Run the block on the torch thread count ``n_threads`` chooses.

        ``"auto"``: one thread when ``batch_rows * hidden_size`` is below
        ``THREADS_AUTO_MIN_WORK``, else the caller's ``torch.get_num_threads()``.
        The caller's setting is restored afterwards.
        """
        caller = torch.get_num_threads()
        if self.n_threads != "auto":
            wanted = self.n_threads
        elif batch_rows * self.hidden_size < THREADS_AUTO_MIN_WORK:
            wanted = 1
        else:
            wanted = caller
        if wanted == caller:
            yield
            return
        torch.set_num_threads(wanted)
        try:
            yield
        finally:
            torch.set_num_threads(caller)

    # --------------------------------------------------------------------- fit
    def _fit(self, X, y=None) -> Layout:
        """Validate, build or reuse the net, train; return the validated input."""
        continuing = self.warm_start and hasattr(self, "net_")
        layout, y = self._validate(X, y, reset=not continuing, fitting=True)
        if continuing and layout.window != self._fitted_window:
            raise ValueError(
                "warm_start=True continues the previous fit, which used "
                f"window_size={self._fitted_window}; refit with warm_start=False "
                "to change the layout."
            )
        if not continuing:
            self._input_stats = _channel_stats(layout)
        targets = self._encode_targets(y, layout, not continuing)
        dataset = self._dataset(layout, targets)

        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        batch_rows = self._batch_size(len(dataset))
        with self._seeded(seed), self._threads(batch_rows):
            net = self.net_ if continuing else self._build_net(layout, seed, targets)
            stopper = dict(net.callbacks_)["stop_when_converged"]
            if continuing:  # this call's stopping parameters apply
                net.max_epochs = self.max_iter
                stopper.tol, stopper.n_iter_no_change = self.tol, self.n_iter_no_change
            net.partial_fit(dataset, None)
        self.net_ = net
        self.net_.module_.eval()
        self.loss_curve_ = [float(v) for v in net.history[:, "train_loss"]]
        if self.early_stopping:
            self.validation_loss_curve_ = [
                float(v) for v in net.history[:, "valid_loss"]
            ]
        self.n_iter_ = len(self.loss_curve_)
        self._fitted_window = layout.window
        if not stopper.converged_:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} "
                f"epochs before the loss stopped improving by tol={self.tol}. "
                "Increase max_iter, or raise learning_rate_init.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return layout

    def _build_net(self, layout: Layout, seed: int, targets: torch.Tensor | None):
        norm, out = self._revin_channels(layout)
        module = GRUNetwork(
            layout.n_channels,
            self._n_outputs(layout),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            norm_channels=norm,
            output_channels=out,
        )
        mean, std = self._input_stats
        module.set_input_scaling(torch.as_tensor(mean), torch.as_tensor(std))
        criterion, criterion_kwargs = self._criterion()
        if not self.early_stopping:
            train_split = None
        elif layout.window is not None:
            train_split = TailSplit(self.validation_fraction)
        else:
            train_split = RandomSplit(
                self.validation_fraction, seed, self._stratify(targets)
            )
        stopper = StopWhenConverged(
            "valid_loss" if self.early_stopping else "train_loss",
            self.tol,
            self.n_iter_no_change,
        )
        net = build_net(
            module,
            criterion,
            criterion_kwargs=criterion_kwargs,
            learning_rate=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=self._batch_size(layout.n_samples),
            device=str(self.device),
            seed=seed,
            train_split=train_split,
            stopper=stopper,
            verbose=self.verbose,
        )
        return net.initialize()

    # --------------------------------------------------------------- inference
    def _forward(self, dataset: WindowDataset, fn=None) -> np.ndarray:
        """Module outputs for every sample, in fixed-shape batches (float32).

        A batch holds about ``INFERENCE_STEPS`` time steps; its rows are
        padded to a multiple of ``INFERENCE_ROW_MULTIPLE`` (see
        ``inference_batches``). With ``fn``, ``fn(inputs, targets)`` is
        computed per batch instead.
        """
        module = self.net_.module_
        device = next(module.parameters()).device
        steps = dataset.window or dataset.x.shape[1]
        batch_size = max(INFERENCE_ROW_MULTIPLE, INFERENCE_STEPS // steps)
        n = len(dataset)
        result = None
        done = 0
        with torch.inference_mode(), self._threads(min(batch_size, n)):
            for positions, n_real in inference_batches(n, batch_size):
                xb = _to_device(dataset.inputs(positions), device)
                if fn is None:
                    out = module(**xb) if isinstance(xb, dict) else module(xb)
                else:
                    out = fn(xb, _to_device(dataset.targets(positions), device))
                out = out[:n_real].cpu()
                if n_real == n:  # a single batch: nothing to assemble
                    return out.numpy()
                if result is None:  # one output array, filled batch by batch
                    result = torch.empty((n, *out.shape[1:]))
                result[done : done + n_real] = out
                done += n_real
        return result.numpy()

    def _predict_layout(self, X) -> Layout:
        check_is_fitted(self)
        layout, _ = self._validate(X, reset=False)
        return layout
