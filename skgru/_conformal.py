"""The split-conformal rank, shared by the forecast intervals and the anomaly
detector's thresholds. Pure Python."""

from __future__ import annotations

import math


def conformal_rank(n: int, level: float) -> int:
    """``ceil((n + 1) * level)``: of ``n`` exchangeable calibration scores, the
    rank (from 1, smallest first) of the one a new score stays at or below
    with chance at least ``level``. Above ``n`` when ``n`` is too small.

    The product is rounded to 9 decimals first, so that one which is an
    integer in exact arithmetic (``100 * 0.55``, 55.00000000000001 in floats)
    is not pushed one rank up.
    """
    return math.ceil(round((n + 1) * level, 9))
