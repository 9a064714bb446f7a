"""Taking a fitted estimator to the edge: ONNX export and int8 quantization.

* :func:`to_onnx` writes one ONNX graph of the whole inference path
  (scaling, GRU, head, post-processing); it needs ``pip install 'skgru[onnx]'``.
* :func:`quantize` makes an int8 copy of an estimator and reports its size,
  speed and accuracy against the original.
"""

from ._onnx import to_onnx
from ._quantize import QuantizationReport, quantize

__all__ = ["QuantizationReport", "quantize", "to_onnx"]
