"""int8 quantization of a fitted estimator's network.

The GRU and the linear head get int8 weights through torch's dynamic
quantization (``torch.ao.quantization.quantize_dynamic``): weights are
stored as int8 with one scale per tensor, activations are quantized on the
fly, and the matrix products of every GRU step run in int8 (fbgemm/oneDNN).
It is the one maintained path that quantizes a GRU itself: torchao's int8
configurations replace ``nn.Linear`` layers only, and onnxruntime's dynamic
quantization covers MatMul, Gemm and LSTM operators but not GRU. torch 2.13
marks the eager API as deprecated in favour of torchao; its warnings are
silenced here, where skgru calls it, and nowhere else.
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet

# timing repeats of each model in the report; the median of each is kept
REPORT_REPEATS = 5


class Int8Net(NeuralNet):
    """The skorch net of a quantized copy; it unpickles without torch's notice
    that rebuilding its int8 tensors touches the deprecated TypedStorage."""

    def __setstate__(self, state) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "TypedStorage", UserWarning)
            super().__setstate__(state)


@dataclass(frozen=True)
class QuantizationReport:
    """What quantization changed, measured by :func:`quantize`.

    Parameters
    ----------
    float_bytes, int8_bytes : int
        Size of the serialized network (``torch.save`` of its state dict),
        before and after.
    size_ratio : float
        ``float_bytes / int8_bytes``.
    float_seconds, int8_seconds : float or None
        Median time of the estimator's main method on the ``X`` given.
    speedup : float or None
        ``float_seconds / int8_seconds``; below 1 means slower.
    max_abs_change, mean_abs_change : float or None
        Change of the main output on ``X``: ``predict`` for the regressor,
        ``predict_proba`` for the classifier, ``score_samples`` for the
        detector.
    float_score, int8_score : float or None
        ``score(X, y)`` of each model when ``y`` was given (regressor,
        classifier).

    Examples
    --------
    >>> from skgru.export import QuantizationReport
    >>> print(QuantizationReport(float_bytes=54000, int8_bytes=18000, size_ratio=3.0))
    network size     54,000 -> 18,000 bytes (3.00x smaller)
    """

    float_bytes: int
    int8_bytes: int
    size_ratio: float
    float_seconds: float | None = None
    int8_seconds: float | None = None
    speedup: float | None = None
    max_abs_change: float | None = None
    mean_abs_change: float | None = None
    float_score: float | None = None
    int8_score: float | None = None

    def __str__(self) -> str:
        lines = [
            f"network size     {self.float_bytes:,} -> {self.int8_bytes:,} bytes "
            f"({self.size_ratio:.2f}x smaller)"
        ]
        if self.speedup is not None:
            lines.append(
                f"time on X        {self.float_seconds * 1e3:.2f} -> "
                f"{self.int8_seconds * 1e3:.2f} ms ({self.speedup:.2f}x speed-up)"
            )
        if self.max_abs_change is not None:
            lines.append(
                f"output change    max {self.max_abs_change:.4g}, "
                f"mean {self.mean_abs_change:.4g}"
            )
        if self.float_score is not None:
            lines.append(
                f"score            {self.float_score:.4f} -> {self.int8_score:.4f}"
            )
        return "\n".join(lines)


def _bytes(module: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.tell()


def _main_output(est) -> str:
    if hasattr(est, "offset_"):
        return "score_samples"
    if hasattr(est, "classes_"):
        return "predict_proba"
    return "predict"


def _timed(fn, X) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = fn(X)
    return out, time.perf_counter() - start


def quantize(est, X=None, y=None):
    """An int8 copy of a fitted estimator, and a report of what it changed.

    The copy's GRU and linear head hold int8 weights (dynamic quantization:
    activations are quantized on the fly, the step's matrix products run in
    int8); the input and target scaling stay in float. It predicts, scores
    and streams like the original, on the CPU, and pickles; it cannot be
    trained further, saved with :func:`skgru.save` or exported to ONNX.

    Parameters
    ----------
    est : GRURegressor, GRUClassifier or GRUAnomalyDetector
        A fitted estimator; it is not modified.
    X : array-like, default=None
        Data to measure the change of the outputs and the speed on, in the
        layout of ``fit``. Without it the report gives the sizes only.
    y : array-like, default=None
        Targets of ``X``, to compare ``score(X, y)`` (regressor, classifier).

    Returns
    -------
    quantized : estimator
        The int8 copy, of the same class, on the CPU.
    report : QuantizationReport
        Size before and after; with ``X``, also the speed and the outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRURegressor
    >>> from skgru.export import quantize
    >>> series = np.sin(np.arange(400) / 6)[:, None]
    >>> reg = GRURegressor(window_size=12, max_iter=5,
    ...                    random_state=0).fit(series[:-1], series[1:, 0])
    >>> small, report = quantize(reg, series[:-1], series[1:, 0])
    >>> print(f"{report.size_ratio:.1f}x smaller")
    2.9x smaller
    >>> bool(np.abs(small.predict(series) - reg.predict(series)).max() < 0.05)
    True
    """
    from .._base import BaseGRU

    if not isinstance(est, BaseGRU):
        raise TypeError(f"quantize takes skgru estimators, not {type(est).__name__}.")
    check_is_fitted(est)
    if getattr(est, "_quantized", False):
        raise ValueError("This estimator is already quantized.")
    if y is not None and X is None:
        raise ValueError(
            "quantize got y but no X: y holds the targets of X, on which the "
            "scores are compared. Pass X too, or leave y out."
        )
    module = copy.deepcopy(est.module_).cpu().eval()
    with warnings.catch_warnings():
        # the eager API's deprecation notices (torchao has no GRU to offer)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        int8 = torch.ao.quantization.quantize_dynamic(
            module, {torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8
        )
    # a copy without the float network and without the optimizer state
    # (two more copies of the weights, of no use to a model that cannot train)
    net = est.net_
    saved = net.module_, net.optimizer_
    try:
        net.module_, net.optimizer_ = None, None
        quantized = copy.deepcopy(est)
    finally:
        net.module_, net.optimizer_ = saved
    quantized.net_.__class__ = Int8Net
    quantized.net_.module_ = int8
    quantized.net_.device = "cpu"
    quantized.set_params(device="cpu")
    quantized._quantized = True

    float_bytes, int8_bytes = _bytes(est.module_), _bytes(int8)
    fields = {
        "float_bytes": float_bytes,
        "int8_bytes": int8_bytes,
        "size_ratio": float_bytes / int8_bytes,
    }
    if X is not None:
        method = _main_output(est)
        times: dict[str, list[float]] = {"float": [], "int8": []}
        for _ in range(REPORT_REPEATS):  # alternated, so both see the same load
            before, seconds = _timed(getattr(est, method), X)
            times["float"].append(seconds)
            after, seconds = _timed(getattr(quantized, method), X)
            times["int8"].append(seconds)
        change = np.abs(np.asarray(after) - np.asarray(before))
        fields.update(
            float_seconds=float(np.median(times["float"])),
            int8_seconds=float(np.median(times["int8"])),
            max_abs_change=float(change.max()),
            mean_abs_change=float(change.mean()),
        )
        fields["speedup"] = fields["float_seconds"] / fields["int8_seconds"]
        if y is not None and hasattr(est, "score"):
            fields.update(
                float_score=float(est.score(X, y)),
                int8_score=float(quantized.score(X, y)),
            )
    return quantized, QuantizationReport(**fields)
