"""The private skorch net each estimator builds in ``fit``.

skorch runs the training loop, history and device handling. skgru gives it a
dataset that gathers whole batches by index (:mod:`skgru._windows`), no
validation split unless ``early_stopping=True``, no printing unless
``verbose``, and one callback that implements scikit-learn's stopping rule.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping

from ._adam import Adam
from ._windows import BatchIterator, WindowDataset, latest_last

# Gradients of a GRU over long sequences occasionally explode; clipping their
# global norm keeps one bad batch from undoing many epochs of training.
GRADIENT_CLIP_NORM = 1.0


# learning_rate="adaptive": a plateau divides the learning rate by this
# factor, at most ADAPTIVE_REDUCTIONS times; the next plateau stops training.
ADAPTIVE_FACTOR = 5.0
ADAPTIVE_REDUCTIONS = 2


class StopWhenConverged(Callback):
    """``MLPRegressor``'s stopping rule, with the last finished epoch kept safe.

    After each epoch, the monitored loss counts as an improvement when it is
    below the best loss so far minus ``tol``; ``n_iter_no_change`` epochs in a
    row without one (a plateau) stop training. With ``reductions`` > 0
    (``learning_rate="adaptive"``), each of the first ``reductions`` plateaus
    divides the learning rate by ``ADAPTIVE_FACTOR`` instead, and training
    goes on; every fit starts from the net's initial rate. With
    ``keep_best`` (``early_stopping``), training ends on the weights of the
    epoch with the lowest monitored loss, as ``MLPRegressor`` keeps its
    best validation epoch.

    It also keeps a copy of the weights and optimizer state of the last
    finished epoch (a few copies of the parameters; nothing next to an
    epoch's work) and puts them back when training ends badly:

    * a non-finite loss: raises ``FloatingPointError`` saying what to change;
    * a ``KeyboardInterrupt`` inside an epoch, which skorch swallows: the
      half-trained epoch is dropped from the history and ``interrupted_`` is
      set, for the estimator to say so.
    """

    def __init__(
        self,
        monitor: str,
        tol: float,
        n_iter_no_change: int,
        reductions: int = 0,
        keep_best: bool = False,
    ) -> None:
        self.monitor = monitor
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.reductions = reductions
        self.keep_best = keep_best

    def initialize(self) -> StopWhenConverged:
        self.best_ = math.inf
        self.no_improvement_ = 0
        self.converged_ = False
        self.interrupted_ = False
        self.epochs_ = 0
        self.reduced_ = 0
        self.best_weights_ = None
        return self

    def on_train_begin(self, net, **kwargs) -> None:
        self.initialize()
        self._set_lr(net, net.lr)
        self._save(net)

    @staticmethod
    def _set_lr(net, lr: float) -> None:
        for group in net.optimizer_.param_groups:
            group["lr"] = lr

    def _save(self, net) -> None:
        module = net.module_.state_dict()
        self.saved_ = (
            {k: v.detach().clone() for k, v in module.items()},
            copy.deepcopy(net.optimizer_.state_dict()),
            len(net.history),
        )

    def _restore(self, net) -> None:
        module, optimizer, epochs = self.saved_
        net.module_.load_state_dict(module)
        net.optimizer_.load_state_dict(optimizer)
        del net.history[epochs:]

    def on_epoch_end(self, net, **kwargs) -> None:
        loss = net.history[-1, self.monitor]
        if not math.isfinite(loss):
            self._restore(net)
            raise FloatingPointError(
                f"Training diverged: the {self.monitor.replace('_', ' ')} became "
                f"{loss} at epoch {len(net.history) + 1}. Lower learning_rate_init "
                f"(it is {net.lr}), and check X and y for extreme values."
            )
        self._save(net)
        self.epochs_ += 1
        if loss > self.best_ - self.tol:
            self.no_improvement_ += 1
        else:
            self.no_improvement_ = 0
        if loss < self.best_ and self.keep_best:
            self.best_weights_ = self.saved_[0]  # this epoch's, just saved
        self.best_ = min(self.best_, loss)
        if self.no_improvement_ < self.n_iter_no_change:
            return
        if self.reduced_ < self.reductions:
            self.reduced_ += 1
            self.no_improvement_ = 0
            self._set_lr(net, net.lr / ADAPTIVE_FACTOR**self.reduced_)
        else:
            self.converged_ = True
            # skorch's documented way to end training early from a callback.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs) -> None:
        # Training ended before max_epochs without converging: skorch caught
        # a KeyboardInterrupt that was not ours.
        if not self.converged_ and self.epochs_ < net.max_epochs:
            self.interrupted_ = True
            self._restore(net)
        elif self.best_weights_ is not None:
            net.module_.load_state_dict(self.best_weights_)
        self.saved_ = self.best_weights_ = None  # no copies kept after training


class ValidationScore(Callback):
    """Records ``valid_score`` after each epoch: ``score(y_true, y_pred)`` on
    the validation batches' targets and outputs, which skorch has just
    computed for the validation loss (no extra forward pass)."""

    def __init__(self, score) -> None:
        self.score = score

    def on_epoch_begin(self, net, **kwargs) -> None:
        self.true_, self.pred_ = [], []

    def on_batch_end(self, net, batch, training, **kwargs) -> None:
        if not training:
            self.true_.append(batch[1])
            self.pred_.append(kwargs["y_pred"].detach().cpu())

    def on_epoch_end(self, net, **kwargs) -> None:
        if self.pred_:
            y_true = torch.cat(self.true_).numpy()
            y_pred = torch.cat(self.pred_).numpy()
            net.history.record("valid_score", float(self.score(y_true, y_pred)))
        self.true_ = self.pred_ = None


def accuracy_of_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    """Accuracy of the classes that ``logits`` rank first."""
    return float(np.mean(logits.argmax(axis=1) == y_true))


class EpochProgress(Callback):
    """``verbose=1``: one tqdm progress bar over a fit's epochs, showing the
    last training (and validation) loss. It writes to stderr, as tqdm does,
    and in a notebook it is a widget."""

    def on_train_begin(self, net, **kwargs) -> None:
        from tqdm.auto import tqdm  # skorch depends on tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", desc="fit", leave=True)

    def on_epoch_end(self, net, **kwargs) -> None:
        row = net.history[-1]
        losses = {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "bar_": None}  # a live bar does not pickle


class TailSplit:
    """A skorch ``train_split`` holding out the last ``fraction`` of samples
    (with groups, the last rows of each series, in proportion to its length).

    Used in series layout, where neighbouring windows overlap: a random split
    would validate on windows that share rows with training windows.
    """

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def __call__(self, dataset: WindowDataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = max(1, int(round(self.fraction * n)))
        if dataset.groups is None:
            order = np.arange(n)
        else:  # the last rows of every series, not the last series
            rows = np.arange(n) if dataset.index is None else dataset.index.numpy()
            order = latest_last(dataset.groups, rows)
        return dataset.subset(np.sort(order[:-n_valid])), dataset.subset(
            np.sort(order[-n_valid:])
        )


class RandomSplit:
    """A skorch ``train_split`` holding out a random ``fraction`` of samples,
    stratified by ``stratify`` when given (classifiers)."""

    def __init__(self, fraction: float, seed: int, stratify: np.ndarray | None) -> None:
        self.fraction = fraction
        self.seed = seed
        self.stratify = stratify

    def __call__(self, dataset: WindowDataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = max(1, math.ceil(self.fraction * n))  # as train_test_split
        stratify = self.stratify
        if stratify is not None:
            classes, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2:  # a class of one sample cannot be split
                stratify = None
            else:  # every class in both parts
                n_valid = min(max(n_valid, len(classes)), n - len(classes))
        if n_valid >= n:
            raise ValueError(
                f"early_stopping holds out validation_fraction={self.fraction} of "
                f"{n} samples, which leaves none to train on: pass more samples "
                "or set early_stopping=False."
            )
        train, valid = train_test_split(
            np.arange(n),
            test_size=n_valid,
            random_state=self.seed,
            stratify=stratify,
        )
        return dataset.subset(train), dataset.subset(valid)


def build_net(
    module: type[torch.nn.Module],
    module_kwargs: dict,
    criterion: type,
    *,
    criterion_kwargs: dict,
    learning_rate: float,
    max_epochs: int,
    batch_size: int,
    device: str,
    seed: int,
    validation: bool,
    validation_score,
    stopper: StopWhenConverged,
    verbose: int,
) -> NeuralNet:
    """Build (not yet initialise) the skorch net that trains a ``module``.

    The module is given as a class and its arguments, for skorch to create:
    a module instance passed in would stay referenced by the net's
    ``module`` parameter, where pickle stores a second copy of the weights,
    outside skorch's device mapping (a CUDA-fitted model would then fail to
    unpickle on a CPU-only machine).

    skorch calls every callback on every batch, so the ones with nothing to
    do are switched off: the validation loss without ``validation``, and
    skorch's epoch table unless ``verbose >= 2``. ``verbose=1`` shows a
    progress bar over the epochs instead. The ``train_split`` is set by each fit call,
    for its own data.
    """
    unused = {}
    if verbose < 2:
        unused["callbacks__print_log"] = None
    if not validation:
        unused["callbacks__valid_loss"] = None
    return NeuralNet(
        module=module,
        criterion=criterion,
        optimizer=Adam,  # torch.optim's Adam, without torch's compiler (see _adam)
        lr=learning_rate,
        max_epochs=max_epochs,
        batch_size=batch_size,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=seed,
        iterator_valid=BatchIterator,
        train_split=None,
        callbacks=[
            ("gradient_norm_clipping", GradientNormClipping(GRADIENT_CLIP_NORM)),
            # before the stopper, whose end of training skips later callbacks
            *(
                [("validation_score", ValidationScore(validation_score))]
                if validation and validation_score is not None
                else []
            ),
            *([("progress", EpochProgress())] if verbose else []),
            ("stop_when_converged", stopper),
        ],
        predict_nonlinearity=None,
        verbose=verbose,
        device=device,
        **{f"module__{k}": v for k, v in module_kwargs.items()},
        **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
        **unused,
    )
