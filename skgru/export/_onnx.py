"""ONNX export of a fitted estimator's whole inference path.

The graph is written operator by operator from the fitted network (no
tracing): the input standardisation, the per-window normalisation (RevIN)
when the estimator uses it, ONNX's own ``GRU`` operator for every layer, the
linear head, and the estimator's post-processing. It needs only the ``onnx``
package to write, and any ONNX runtime to run.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._ensemble import GRUEnsemble
from .._module import WINDOW_VAR_EPS, GRUNetwork
from .._quantiles import median_index
from .._scores import UNIT_FLOOR

# ONNX opset of the graph: ReduceMean still takes its axes as an attribute,
# and runtimes from 2022 on (onnxruntime >= 1.13) load it.
OPSET = 17
IR_VERSION = 8


def import_onnx():
    """The ``onnx`` module, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "Exporting to ONNX needs the onnx package: pip install 'skgru[onnx]' "
            "(which also installs onnxruntime to run the graph)."
        ) from error
    return onnx


class _Graph:
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


def _network(g: _Graph, module, x: str) -> str:
    """The graph of ``module.forward`` on raw windows ``x`` (batch, time, f):
    one network's, or the mean of an ensemble's members'."""
    if isinstance(module, GRUEnsemble):
        outputs = [_member(g, member, x) for member in module.members]
        return g.op("Div", g.op("Sum", *outputs), g.const(len(outputs)))
    return _member(g, module, x)


def _member(g: _Graph, module: GRUNetwork, x: str) -> str:
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
        past = _steps(g, past, -module.ar_window, np.iinfo(np.int64).max)
        past = g.op("Reshape", past, g.const([0, -1], "shape", np.int64))
        weight = module.ar.weight.detach().cpu().numpy().T
        out = g.op("Add", out, g.op("MatMul", past, g.const(weight, "ar_weight")))
    if module.revin and module.output_channels.numel():
        channels = module.output_channels.cpu().numpy()
        out_mean, out_scale = (_channels(g, stat, channels) for stat in (mean, scale))
        out = g.op("Add", g.op("Mul", out, out_scale), out_mean)
    return out


def _channels(g: _Graph, stat: str, channels: np.ndarray) -> str:
    """The given channels of a per-window statistic (batch, 1, channels), as
    (batch, len(channels))."""
    index = g.const(channels.astype(np.int64), "channels", np.int64)
    picked = g.op("Gather", stat, index, axis=2)
    return g.op("Squeeze", picked, g.const([1], "axis", np.int64))


def _patches(g: _Graph, module: GRUNetwork, xs: str) -> str:
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


def _conv_branch(g: _Graph, conv, xs: str) -> str:
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


def _gru_features(g: _Graph, module: GRUNetwork, xs: str) -> str:
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


def _labels(classes: np.ndarray) -> np.ndarray:
    """``classes_`` as an array ONNX can hold: numbers, booleans or strings."""
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64) if classes.dtype.kind != "b" else classes
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    return np.array([str(c) for c in classes], dtype=object)


def _steps(g: _Graph, x: str, start: int, end: int) -> str:
    """Time steps ``start:end`` of ``x`` (batch, time, f); negative from the end."""
    return g.op(
        "Slice",
        x,
        g.const([start], "start", np.int64),
        g.const([end], "end", np.int64),
        g.const([1], "axis", np.int64),
    )


def _detector_error(g: _Graph, est, x: str) -> str:
    """The detector's error of each window of ``x`` (see ``skgru._scores``)."""
    module = est.module_
    mean, scale = (np.asarray(v, np.float32) for v in est._input_stats)
    if est.method == "forecast":  # the rows read, then the row judged
        history = _steps(g, x, 0, -1)
        target = g.op("Gather", x, g.const(np.int64(-1), "last", np.int64), axis=1)
    else:
        history, target = x, x
    target = g.op("Div", g.op("Sub", target, g.const(mean)), g.const(scale))
    target = g.op("Reshape", target, g.const([0, -1], "shape", np.int64))
    diff = g.op("Sub", target, _network(g, module, history))
    # (batch, steps judged, channels)
    diff = g.op("Reshape", diff, g.const([0, -1, len(mean)], "shape3", np.int64))
    if getattr(est, "_scoring", 1) == 1:  # fitted before the held-out scores
        error = g.op("ReduceMean", g.op("Mul", diff, diff), axes=[1], keepdims=0)
        return g.op("ReduceMean", error, axes=[1], keepdims=0)
    # in units of max(the window's std, UNIT_FLOOR), per channel
    xs = g.op("Div", g.op("Sub", history, g.const(mean)), g.const(scale))
    dev = g.op("Sub", xs, g.op("ReduceMean", xs, axes=[1], keepdims=1))
    var = g.op("ReduceMean", g.op("Mul", dev, dev), axes=[1], keepdims=1)
    window_scale = g.op("Sqrt", g.op("Add", var, g.const(WINDOW_VAR_EPS)))
    window_scale = g.op("Max", window_scale, g.const(UNIT_FLOOR))
    diff = g.op("Div", diff, window_scale)
    error = g.op("ReduceMean", g.op("Mul", diff, diff), axes=[1], keepdims=0)
    channel_scale = np.asarray(est._channel_scale, np.float32)
    error = g.op("Div", error, g.const(channel_scale, "channel_scale"))
    return g.op("ReduceMax", error, axes=[1], keepdims=0)


def _outputs(g: _Graph, est, x: str) -> dict[str, tuple[str, np.dtype, list]]:
    """The graph's outputs, named after the estimator's methods: each one's
    value, element type and shape."""
    from .._classifier import GRUClassifier
    from .._detector import GRUAnomalyDetector

    module = est.module_
    if isinstance(est, GRUAnomalyDetector):
        span = est._span() if est._fitted_window is not None else 1
        if span == 1:
            error = _detector_error(g, est, x)
        else:  # the row's error, or the mean error of the last `span` rows
            # when larger; their windows stacked along the batch, one network
            steps = est._series_pad() + 1
            windows = [_steps(g, x, i, i + steps) for i in range(span)]
            error = _detector_error(g, est, g.op("Concat", *windows, axis=0))
            error = g.op("Reshape", error, g.const([span, -1], "by_row", np.int64))
            own = g.op("Gather", error, g.const(np.int64(span - 1), "own", np.int64))
            mean = g.op("ReduceMean", error, axes=[0], keepdims=0)
            error = g.op("Max", own, mean)  # see skgru._scores.smooth
        scores = g.op("Div", g.op("Neg", error), g.const(est._error_scale))
        decision = g.op("Sub", scores, g.const(est.offset_))
        labels = g.op(
            "Where",
            g.op("Less", decision, g.const(0.0)),
            g.const(-1, "outlier", np.int64),
            g.const(1, "inlier", np.int64),
        )
        return {
            "score_samples": (scores, np.float32, ["batch"]),
            "decision_function": (decision, np.float32, ["batch"]),
            "predict": (labels, np.int64, ["batch"]),
        }
    out = _network(g, module, x)
    if isinstance(est, GRUClassifier):
        proba = g.op("Softmax", out, axis=1)
        index = g.op("ArgMax", out, axis=1, keepdims=0)
        classes = _labels(est.classes_)
        labels = g.op("Gather", g.const(classes, "classes", None), index)
        return {
            "predict": (labels, classes.dtype, ["batch"]),
            "predict_proba": (proba, np.float32, ["batch", len(classes)]),
        }
    if getattr(est, "loss", None) == "quantile":
        return _quantile_outputs(g, est, out)
    pred = g.op(
        "Add",
        g.op("Mul", out, g.const(est._y_scale, "y_scale")),
        g.const(est._y_mean, "y_mean"),
    )
    if est._y_ndim == 1:
        pred = g.op("Reshape", pred, g.const([-1], "shape", np.int64))
        return {"predict": (pred, np.float32, ["batch"])}
    return {"predict": (pred, np.float32, ["batch", len(est._y_mean)])}


def _quantile_outputs(g: _Graph, est, out: str) -> dict:
    """``loss="quantile"``: each target's levels sorted (TopK, ascending) and
    scaled back, and ``predict``, the level nearest 0.5."""
    n_targets, n_levels = len(est._y_mean), len(est._levels)
    levels = g.op("Reshape", out, g.const([-1, n_targets, n_levels], "by", np.int64))
    count = g.const([n_levels], "levels", np.int64)
    levels, _ = g.op("TopK", levels, count, axis=2, largest=0, sorted=1, outputs=2)
    levels = g.op(
        "Add",
        g.op("Mul", levels, g.const(est._y_scale[:, None], "y_scale")),
        g.const(est._y_mean[:, None], "y_mean"),
    )
    middle = g.const(np.int64(median_index(est._levels)), "median", np.int64)
    pred = g.op("Gather", levels, middle, axis=2)
    if est._y_ndim == 1:
        pred = g.op("Reshape", pred, g.const([-1], "shape", np.int64))
        levels = g.op("Reshape", levels, g.const([-1, n_levels], "one", np.int64))
        return {
            "predict": (pred, np.float32, ["batch"]),
            "predict_quantiles": (levels, np.float32, ["batch", n_levels]),
        }
    return {
        "predict": (pred, np.float32, ["batch", n_targets]),
        "predict_quantiles": (
            levels,
            np.float32,
            ["batch", n_targets, n_levels],
        ),
    }


def input_steps(est) -> int | None:
    """Rows in each input window of the exported graph (None: any length)."""
    from .._detector import GRUAnomalyDetector

    if est._fitted_window is not None:
        if isinstance(est, GRUAnomalyDetector):  # the windows of `span` rows
            return est._series_pad() + est._span()
        return est._series_pad() + 1
    if isinstance(est, GRUAnomalyDetector) and est.method == "reconstruction":
        return est._n_steps
    return None


def to_onnx(est, path=None):
    """Export a fitted estimator's whole inference path as one ONNX graph.

    The graph takes raw windows, as float32, and computes what the
    estimator's methods give for them: the input standardisation, the
    per-window normalisation (``target_channel``, the detector), every GRU
    layer, the linear head and the inverse target scaling, softmax and labels
    for the classifier, the sorted levels (``predict_quantiles``) and their
    median for the regressor with ``loss="quantile"``, and the score,
    decision and label for the detector.
    Its outputs are named after those methods.

    The input ``"X"`` has shape ``(batch, steps, n_features)``, the batch
    dimension dynamic:

    * series layout: the window of each row, ``steps = window_size``; for
      ``GRUAnomalyDetector(method="forecast")`` the ``window_size`` rows
      before the row judged and that row, ``steps = window_size + 1``. The
      first rows of a series have no full window; ``predict`` pads them with
      the first row, and so must the caller;
    * sequence layout: whole sequences of any length (of the fitted length
      for ``method="reconstruction"``), all of one length within a batch.

    Parameters
    ----------
    est : GRURegressor, GRUClassifier or GRUAnomalyDetector
        A fitted estimator.
    path : str or path-like, default=None
        Where to write the ``.onnx`` file; not written when None.

    Returns
    -------
    model : onnx.ModelProto
        The graph (also written to ``path`` when given).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from numpy.lib.stride_tricks import sliding_window_view
    >>> from skgru import GRURegressor
    >>> from skgru.export import to_onnx
    >>> series = np.sin(np.arange(300) / 6)[:, None]
    >>> reg = GRURegressor(window_size=12, hidden_size=8, max_iter=5,
    ...                    random_state=0).fit(series[:-1], series[1:, 0])
    >>> model = to_onnx(reg)
    >>> session = ort.InferenceSession(model.SerializeToString())
    >>> windows = sliding_window_view(series, 12, axis=0).transpose(0, 2, 1)
    >>> (onnx_pred,) = session.run(["predict"], {"X": windows.astype("float32")})
    >>> expected = reg.predict(series)[11:]
    >>> bool(np.allclose(onnx_pred, expected, rtol=1e-5, atol=1e-5 * expected.std()))
    True
    """
    from .._base import BaseGRU

    onnx = import_onnx()
    if not isinstance(est, BaseGRU):
        raise TypeError(f"to_onnx exports skgru estimators, not {type(est).__name__}.")
    check_is_fitted(est)
    est._check_global_scaling("to_onnx")
    if getattr(est, "_quantized", False):
        raise TypeError(
            "This estimator was quantized with skgru.export.quantize, whose "
            "int8 torch kernels have no ONNX form here: export the float "
            "estimator."
        )
    g = _Graph(onnx)
    helper = onnx.helper
    n_features = len(est._input_stats[0])
    steps = input_steps(est)
    x = "X"
    outputs = _outputs(g, est, x)
    # name each output after its method
    for method, (value, _, _) in outputs.items():
        g.nodes.append(helper.make_node("Identity", [value], [method]))
    graph = helper.make_graph(
        g.nodes,
        f"skgru_{type(est).__name__}",
        [
            helper.make_tensor_value_info(
                x, onnx.TensorProto.FLOAT, ["batch", steps or "steps", n_features]
            )
        ],
        [
            helper.make_tensor_value_info(
                method, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape
            )
            for method, (_, dtype, shape) in outputs.items()
        ],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="skgru",
        producer_version=_version(),
        doc_string=(
            f"{type(est).__name__} exported by skgru: input X of shape (batch, "
            f"{steps or 'steps'}, {n_features}), raw float32 windows."
        ),
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(
        model,
        {
            "estimator": type(est).__name__,
            "window_size": str(est._fitted_window),
            "steps": str(steps),
            "feature_names": ",".join(map(str, getattr(est, "feature_names_in_", []))),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


def _version() -> str:
    from .. import __version__

    return __version__
