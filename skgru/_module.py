"""The torch network behind every skgru estimator.

This module imports torch only: no scikit-learn, no skorch. It holds

* :func:`window_stats`, the per-window mean and scale used by the reversible
  instance normalisation (RevIN, Kim et al. 2022);
* :class:`GRUNetwork`, a GRU followed by a linear head, with the global input
  standardisation stored as buffers so that the module alone maps raw inputs
  to outputs in the standardised target space. To train on the CPU, the GRU
  runs through :func:`skgru._gru_cpu.gru_last_states`: ``nn.GRU``'s
  parameters and arithmetic without autograd's per-step overhead.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ._gru_cpu import gru_last_states, handles

# Variance floor of the per-window normalisation, in units of the globally
# standardised input. It keeps the scale of a flat window at about 0.03 global
# standard deviations, so a constant stretch does not blow a tiny change up.
WINDOW_VAR_EPS = 1e-3


def _time_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """Mask of shape ``(batch, time, 1)``, true on real (not padded) steps."""
    if lengths is None:
        return None
    steps = torch.arange(x.shape[1], device=x.device)
    return (steps[None, :] < lengths.to(x.device)[:, None]).unsqueeze(-1)


def window_stats(
    x: torch.Tensor, lengths: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and scale of every channel of every window over time.

    Parameters
    ----------
    x : tensor of shape (batch, time, channels)
    lengths : tensor of shape (batch,), optional
        Number of real steps of each window; later steps are padding and
        are left out of the statistics.

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
    return mean, torch.sqrt(var + WINDOW_VAR_EPS)


class GRUNetwork(nn.Module):
    """GRU encoder and linear head with built-in input standardisation.

    ``forward`` takes raw input windows and returns predictions in the
    standardised target space (the space the training loss is computed in).

    Parameters
    ----------
    n_channels : int
        Number of input channels (features per time step).
    n_outputs : int
        Width of the linear head.
    hidden_size, num_layers, dropout, bidirectional
        As in :class:`torch.nn.GRU`.
    norm_channels : sequence of int, optional
        Channels normalised per window by their own mean and scale (RevIN).
    output_channels : sequence of int, optional
        For each output unit, the input channel whose window statistics map
        it back (``output * scale + mean``). Needs ``norm_channels``.
    """

    def __init__(
        self,
        n_channels: int,
        n_outputs: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        norm_channels: list[int] | None = None,
        output_channels: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(
            n_channels,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)
        self._init_gru()
        self.register_buffer("x_mean", torch.zeros(n_channels))
        self.register_buffer("x_scale", torch.ones(n_channels))
        norm = torch.zeros(n_channels, dtype=torch.bool)
        if norm_channels is not None:
            norm[list(norm_channels)] = True
        self.register_buffer("norm_mask", norm)
        self.revin = bool(norm.any())  # a plain flag: no tensor op per call
        out = torch.as_tensor(
            output_channels if output_channels is not None else [], dtype=torch.long
        )
        self.register_buffer("output_channels", out)

    def _init_gru(self) -> None:
        """Keras' GRU initialisation: Xavier-uniform input weights, orthogonal
        recurrent weights (per gate), zero biases. Orthogonal recurrent
        weights keep gradients alive over long sequences."""
        hidden = self.gru.hidden_size
        for name, param in self.gru.named_parameters():
            if name.startswith("weight_ih"):
                for gate in param.data.split(hidden):
                    nn.init.xavier_uniform_(gate)
            elif name.startswith("weight_hh"):
                for gate in param.data.split(hidden):
                    nn.init.orthogonal_(gate)
            else:
                nn.init.zeros_(param)

    def set_input_scaling(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Store the global per-channel standardisation of the inputs."""
        self.x_mean.copy_(mean)
        self.x_scale.copy_(scale)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the global per-channel standardisation."""
        return (x - self.x_mean) / self.x_scale

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.standardize(x)
        revin = self.revin
        if revin:
            mean, scale = window_stats(x, lengths)
            mean = torch.where(self.norm_mask, mean, torch.zeros_like(mean))
            scale = torch.where(self.norm_mask, scale, torch.ones_like(scale))
            x = (x - mean[:, None, :]) / scale[:, None, :]
        if lengths is not None:
            packed = pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, h_n = self.gru(packed)
        elif handles(self.gru, x):
            h_n = gru_last_states(self.gru, x)
        else:
            _, h_n = self.gru(x)
        if self.gru.bidirectional:
            last = torch.cat([h_n[-2], h_n[-1]], dim=1)
        else:
            last = h_n[-1]
        out = self.head(last)
        if revin and self.output_channels.numel():
            out = out * scale[:, self.output_channels] + mean[:, self.output_channels]
        return out
