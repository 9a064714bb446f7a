"""Statistics for the standardisation the estimators do inside."""

from __future__ import annotations

import numpy as np
import torch

from ._validation import Layout

# Rows per chunk when computing input statistics.
STATS_CHUNK_ROWS = 65536


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


def channel_stats(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over all real time steps."""
    x = layout.x
    if layout.lengths is not None:
        steps = np.arange(x.shape[1])
        x = x[steps[None, :] < layout.lengths[:, None]]
    return column_stats(x.reshape(-1, layout.n_channels))
