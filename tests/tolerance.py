"""Float comparisons fit for float32 outputs whose size depends on the data.

A network computes in float32, and two implementations of the same graph
(torch and onnxruntime, a batch and a stream) round differently, by a few
units of float32's precision *relative to the values involved*. So outputs
are compared with a relative tolerance, plus an absolute one scaled to the
expected output's spread: an output near zero (a decision value crossing the
threshold, a forecast of a centred series) carries the rounding error of its
neighbours' size, not of its own.
"""

from __future__ import annotations

import numpy as np

# onnxruntime's kernels against torch's: measured up to 2e-6 (relative to the
# spread) on the gallery's detector; 5x headroom
ONNX_RTOL = 1e-5
# the same torch kernels, a row at a time against a batch: in practice equal
STREAM_RTOL = 1e-6


def float32_atol(desired, rtol: float) -> float:
    """The absolute part of the tolerance: ``rtol`` times the spread (std)
    of the expected values."""
    desired = np.asarray(desired, dtype=np.float64)
    return rtol * float(np.std(desired)) if desired.size else 0.0


def assert_float32_close(actual, desired, rtol: float) -> None:
    """``actual`` equals ``desired`` to ``rtol``, relative to each value and
    to the spread of ``desired``."""
    np.testing.assert_allclose(
        actual, desired, rtol=rtol, atol=float32_atol(desired, rtol)
    )
