"""The inference loop: every sample through the network, in fixed-shape batches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._windows import INFERENCE_ROW_MULTIPLE, WindowDataset, inference_batches

# Time steps per inference batch (rows x window) on several threads: 1024
# windows of 32 steps, 256 of 128, which gives each thread enough work per
# step. Measured fastest for the reference loop and skgru on 2 cores; a fixed
# number of rows would fall off for long windows.
INFERENCE_STEPS = 32768

# Rows per inference batch on one thread, at most: 256 windows of 32 ran 6%
# faster than 1024 on one thread (and 256 of 128 fastest too), while two
# threads ran 1024 windows of 32 22% faster than 256 (benchmarks/RESULTS.md).
INFERENCE_ROWS_ONE_THREAD = 256


def _finite(out: np.ndarray) -> np.ndarray:
    """``out``, unless the network produced NaN or infinity: never return those."""
    if not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).any(axis=tuple(range(1, out.ndim))).sum())
        raise FloatingPointError(
            f"The network's output is NaN or infinite for {bad} sample(s), so "
            "no prediction is returned. X is finite, so its values are too "
            "extreme for float32 (rescale X) or the weights are broken (fit "
            "again with a lower learning_rate_init)."
        )
    return out


def _to_device(batch, device: torch.device):
    if isinstance(batch, dict):
        return {k: v.to(device) for k, v in batch.items()}
    return batch.to(device)


def forward_all(
    module: torch.nn.Module,
    dataset: WindowDataset,
    threads: Callable[[int], object],
    fn: Callable | None = None,
) -> np.ndarray:
    """Module outputs for every sample, in fixed-shape batches (float32).

    A batch holds about ``INFERENCE_STEPS`` time steps, and at most
    ``INFERENCE_ROWS_ONE_THREAD`` rows on one CPU thread; its rows are padded
    to a multiple of ``INFERENCE_ROW_MULTIPLE`` (see ``inference_batches``).
    ``threads(batch_rows)`` is the thread-count context to run in. With
    ``fn``, ``fn(inputs, targets)`` is computed per batch instead. NaN or
    infinite outputs raise ``FloatingPointError``.
    """
    device = module.x_mean.device  # a buffer: quantized modules have no parameters
    steps = dataset.window or dataset.x.shape[1]
    batch_size = max(INFERENCE_ROW_MULTIPLE, INFERENCE_STEPS // steps)
    n = len(dataset)
    result = None
    done = 0
    with torch.inference_mode(), threads(min(batch_size, n)):
        if device.type == "cpu" and torch.get_num_threads() == 1:
            batch_size = min(batch_size, INFERENCE_ROWS_ONE_THREAD)
        for positions, n_real in inference_batches(n, batch_size):
            xb = _to_device(dataset.inputs(positions), device)
            if fn is None:
                out = module(**xb) if isinstance(xb, dict) else module(xb)
            else:
                out = fn(xb, _to_device(dataset.targets(positions), device))
            out = out[:n_real].cpu()
            if n_real == n:  # a single batch: nothing to assemble
                return _finite(out.numpy())
            if result is None:  # one output array, filled batch by batch
                result = torch.empty((n, *out.shape[1:]))
            result[done : done + n_real] = out
            done += n_real
    return _finite(result.numpy())
