import math
from fractions import Fraction

import numpy as np
import pytest

from skgru._conformal import conformal_rank
from skgru._forecast import conformal_half_widths


@pytest.mark.parametrize(
    ("n", "level", "rank"),
    [(19, 0.9, 18), (9, 0.9, 9), (8, 0.9, 9), (99, 0.99, 99), (99, 0.55, 55)],
)
def test_rank_is_the_ceiling_of_n_plus_one_times_the_level(n, level, rank):
    assert conformal_rank(n, level) == rank


def test_rank_is_exact_where_float_products_overshoot_an_integer():
    levels = np.round(np.arange(0.5, 1.0, 0.01), 2)
    for n in range(1, 400):
        for level in levels:
            exact = math.ceil((n + 1) * Fraction(str(level)))
            assert conformal_rank(n, float(level)) == exact, (n, level)


def test_interval_half_width_takes_that_rank():
    residuals = np.arange(99.0)[:, None]  # sorted, as calibrate keeps them
    # 100 * 0.55 is 55.00000000000001 in floats: still the 55th smallest
    assert conformal_half_widths(residuals, 0.55)[0] == 54.0
