"""A fitted :class:`~skgru._module.GRUNetwork` written as ONNX nodes.

Each function adds the nodes of one part of the network's ``forward`` to a
:class:`Graph` and returns the name of its output: the input
standardisation, the per-window normalisation (RevIN), the patches, ONNX's
own ``GRU`` operator for every layer and the pooling, the convolutional
branch, the linear head and the autoregressive term. An ensemble is the mean
of its members' graphs. :mod:`skgru.export._onnx` adds what each estimator
makes of the network's outputs.
"""

from __future__ import annotations

import numpy as np
import torch

from .._ensemble import GRUEnsemble
from .._module import GRUNetwork


class Graph:
    """A tiny builder: nodes, constants and fresh value names."""

    def __init__(self, onnx) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value, hint: str = "const", dtype=np.float32) -> str:
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, **attrs):
        outputs = attrs.pop("outputs", 1)
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names


def _gru_weights(gru: torch.nn.GRU, layer: int) -> tuple[np.ndarray, ...]:
    """ONNX ``W, R, B`` of one layer: gates reordered from torch's (r, z, n)
    to ONNX's (z, r, h), directions stacked."""
    hidden = gru.hidden_size
    suffixes = ["", "_reverse"] if gru.bidirectional else [""]

    def reorder(weight: torch.Tensor) -> np.ndarray:
        r, z, n = weight.detach().float().cpu().split(hidden)
        return torch.cat([z, r, n]).numpy()

    w, r, b = [], [], []
    for suffix in suffixes:
        w.append(reorder(getattr(gru, f"weight_ih_l{layer}{suffix}")))
        r.append(reorder(getattr(gru, f"weight_hh_l{layer}{suffix}")))
        b.append(
            np.concatenate(
                [
                    reorder(getattr(gru, f"bias_ih_l{layer}{suffix}")),
                    reorder(getattr(gru, f"bias_hh_l{layer}{suffix}")),
                ]
            )
        )
    return np.stack(w), np.stack(r), np.stack(b)


def network(g: Graph, module, x: str) -> str:
    """The graph of ``module.forward`` on raw windows ``x`` (batch, time, f):
    one network's, or the mean of an ensemble's members'."""
    if isinstance(module, GRUEnsemble):
        outputs = [_member(g, member, x) for member in module.members]
        return g.op("Div", g.op("Sum", *outputs), g.const(len(outputs)))
    return _member(g, module, x)


def _member(g: Graph, module: GRUNetwork, x: str) -> str:
    """The graph of one :class:`GRUNetwork`'s ``forward``."""
    x_mean = module.x_mean.detach().cpu().numpy()
    x_scale = module.x_scale.detach().cpu().numpy()
    xs = g.op("Div", g.op("Sub", x, g.const(x_mean, "x_mean")), g.const(x_scale))
    if module.revin:
        # per-window mean and scale over time, of the channels in norm_mask
        mask = module.norm_mask.cpu().numpy().astype(np.float32)
        mean = g.op("ReduceMean", xs, axes=[1], keepdims=1)
        dev = g.op("Sub", xs, mean)
        var = g.op("ReduceMean", g.op("Mul", dev, dev), axes=[1], keepdims=1)
        scale = g.op("Sqrt", g.op("Add", var, g.const(module.norm_eps)))
        mean = g.op("Mul", mean, g.const(mask, "norm_mask"))
        scale = g.op("Add", g.op("Mul", scale, g.const(mask)), g.const(1 - mask))
        normalised = g.op("Div", g.op("Sub", xs, mean), scale)
        if module.keep_standardised:
            xs = g.op("Concat", xs, normalised, axis=2)
        else:
            xs = normalised
    xs = _patches(g, module, xs)
    features = _gru_features(g, module, xs)
    if module.conv is not None:
        features = g.op("Concat", features, _conv_branch(g, module.conv, xs), axis=1)
    if module.stats_features:
        # each sample's mean and log scale of the normalised channels
        channels = np.flatnonzero(module.norm_mask.cpu().numpy())
        stats = [_channels(g, stat, channels) for stat in (mean, g.op("Log", scale))]
        features = g.op("Concat", features, *stats, axis=1)
    head = module.head
    out = g.op(
        "Gemm",
        features,
        g.const(head.weight.detach().cpu().numpy(), "head_weight"),
        g.const(head.bias.detach().cpu().numpy(), "head_bias"),
        transB=1,
    )
    if module.ar is not None:  # the linear term on the last normalised values
        channels = g.const(module.ar_channels.cpu().numpy(), "ar_channels", np.int64)
        past = g.op("Gather", normalised, channels, axis=2)
        past = time_slice(g, past, -module.ar_window, np.iinfo(np.int64).max)
        past = g.op("Reshape", past, g.const([0, -1], "shape", np.int64))
        weight = module.ar.weight.detach().cpu().numpy().T
        out = g.op("Add", out, g.op("MatMul", past, g.const(weight, "ar_weight")))
    if module.revin and module.output_channels.numel():
        channels = module.output_channels.cpu().numpy()
        out_mean, out_scale = (_channels(g, stat, channels) for stat in (mean, scale))
        out = g.op("Add", g.op("Mul", out, out_scale), out_mean)
    return out


def _channels(g: Graph, stat: str, channels: np.ndarray) -> str:
    """The given channels of a per-window statistic (batch, 1, channels), as
    (batch, len(channels))."""
    index = g.const(channels.astype(np.int64), "channels", np.int64)
    picked = g.op("Gather", stat, index, axis=2)
    return g.op("Squeeze", picked, g.const([1], "axis", np.int64))


def _patches(g: Graph, module: GRUNetwork, xs: str) -> str:
    """``xs`` (batch, time, f) cut into patches of ``patch_size`` steps, the
    start zero-padded to a whole number of patches (any length of input)."""
    p = module.patch_size
    if p == 1:
        return xs
    steps = g.op("Gather", g.op("Shape", xs), g.const([1], "axis", np.int64))
    size = g.const([p], "patch", np.int64)
    short = g.op("Mod", g.op("Sub", size, g.op("Mod", steps, size)), size)
    zeros = g.const([0], "zero", np.int64)
    pads = g.op("Concat", zeros, short, zeros, zeros, zeros, zeros, axis=0)
    padded = g.op("Pad", xs, pads)
    width = module.gru.input_size  # p steps of every channel the GRU reads
    return g.op("Reshape", padded, g.const([0, -1, width], "shape", np.int64))


def _conv_branch(g: Graph, conv, xs: str) -> str:
    """GRU-FCN's branch: Conv, BatchNormalization (inference) and Relu per
    block, then the mean over time."""
    h = g.op("Transpose", xs, perm=[0, 2, 1])  # (batch, channels, time)
    blocks = zip(conv.convs, conv.norms, conv.kernel_sizes, strict=True)
    for layer, norm, kernel in blocks:
        h = g.op(
            "Conv",
            h,
            g.const(layer.weight.detach().cpu().numpy(), "conv_w"),
            g.const(layer.bias.detach().cpu().numpy(), "conv_b"),
            kernel_shape=[kernel],
            pads=[(kernel - 1) // 2, kernel // 2],
        )
        h = g.op(
            "BatchNormalization",
            h,
            g.const(norm.weight.detach().cpu().numpy(), "bn_scale"),
            g.const(norm.bias.detach().cpu().numpy(), "bn_bias"),
            g.const(norm.running_mean.detach().cpu().numpy(), "bn_mean"),
            g.const(norm.running_var.detach().cpu().numpy(), "bn_var"),
            epsilon=norm.eps,
        )
        h = g.op("Relu", h)
    return g.op("ReduceMean", h, axes=[2], keepdims=0)


def _gru_features(g: Graph, module: GRUNetwork, xs: str) -> str:
    """The stacked GRU over ``xs`` (batch, time, f), pooled as ``module.pooling``."""
    gru = module.gru
    directions = 2 if gru.bidirectional else 1
    h = g.op("Transpose", xs, perm=[1, 0, 2])  # time-major, as ONNX's GRU reads
    for layer in range(gru.num_layers):
        w, r, b = _gru_weights(gru, layer)
        y, y_h = g.op(
            "GRU",
            h,
            g.const(w, f"W{layer}"),
            g.const(r, f"R{layer}"),
            g.const(b, f"B{layer}"),
            hidden_size=gru.hidden_size,
            linear_before_reset=1,  # torch's GRU applies r after the product
            direction="bidirectional" if gru.bidirectional else "forward",
            outputs=2,
            hint=f"gru{layer}",
        )
        # (time, directions, batch, hidden) -> (time, batch, directions*hidden)
        h = g.op("Transpose", y, perm=[0, 2, 1, 3])
        h = g.op("Reshape", h, g.const([0, 0, -1], "shape", np.int64))
    # last hidden state of the top layer; forward before backward, as torch.cat
    last = g.op("Transpose", y_h, perm=[1, 0, 2])
    last = g.op(
        "Reshape", last, g.const([0, gru.hidden_size * directions], "shape", np.int64)
    )
    if module.pooling == "last":
        return last
    # h: the top layer's states, (time, batch, directions * hidden)
    reduce = {"mean": "ReduceMean", "max": "ReduceMax"}
    if module.pooling in reduce:
        return g.op(reduce[module.pooling], h, axes=[0], keepdims=0)
    pooled = [g.op(op, h, axes=[0], keepdims=0) for op in reduce.values()]
    return g.op("Concat", last, *pooled, axis=1)  # "concat"


def time_slice(g: Graph, x: str, start: int, end: int) -> str:
    """Time steps ``start:end`` of ``x`` (batch, time, f); negative from the end."""
    return g.op(
        "Slice",
        x,
        g.const([start], "start", np.int64),
        g.const([end], "end", np.int64),
        g.const([1], "axis", np.int64),
    )
