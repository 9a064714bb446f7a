"""Building blocks of :class:`skgru._module.GRUNetwork`, in torch only.

* :func:`window_stats`, the per-window mean and scale used by the reversible
  instance normalisation (RevIN, Kim et al. 2022), and its variance floors;
* the pooling of states over the real (not padded) steps of a window;
* :class:`ConvBranch`, the fully convolutional branch of GRU-FCN (Karim et
  al. 2017, Elsayed et al. 2018): convolution, batch norm and ReLU blocks,
  averaged over time.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Variance floors of the per-window normalisation, in units of the globally
# standardised input. A window of a series keeps a scale of at least about 0.03
# global standard deviations, so that a flat stretch of the series does not blow
# a tiny change up. A whole recording (sequence layout) is z-normalised down to
# 1e-5 global standard deviations, as UCR practice does every recording: where
# recordings' amplitudes span orders of magnitude, the floor of a window would
# flatten the shape of every quiet recording.
WINDOW_VAR_EPS = 1e-3
SAMPLE_VAR_EPS = 1e-10


def _time_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """Mask of shape ``(batch, time, 1)``, true on real (not padded) steps."""
    if lengths is None:
        return None
    steps = torch.arange(x.shape[1], device=x.device)
    return (steps[None, :] < lengths.to(x.device)[:, None]).unsqueeze(-1)


# How the GRU's states over time become one vector per sample: its last
# state, their mean or maximum over the (real) steps, or the three side by side
POOLINGS = ("last", "mean", "max", "concat")


def window_stats(
    x: torch.Tensor, lengths: torch.Tensor | None = None, eps: float = WINDOW_VAR_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and scale of every channel of every window over time.

    Parameters
    ----------
    x : tensor of shape (batch, time, channels)
    lengths : tensor of shape (batch,), optional
        Number of real steps of each window; later steps are padding and
        are left out of the statistics.
    eps : float, default=WINDOW_VAR_EPS
        Added to the variance before its square root.

    Returns
    -------
    mean, scale : tensors of shape (batch, channels)
    """
    mask = _time_mask(x, lengths)
    if mask is None:
        mean = x.mean(dim=1)
        var = x.var(dim=1, unbiased=False)
    else:
        count = mask.sum(dim=1).clamp(min=1)
        mean = (x * mask).sum(dim=1) / count
        var = (((x - mean[:, None, :]) * mask) ** 2).sum(dim=1) / count
    return mean, torch.sqrt(var + eps)


def _masked_pool(
    out: torch.Tensor, mask: torch.Tensor | None, how: str
) -> torch.Tensor:
    """Mean or maximum of ``out`` (batch, time, features) over real steps."""
    if how == "mean":
        if mask is None:
            return out.mean(dim=1)
        return (out * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    if mask is not None:
        out = out.masked_fill(~mask, float("-inf"))
    return out.amax(dim=1)


class ConvBranch(nn.Module):
    """Blocks of ``Conv1d`` (``filters[i]`` filters of width
    ``kernel_sizes[i]``, padded to keep the length), batch norm and ReLU,
    then the mean over the real steps: GRU-FCN's convolutional branch."""

    def __init__(
        self, n_channels: int, filters: list[int], kernel_sizes: list[int]
    ) -> None:
        super().__init__()
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        width = n_channels
        for n_filters, kernel in zip(filters, self.kernel_sizes, strict=True):
            self.convs.append(nn.Conv1d(width, int(n_filters), kernel))
            self.norms.append(nn.BatchNorm1d(int(n_filters)))
            width = int(n_filters)
        self.n_features = width

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = x.transpose(1, 2)  # (batch, channels, time)
        channel_mask = None if mask is None else mask.transpose(1, 2)
        if channel_mask is not None:
            h = h * channel_mask  # padding reads as zeros, in every block
        for conv, norm, kernel in zip(
            self.convs, self.norms, self.kernel_sizes, strict=True
        ):
            h = F.pad(h, ((kernel - 1) // 2, kernel // 2))
            h = torch.relu(norm(conv(h)))
            if channel_mask is not None:
                h = h * channel_mask
        return _masked_pool(h.transpose(1, 2), mask, "mean")
