"""The output layer of a forecasting GRURegressor, solved in closed form.

With the linear autoregressive term (``autoregressive``), the regressor's
output is linear in the GRU's features and the window's normalised target
values. Trained with dropout, that layer shrinks towards the window's mean,
and a forecast fed back step after step compounds the shrinkage: on solar
(``benchmarks/FORECASTING.md``) the GRU's one-step errors were close to a
linear autoregression's (MASE 0.27 and 0.23), but its 48-step forecasts
damped the daily cycle to half its height (1.4 and 0.6). After training, the
layer is therefore solved again, twice, by ridge regression on the training
windows, each with the penalty of the least leave-one-out error: on the
features and the lags, and on the lags alone (a linear autoregression). The
network keeps the mean of the two maps, an equal-weight forecast combination
of the GRU and the linear model it extends (Zhang, 2003).

Everything is computed in two passes over the training windows, a batch at
a time: the design's moments, then the leave-one-out errors of every
penalty. Memory grows with the number of columns, never with the series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from ._inference import _to_device
from ._windows import WindowDataset

# Penalties tried; the columns are GRU features (within [-1, 1]) and
# normalised values, so one grid fits every data set. None below 1: on a
# noise-free target the least leave-one-out error took 1e-3, whose weights of
# 1e4 float32 (ONNX Runtime, int8) could not reproduce to 1e-5.
ALPHAS = np.logspace(0, 3, 7)

# Windows per batch of the pass over the training windows.
READOUT_BATCH_ROWS = 1024


def design_batches(
    network: torch.nn.Module,
    dataset: WindowDataset,
    threads: Callable[[int], object],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``network``'s readout design and targets (normalised like its
    outputs) over ``dataset``, a batch of samples at a time (float64)."""
    device = network.x_mean.device
    n = len(dataset)
    with torch.inference_mode(), threads(min(READOUT_BATCH_ROWS, n)):
        for start in range(0, n, READOUT_BATCH_ROWS):
            positions = torch.arange(start, min(start + READOUT_BATCH_ROWS, n))
            inputs, targets = dataset.batch(positions)
            inputs = _to_device(inputs, device)
            if isinstance(inputs, dict):
                design, mean, scale = network.readout_design(**inputs)
            else:
                design, mean, scale = network.readout_design(inputs)
            normalised = (targets.to(device) - mean) / scale
            yield design.double().cpu().numpy(), normalised.double().cpu().numpy()


class RidgeGrid:
    """Ridge regressions with an intercept of the targets on ``columns`` of
    the design, one per penalty of ``alphas``, from the design's moments.

    ``weights(i)`` are penalty ``i``'s weights ``(k, len(columns))`` and
    intercepts; :meth:`add_loo` adds a batch's leave-one-out squared errors
    (summed over targets) to ``loo``, per penalty.
    """

    def __init__(self, moments: dict, columns: np.ndarray, alphas: np.ndarray):
        n = moments["n"]
        self.columns, self.n = columns, n
        self.z_mean = z_mean = moments["z"][columns] / n
        self.t_mean = moments["t"] / n
        gram = moments["zz"][np.ix_(columns, columns)] - n * np.outer(z_mean, z_mean)
        cross = moments["zt"][columns] - n * np.outer(z_mean, self.t_mean)
        eigenvalues, self.vectors = np.linalg.eigh(gram)
        rotated = self.vectors.T @ cross  # (p, k)
        # (alphas, p): each penalty's shrinkage of the rotated directions
        eigenvalues = np.clip(eigenvalues, 0.0, None)
        self.shrink = 1.0 / (eigenvalues[None, :] + alphas[:, None])
        self.coefs = rotated[None] * self.shrink[:, :, None]  # (alphas, p, k)
        self.loo = np.zeros(len(alphas))

    def add_loo(self, z: np.ndarray, t: np.ndarray) -> None:
        q = (z[:, self.columns] - self.z_mean) @ self.vectors  # (b, p)
        fitted = np.einsum("bp,apk->abk", q, self.coefs)
        errors = (t - self.t_mean)[None] - fitted  # (alphas, b, k)
        leverage = 1.0 / self.n + (q**2) @ self.shrink.T  # (b, alphas)
        left = np.clip(1.0 - leverage.T, 1e-12, None)[:, :, None]
        self.loo += ((errors / left) ** 2).sum(axis=(1, 2))

    def weights(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        weight = (self.vectors @ self.coefs[i]).T
        return weight, self.t_mean - weight @ self.z_mean


def fit_readout(
    module: torch.nn.Module,
    dataset: WindowDataset,
    threads: Callable[[int], object],
) -> None:
    """Set the output layer of ``module`` (of each member of an ensemble)
    to the mean of the ridge readouts on all of its design's columns and on
    the autoregressive term's columns alone (see the module docstring),
    each with the penalty of the least leave-one-out error. ``module`` must
    be in eval mode and have the autoregressive term."""
    for network in getattr(module, "members", [module]):
        moments: dict = {}
        for z, t in design_batches(network, dataset, threads):
            sums = {"z": z.sum(0), "t": t.sum(0), "zz": z.T @ z, "zt": z.T @ t}
            moments = {k: moments.get(k, 0) + value for k, value in sums.items()}
        moments["n"] = len(dataset)
        every = np.arange(len(moments["z"]))
        ridges = [
            RidgeGrid(moments, every, ALPHAS),
            RidgeGrid(moments, every[network.head.in_features :], ALPHAS),
        ]
        for z, t in design_batches(network, dataset, threads):
            for ridge in ridges:
                ridge.add_loo(z, t)
        (weight, bias), (linear, linear_bias) = (
            ridge.weights(int(np.argmin(ridge.loo))) for ridge in ridges
        )
        weight = 0.5 * weight
        weight[:, ridges[1].columns] += 0.5 * linear
        dtype = network.head.weight.dtype
        network.set_readout(
            torch.as_tensor(weight, dtype=dtype),
            torch.as_tensor(0.5 * (bias + linear_bias), dtype=dtype),
        )
