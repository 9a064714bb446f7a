"""ONNX export of a fitted estimator's whole inference path.

The graph is written operator by operator from the fitted network (no
tracing): :mod:`skgru.export._onnx_network` writes the network's nodes, and
this module adds the estimator's post-processing (target scaling, softmax
and labels, sorted quantiles, the detector's error and decision), names the
outputs after the estimator's methods and checks and writes the model. It
needs only the ``onnx`` package to write, and any ONNX runtime to run.
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._module import WINDOW_VAR_EPS
from .._quantiles import median_index
from .._scores import UNIT_FLOOR
from ._onnx_network import Graph, network, time_slice

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


def _labels(classes: np.ndarray) -> np.ndarray:
    """``classes_`` as an array ONNX can hold: numbers, booleans or strings."""
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64) if classes.dtype.kind != "b" else classes
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    return np.array([str(c) for c in classes], dtype=object)


def _detector_error(g: Graph, est, x: str) -> str:
    """The detector's error of each window of ``x`` (see ``skgru._scores``)."""
    module = est.module_
    mean, scale = (np.asarray(v, np.float32) for v in est._input_stats)
    if est.method == "forecast":  # the rows read, then the row judged
        history = time_slice(g, x, 0, -1)
        target = g.op("Gather", x, g.const(np.int64(-1), "last", np.int64), axis=1)
    else:
        history, target = x, x
    target = g.op("Div", g.op("Sub", target, g.const(mean)), g.const(scale))
    target = g.op("Reshape", target, g.const([0, -1], "shape", np.int64))
    diff = g.op("Sub", target, network(g, module, history))
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


def _outputs(g: Graph, est, x: str) -> dict[str, tuple[str, np.dtype, list]]:
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
            windows = [time_slice(g, x, i, i + steps) for i in range(span)]
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
    out = network(g, module, x)
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


def _quantile_outputs(g: Graph, est, out: str) -> dict:
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
    g = Graph(onnx)
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
