import numpy as np
import pytest
import torch

from skgru._scores import (
    AUTO_THRESHOLD,
    MIN_CHANNEL_SCALE,
    UNIT_FLOOR,
    auto_threshold,
    channel_errors,
    channel_scale,
    rate_threshold,
    smooth,
    warmup_factors,
    warmup_rows,
)


def test_smooth_keeps_a_spike_and_adds_up_a_burst():
    errors = np.array([1.0, 1.0, 9.0, 1.0, 1.0, 4.0, 4.0, 4.0, 1.0])
    out = smooth(errors, 3)
    assert out[2] == 9.0  # the spike keeps its own error, at its own row
    assert out[3] == pytest.approx(11 / 3)  # and lifts the rows after it
    assert out[7] == 4.0  # a burst's mean is never below its rows' errors
    assert out[8] == pytest.approx(3.0)
    # the first rows average what there is; a span of 1 changes nothing
    np.testing.assert_allclose(smooth(np.array([2.0, 4.0]), 3), [2.0, 4.0])
    np.testing.assert_array_equal(smooth(errors, 1), errors)


def test_smooth_looks_only_backwards():
    rng = np.random.default_rng(0)
    errors = rng.exponential(size=50)
    changed = errors.copy()
    changed[30:] *= 5
    np.testing.assert_array_equal(smooth(errors, 4)[:30], smooth(changed, 4)[:30])


def test_channel_errors_use_the_wider_of_window_and_training_scale():
    diff = torch.full((2, 1, 2), 2.0)
    window_scale = torch.tensor([[0.1, 4.0], [1.0, 1.0]])
    errors = channel_errors(diff, window_scale)
    # a calm window is judged in training units, a wide one in its own
    expected = [[4.0 / UNIT_FLOOR**2, 4.0 / 16.0], [4.0, 4.0]]
    np.testing.assert_allclose(errors.numpy(), expected, rtol=1e-6)


def test_channel_scale_is_the_held_out_mean_with_a_floor():
    per_channel = np.array([[1.0, 0.0, 4.0], [3.0, 0.0, 8.0]])
    np.testing.assert_allclose(
        channel_scale(per_channel), [2.0, MIN_CHANNEL_SCALE * 6.0, 6.0]
    )


def test_warmup_rows_are_the_windows_of_calls_starting_later():
    # forecast layout: the window of row t is rows t - 4 .. t - 1 (pad 4)
    index = warmup_rows(np.array([10]), pad=4, window=4).numpy()
    np.testing.assert_array_equal(
        index,
        [
            [10, 10, 10, 10],  # no history: the call starts at the row itself
            [9, 9, 9, 9],
            [8, 8, 8, 9],
            [7, 7, 8, 9],
        ],
    )
    # rows before the series are its first row, as WindowDataset pads
    assert warmup_rows(np.array([1]), pad=4, window=4).min() == 0


def test_warmup_factors_fall_with_history_and_never_below_one():
    errors = np.array([[8.0, 2.0, 3.0, 0.5], [8.0, 2.0, 1.0, 0.5]])
    factors = warmup_factors(errors, full=np.array([1.0, 1.0]))
    np.testing.assert_allclose(factors, [8.0, 2.0, 2.0, 1.0])


def test_auto_threshold_is_split_conformal_below_three_rms():
    held_out = np.linspace(0.0, 2.0, 199)
    # 1%: the ceil(200 * 0.99) = 198th smallest of 199
    assert auto_threshold(held_out) == held_out[197]
    # 60 samples certify 2% (the ceil(61 * 0.98) = 60th), not 1%
    assert auto_threshold(held_out[:60]) == held_out[59]
    # too few for either rate, or a higher quantile: 9 mean errors
    assert auto_threshold(held_out[:40]) == AUTO_THRESHOLD
    assert auto_threshold(np.linspace(0.0, 20.0, 199)) == AUTO_THRESHOLD


def test_rate_threshold_is_split_conformal_for_the_rate_asked():
    rng = np.random.default_rng(0)
    held_out = rng.permutation(np.linspace(0.0, 20.0, 199))  # order is irrelevant
    ordered = np.sort(held_out)
    # 5%: the ceil(200 * 0.95) = 190th smallest, above 9 mean errors or not
    assert rate_threshold(held_out, 0.05) == ordered[189]
    assert rate_threshold(held_out / 10, 0.05) == ordered[189] / 10
    # 0.1% needs 999 samples: the largest, and at least the "auto" threshold
    assert rate_threshold(held_out, 0.001) == ordered[-1]
    assert rate_threshold(held_out / 10, 0.001) == ordered[-1] / 10
    assert rate_threshold(held_out[:40] / 10, 0.01) == AUTO_THRESHOLD
    # 100 * 0.59 is 59.00000000000001 in floats: still the 59th smallest
    assert rate_threshold(np.arange(99.0), 0.41) == 58.0
