"""GRUAnomalyDetector's errors, scores and held-out calibration, as a mixin.

``HeldOutScoresMixin`` turns the network's errors into the detector's
scores with the rules of ``_scores`` (units, channel scales, smoothing,
warm-up rows) and sets every scale and ``offset_`` from samples that ``fit``
held out of training.
"""

from __future__ import annotations

import numpy as np
import torch

from ._layers import window_stats
from ._scores import (
    WARMUP_ROWS,
    auto_threshold,
    channel_errors,
    channel_scale,
    rate_threshold,
    smooth,
    warmup_factors,
    warmup_rows,
)
from ._stats import float32_pair
from ._training import AUTO_BATCH_SIZE
from ._validation import Layout
from ._windows import WindowDataset, latest_last, to_tensor

# The scoring rules a fitted detector uses: 1, before the held-out calibration
# (errors in training units, averaged over channels; what older pickles and
# model files hold); 2, the rules of ``_scores``.
SCORING = 2

# batch_size="auto" in series layout: see _auto_batch_size
MAX_AUTO_BATCH_SIZE = 256


class HeldOutScoresMixin:
    """Errors, scores and calibration of GRUAnomalyDetector."""

    def _batch_errors(self, xb, yb: torch.Tensor, combine: bool = True) -> torch.Tensor:
        """Errors of a batch's samples (targets standardised): per channel, or
        (``combine``) one per sample, as ``skgru._scores`` describes."""
        module = self.net_.module_
        pred = module(**xb) if isinstance(xb, dict) else module(xb)
        n_channels = len(self._input_stats[0])
        diff = (yb - pred).reshape(len(yb), -1, n_channels)
        if getattr(self, "_scoring", 1) == 1:  # fitted before SCORING 2
            errors = (diff**2).mean(dim=1)
            return errors.mean(dim=1) if combine else errors
        x, lengths = (xb["x"], xb["lengths"]) if isinstance(xb, dict) else (xb, None)
        _, window_scale = window_stats(module.standardize(x), lengths)
        errors = channel_errors(diff, window_scale)
        if not combine:
            return errors
        scale = torch.as_tensor(self._channel_scale, dtype=errors.dtype)
        return (errors / scale.to(errors.device)).max(dim=1).values

    def _errors(self, dataset: WindowDataset, combine: bool = True) -> np.ndarray:
        """:meth:`_batch_errors` of every sample of ``dataset`` (float64)."""
        errors = self._forward(
            dataset, lambda xb, yb: self._batch_errors(xb, yb, combine)
        )
        return errors.astype(np.float64)

    def _span(self) -> int:
        """Rows a series-layout score averages (1 for older fitted detectors)."""
        return self.smoothing if getattr(self, "_scoring", 1) > 1 else 1

    def _row_errors(self, layout: Layout) -> np.ndarray:
        """The error each answer comes from: in series layout, warm-up rows
        scaled down and every row averaged with the ones before it."""
        errors = self._errors(self._dataset(layout))
        if layout.window is None:
            return errors
        warmup = getattr(self, "_warmup", np.ones(0))
        groups = layout.groups
        if groups is None:
            warmup = warmup[: len(errors)]
            errors[: len(warmup)] /= warmup
            return smooth(errors, self._span())
        # the first rows of each series, and smoothing within each series
        early = groups.rank < len(warmup)
        errors[early] /= warmup[groups.rank[early]]
        order = groups.order.numpy()
        smoothed = np.empty_like(errors)
        smoothed[order] = smooth(errors[order], self._span(), groups.rank[order])
        return smoothed

    def _stream_rows(
        self, outputs: np.ndarray, position: int, recent: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        # as _row_errors, for the row at ``position`` of the stream
        error = outputs[:1].astype(np.float64)
        warmup = getattr(self, "_warmup", np.ones(0))
        if position < len(warmup):
            error = error / warmup[position]
        recent = np.append(recent, error)[-self._span() :]
        return smooth(recent, len(recent))[-1:], recent

    def _auto_batch_size(self) -> int:
        # Series layout: a batch of at least as many windows as a window has
        # rows (in multiples of 32, at most 256). Neighbouring windows share
        # all rows but one, so a long window's batches can be larger at
        # little loss: at window_size=256 on 3,750 rows, batches of 256 fitted
        # in 42 s (34 epochs), batches of 32 in 165 s (87), equally well.
        if self.window_size is None:
            return AUTO_BATCH_SIZE
        multiple = -(-self.window_size // AUTO_BATCH_SIZE)
        return min(AUTO_BATCH_SIZE * multiple, MAX_AUTO_BATCH_SIZE)

    def _training_dataset(self, layout: Layout, targets, seed: int) -> WindowDataset:
        """The samples the network trains on; the others calibrate the scores.

        Series layout holds out the last ``calibration_fraction`` of the rows
        (the rows nearest in time to new data), sequence layout a random
        ``calibration_fraction`` of the sequences.
        """
        dataset = self._dataset(layout)
        n = len(dataset)
        # validate_data asks for 2 samples at least: one of each part
        n_held = min(max(1, int(round(self.calibration_fraction * n))), n - 1)
        if layout.window is None:
            order = np.random.default_rng(seed).permutation(n)
        elif layout.groups is None:
            order = np.arange(n)
        else:  # the last rows of each series
            order = latest_last(layout.groups, np.arange(n))
        self._held_out = np.sort(order[n - n_held :])
        return dataset.subset(np.sort(order[: n - n_held]))

    def _warmup_factors(self, layout: Layout, held_out: np.ndarray) -> np.ndarray:
        """How much larger the errors of held-out rows are when a call starts
        0, 1, ... rows before them (see ``skgru._scores.warmup_factors``)."""
        pad = self._series_pad()
        if pad == 0:
            return np.ones(0)
        rows = held_out[np.linspace(0, len(held_out) - 1, WARMUP_ROWS).astype(int)]
        rows = np.unique(rows)
        x = to_tensor(layout.x)
        groups = layout.groups
        if groups is None:
            index = warmup_rows(rows, pad, layout.window)
        else:  # in each series' own rows, padded with its first row
            where = groups.position[torch.as_tensor(rows)]
            index = warmup_rows(where.numpy(), pad, layout.window)
            first = groups.first[torch.as_tensor(rows)].repeat_interleave(pad)
            index = groups.order[torch.maximum(index, first[:, None])]
        inputs = x[index]
        if self.method == "forecast":
            targets = x[torch.as_tensor(rows)].repeat_interleave(pad, dim=0)
        else:
            targets = inputs
        scaling = float32_pair(*self._input_stats)
        short = self._errors(WindowDataset(inputs, targets, y_scaling=scaling))
        full = self._errors(self._dataset(layout).subset(rows))
        return warmup_factors(short.reshape(len(rows), pad), full)

    def _calibrate(self, layout: Layout) -> None:
        """Scales, warm-up factors and ``offset_``, from the errors of the
        held-out samples (the network did not train on them)."""
        held_out = self._held_out
        dataset = self._dataset(layout)
        self._scoring = SCORING
        self._channel_scale = channel_scale(
            self._errors(dataset.subset(held_out), combine=False)
        )
        series = layout.window is not None
        self._warmup = self._warmup_factors(layout, held_out) if series else np.ones(0)
        self._error_scale = 1.0
        # the held-out errors as predict on the training data computes them
        errors = self._row_errors(layout)
        held_errors = errors[held_out]
        scale = held_errors.mean()
        self._error_scale = float(scale) if scale > 0 else 1.0
        if self.contamination == "auto":
            self.offset_ = -auto_threshold(held_errors / self._error_scale)
        elif self.novelty:
            # the share of new normal data that is flagged
            self.offset_ = -rate_threshold(
                held_errors / self._error_scale, self.contamination
            )
        else:
            # scikit-learn's outlier-detection meaning: that share of the
            # training data (the held-out samples with the others) is flagged
            scores = self._answer("score_samples", errors)
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
