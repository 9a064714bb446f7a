"""The torch network behind every skgru estimator.

This module imports torch only: no scikit-learn, no skorch. It holds
:class:`GRUNetwork`, a GRU (optionally over patches of steps) whose states are
pooled over time, an optional convolutional branch beside it
(:class:`skgru._layers.ConvBranch`), and a linear head. The global input
standardisation is stored as buffers, so the module alone maps raw inputs to
outputs in the standardised target space. To train on the CPU, the GRU runs
through :func:`skgru._gru_cpu.gru_states`: ``nn.GRU``'s parameters and
arithmetic without autograd's per-step overhead.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._gru_cpu import gru_states, handles
from ._layers import (
    POOLINGS,
    WINDOW_VAR_EPS,
    ConvBranch,
    _masked_pool,
    _time_mask,
    window_stats,
)


class GRUNetwork(nn.Module):
    """GRU encoder, optional convolutional branch and linear head, with
    built-in input standardisation.

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
    pooling : {"last", "mean", "max", "concat"}, default="last"
        How the GRU's states over time become the head's input: the last
        state, their mean or maximum over the real steps, or the three
        concatenated.
    patch_size : int, default=1
        Steps the GRU reads at once: the sequence is cut into patches of
        ``patch_size`` steps (its start zero-padded, after normalisation, to
        a whole number of patches), and each GRU step reads one patch's
        values.
    conv_filters, conv_kernel_sizes : sequence of int, optional
        A :class:`ConvBranch` beside the GRU, over the same patches, whose
        output the head reads too; none when empty.
    stats_features : bool, default=False
        The head also reads each sample's mean and log scale of the
        ``norm_channels``, which the per-window normalisation removed.
    feature_dropout : float, default=0.0
        Dropout on the features the head reads, in training.
    keep_standardised : bool, default=False
        The GRU (and the convolutional branch) read the globally
        standardised channels beside the per-window normalised ones.
    ar_window : int, default=0
        With ``output_channels`` (and ``norm_channels``): a linear
        autoregressive term (LSTNet's "highway") added to the output before
        it is scaled back, a linear map of the last ``ar_window`` normalised
        values of the output channels, starting at zero, which reads them
        through ``feature_dropout`` too. 0: none.
    norm_eps : float, default=WINDOW_VAR_EPS
        Variance floor of the per-window normalisation (``SAMPLE_VAR_EPS``
        for whole recordings).
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
        pooling: str = "last",
        patch_size: int = 1,
        conv_filters: list[int] | None = None,
        conv_kernel_sizes: list[int] | None = None,
        stats_features: bool = False,
        feature_dropout: float = 0.0,
        keep_standardised: bool = False,
        ar_window: int = 0,
        norm_eps: float = WINDOW_VAR_EPS,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}.")
        self.pooling = pooling
        self.patch_size = int(patch_size)
        self.keep_standardised = bool(keep_standardised)
        self.norm_eps = float(norm_eps)
        width = n_channels * (2 if self.keep_standardised else 1) * self.patch_size
        self.gru = nn.GRU(
            width,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        states = hidden_size * (2 if bidirectional else 1)
        features = states * (3 if pooling == "concat" else 1)
        self.conv = (
            ConvBranch(
                width,
                list(conv_filters),
                list(conv_kernel_sizes or []),
            )
            if conv_filters
            else None
        )
        if self.conv is not None:
            features += self.conv.n_features
        self.stats_features = bool(stats_features)
        if self.stats_features:
            features += 2 * int(len(norm_channels or []))
        self.feature_dropout = nn.Dropout(feature_dropout) if feature_dropout else None
        self.head = nn.Linear(features, n_outputs)
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
        self.ar = None
        self.ar_window = int(ar_window) if out.numel() and self.revin else 0
        if self.ar_window:
            self.register_buffer("ar_channels", out.unique())
            width = self.ar_window * len(self.ar_channels)
            self.ar = nn.Linear(width, n_outputs, bias=False)
            nn.init.zeros_(self.ar.weight)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        # a module pickled before these options existed: the plain GRU
        for name, value in (
            ("pooling", "last"),
            ("patch_size", 1),
            ("stats_features", False),
            ("keep_standardised", False),
            ("conv", None),
            ("feature_dropout", None),
            ("ar", None),
            ("ar_window", 0),
            ("norm_eps", WINDOW_VAR_EPS),
        ):
            if name not in self.__dict__ and name not in self._modules:
                self.__dict__[name] = value

    @property
    def plain(self) -> bool:
        """Whether the network is a GRU read step by step, of which only the
        last state reaches the head (what a row-by-row stream can carry)."""
        return (
            self.pooling == "last"
            and self.patch_size == 1
            and self.conv is None
            and self.ar is None
        )

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

    def _patches(
        self, x: torch.Tensor, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` cut into patches of ``patch_size`` steps, one per GRU step,
        and the number of patches of each sample."""
        p = self.patch_size
        if p == 1:
            return x, lengths
        batch, steps, channels = x.shape
        if lengths is not None:  # each sequence moves right by its own shortfall
            lengths = lengths.to(x.device)
            shift = -lengths % p
            steps = int((lengths + shift).max())
            source = torch.arange(steps, device=x.device)[None, :] - shift[:, None]
            real = (source >= 0) & (source < lengths[:, None])
            index = source.clamp(0, x.shape[1] - 1)[:, :, None].expand(-1, -1, channels)
            x = torch.gather(x, 1, index) * real[:, :, None]
            lengths = (lengths + shift) // p
        elif steps % p:
            x = F.pad(x, (0, 0, -steps % p, 0))
            steps += -steps % p
        return x.reshape(batch, steps // p, p * channels), lengths

    def _gru_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """The GRU's states over the patches ``x``, pooled over the real
        steps (``mask``)."""
        states = None
        if lengths is not None:
            packed = pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            packed_out, h_n = self.gru(packed)
            if self.pooling != "last":
                states, _ = pad_packed_sequence(
                    packed_out, batch_first=True, total_length=x.shape[1]
                )
        elif handles(self.gru, x):
            states, h_n = gru_states(self.gru, x)
        else:
            states, h_n = self.gru(x)
        if self.gru.bidirectional:
            last = torch.cat([h_n[-2], h_n[-1]], dim=1)
        else:
            last = h_n[-1]
        if self.pooling == "last":
            return last
        if self.pooling != "concat":
            return _masked_pool(states, mask, self.pooling)
        pooled = [_masked_pool(states, mask, how) for how in ("mean", "max")]
        return torch.cat([last, *pooled], dim=1)

    def _head(self, features: torch.Tensor) -> torch.Tensor:
        """The linear head. With several outputs, each row's outputs are
        summed on their own: a matrix product's kernel sums a row differently
        with its place in the batch, so the same sample would get other last
        bits in another batch. (int8 copies keep their quantized layer.)"""
        head = self.head
        if type(head) is not nn.Linear or head.out_features == 1:
            return head(features)
        return (features.unsqueeze(1) * head.weight).sum(dim=-1) + head.bias

    def _head_inputs(self, x: torch.Tensor, lengths: torch.Tensor | None):
        """What the head and the autoregressive term read, before dropout:
        the features, the output channels' last normalised values (None
        without the term), and the per-window mean and scale (None without
        per-window normalisation)."""
        x = self.standardize(x)
        mean = scale = past = None
        if self.revin:
            mean, scale = window_stats(x, lengths, self.norm_eps)
            mean = torch.where(self.norm_mask, mean, torch.zeros_like(mean))
            scale = torch.where(self.norm_mask, scale, torch.ones_like(scale))
            normalised = (x - mean[:, None, :]) / scale[:, None, :]
            if self.ar is not None:
                past = normalised[:, -self.ar_window :, self.ar_channels].flatten(1)
            keep = self.keep_standardised
            x = torch.cat([x, normalised], dim=2) if keep else normalised
        x, lengths = self._patches(x, lengths)
        mask = _time_mask(x, lengths)
        features = self._gru_features(x, lengths, mask)
        if self.conv is not None:
            features = torch.cat([features, self.conv(x, mask)], dim=1)
        if self.stats_features:
            stats = [mean[:, self.norm_mask], scale[:, self.norm_mask].log()]
            features = torch.cat([features, *stats], dim=1)
        return features, past, mean, scale

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        features, past, mean, scale = self._head_inputs(x, lengths)
        dropout = self.feature_dropout
        out = self._head(features if dropout is None else dropout(features))
        if past is not None:  # read with the same dropout as the features
            out = out + self.ar(past if dropout is None else dropout(past))
        if self.revin and self.output_channels.numel():
            out = out * scale[:, self.output_channels] + mean[:, self.output_channels]
        return out

    @torch.no_grad()
    def readout_design(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The columns the output layer maps linearly (the head's features,
        then the autoregressive term's values), and each output's mean and
        scale: in eval mode, ``forward`` is ``(design @ W.T + b) * scale +
        mean`` with :meth:`set_readout`'s ``W`` and ``b``."""
        features, past, mean, scale = self._head_inputs(x, lengths)
        design = features if past is None else torch.cat([features, past], dim=1)
        shape = (len(design), self.head.out_features)
        if not (self.revin and self.output_channels.numel()):
            return design, design.new_zeros(shape), design.new_ones(shape)
        return design, mean[:, self.output_channels], scale[:, self.output_channels]

    @torch.no_grad()
    def set_readout(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the output layer to the linear map ``weight`` (outputs x
        :meth:`readout_design` columns) plus ``bias``."""
        n_features = self.head.in_features
        self.head.weight.copy_(weight[:, :n_features])
        self.head.bias.copy_(bias)
        if self.ar is not None:
            self.ar.weight.copy_(weight[:, n_features:])
