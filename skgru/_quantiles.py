"""Quantile regression for GRURegressor (``loss="quantile"``).

Pure torch and numpy. One network gives every quantile of every target: its
outputs are ``(n, n_targets * n_quantiles)``, target by target. Training
minimises the pinball loss; at prediction the quantiles of each target are
sorted, so they never cross (the rearrangement of Chernozhukov, Fernandez-Val
and Galichon, 2010, which can only lower the pinball loss).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.metrics import r2_score
from torch import nn


class PinballLoss(nn.Module):
    """Mean pinball (quantile) loss of outputs ``(n, k * q)`` against
    targets ``(n, k)``, for the ``q`` levels of ``quantiles``."""

    def __init__(self, quantiles: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("levels", torch.tensor(quantiles, dtype=torch.float32))

    def forward(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n, q = len(target), len(self.levels)
        errors = target.reshape(n, -1, 1) - outputs.reshape(n, -1, q)
        return torch.maximum(self.levels * errors, (self.levels - 1) * errors).mean()


def check_quantiles(quantiles: object) -> np.ndarray:
    """``quantiles`` as a sorted float array of distinct levels in (0, 1)."""
    levels = np.asarray(quantiles, dtype=object).ravel()
    ok = len(levels) > 0 and all(
        isinstance(v, Real) and not isinstance(v, bool) and 0 < v < 1 for v in levels
    )
    if not ok or len(set(levels)) != len(levels):
        raise ValueError(
            f"quantiles must be distinct floats in (0, 1), e.g. (0.05, 0.5, "
            f"0.95), got {quantiles!r}."
        )
    return np.sort(levels.astype(np.float64))


def median_index(levels: np.ndarray) -> int:
    """The level nearest 0.5: the one ``predict`` answers with."""
    return int(np.argmin(np.abs(levels - 0.5)))


def sorted_outputs(outputs: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Outputs ``(n, k * q)`` as ``(n, k, q)``, sorted along the levels."""
    return np.sort(outputs.reshape(len(outputs), -1, n_quantiles), axis=-1)


class MedianR2:
    """R² of the median outputs, the validation score of ``early_stopping``
    (picklable, so the fitted net pickles)."""

    def __init__(self, n_quantiles: int, median: int) -> None:
        self.n_quantiles = n_quantiles
        self.median = median

    def __call__(self, y_true, y_pred) -> float:
        y_pred = np.asarray(y_pred).reshape(len(y_pred), -1, self.n_quantiles)
        return r2_score(y_true, y_pred[..., self.median])


def interval_levels(levels: np.ndarray, coverage: float) -> tuple[int, int]:
    """Indices of the levels ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``."""
    wanted = np.array([(1 - coverage) / 2, (1 + coverage) / 2])
    # to float32's resolution: a coverage given as np.float32(0.8) is
    # 0.800000011920929 as a Python float, and still asks for 0.1 and 0.9
    where = [np.flatnonzero(np.isclose(levels, w, rtol=0, atol=1e-6)) for w in wanted]
    if not all(len(w) for w in where):
        raise ValueError(
            f"coverage={coverage} needs the quantiles {wanted[0]:g} and "
            f"{wanted[1]:g}, but the model was fitted with quantiles="
            f"{tuple(levels.tolist())}: ask for a coverage between two of them "
            "symmetric about 0.5, or refit with those quantiles."
        )
    return int(where[0][0]), int(where[1][0])


def conformal_bounds(
    lower: np.ndarray, upper: np.ndarray, half: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bounds widened by the conformal ``half`` (CQR; it may be
    negative and narrow them), never crossing: where they would, both are
    their midpoint."""
    if half is None:
        return lower, upper
    lower, upper = lower - half, upper + half
    middle = (lower + upper) / 2
    crossed = lower > upper
    return np.where(crossed, middle, lower), np.where(crossed, middle, upper)


def conformity_scores(
    lower: np.ndarray, upper: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """CQR's scores ``max(lower - y, y - upper)``, sorted per target."""
    return np.sort(np.maximum(lower - y, y - upper), axis=0)
