"""GRURegressor(loss="quantile"): pinball loss, sorted quantiles, CQR."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from tolerance import STREAM_RTOL, assert_float32_close

from skgru import GRURegressor, load, save
from skgru._quantiles import (
    PinballLoss,
    check_quantiles,
    conformal_bounds,
    interval_levels,
    sorted_outputs,
)
from skgru.export import quantize

LEVELS = (0.05, 0.5, 0.95)
SMALL = dict(window_size=6, hidden_size=8, loss="quantile", random_state=0)


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def heteroscedastic_ar1(n=3001, seed=0):
    """x_t = 0.7 x_{t-1} + (0.3 + |x_{t-1}|) e_t: noise that grows with |x|."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + (0.3 + 0.5 * abs(x[t - 1])) * rng.normal()
    return x[:-1, None], x[1:]


def test_pinball_loss_is_the_mean_of_each_levels_check_function():
    levels = (0.1, 0.5, 0.9)
    out = torch.tensor([[0.0, 1.0, 2.0, -1.0, 0.0, 1.0]])  # 2 targets x 3 levels
    target = torch.tensor([[1.0, 0.0]])
    errors = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
    tau = np.array(levels)
    expected = np.maximum(tau * errors, (tau - 1) * errors).mean()
    loss = PinballLoss(levels)(out, target)
    assert loss.item() == pytest.approx(expected)


def test_quantiles_and_coverage_are_checked_with_clear_errors():
    np.testing.assert_array_equal(check_quantiles([0.9, 0.1]), [0.1, 0.9])
    for bad in ([], [0.5, 0.5], [0.0, 0.5], [1.5], ["a"], [True]):
        with pytest.raises(ValueError, match="quantiles must be distinct floats"):
            check_quantiles(bad)
    assert interval_levels(np.array(LEVELS), 0.9) == (0, 2)
    # a float32 coverage (0.8999999761581421 as a Python float) asks for the same
    assert interval_levels(np.array(LEVELS), float(np.float32(0.9))) == (0, 2)
    with pytest.raises(ValueError, match="coverage=0.8 needs the quantiles 0.1"):
        interval_levels(np.array(LEVELS), 0.8)
    bad = GRURegressor(loss="quantile", quantiles=(0.5, 2.0), max_iter=1)
    with pytest.raises(ValueError, match="quantiles must be distinct"):
        _fit(bad, np.zeros((10, 3)), np.zeros(10))


def test_sorting_uncrosses_and_cqr_bounds_never_cross():
    raw = np.array([[3.0, 1.0, 2.0, 0.0, -1.0, 5.0]])
    np.testing.assert_array_equal(sorted_outputs(raw, 3), [[[1, 2, 3], [-1, 0, 5]]])
    lower, upper = conformal_bounds(np.array([0.0, 0.0]), np.array([1.0, 4.0]), -1.0)
    np.testing.assert_array_equal(lower, [0.5, 1.0])
    np.testing.assert_array_equal(upper, [0.5, 3.0])


def test_quantile_regression_covers_a_heteroscedastic_series():
    X, y = heteroscedastic_ar1()
    reg = GRURegressor(
        window_size=8, hidden_size=16, loss="quantile", random_state=0, max_iter=40
    )
    _fit(reg, X[:1500], y[:1500])
    test = slice(2250, None)
    levels = reg.predict_quantiles(X)[test]
    assert levels.shape == (len(y[test]), 3)
    assert (np.diff(levels, axis=1) >= 0).all()
    np.testing.assert_array_equal(reg.predict(X)[test], levels[:, 1])
    # wider where the noise is: the interval adapts, unlike a conformal
    # band around the mean
    width = levels[:, 2] - levels[:, 0]
    calm = np.abs(X[test, 0]) < np.quantile(np.abs(X[test, 0]), 0.25)
    wild = np.abs(X[test, 0]) > np.quantile(np.abs(X[test, 0]), 0.75)
    assert width[wild].mean() > 1.5 * width[calm].mean()
    # conformalised (CQR) on rows the network did not fit: 90% coverage
    reg.calibrate(X[1500:2250], y[1500:2250])
    bounds = reg.predict_interval(X, coverage=0.9)[test]
    inside = (bounds[:, 0] <= y[test]) & (y[test] <= bounds[:, 1])
    assert 0.85 <= inside.mean() <= 0.95
    with pytest.raises(ValueError, match="needs the quantiles"):
        reg.predict_interval(X, coverage=0.8)


def test_several_targets_get_their_own_sorted_levels_and_streams_match():
    X, y = heteroscedastic_ar1(n=601)
    Y = np.c_[y, 10 * y + 3]
    reg = _fit(GRURegressor(**SMALL, max_iter=5), X, Y)
    levels = reg.predict_quantiles(X)
    assert levels.shape == (len(X), 2, 3)
    assert (np.diff(levels, axis=-1) >= 0).all()
    pred = reg.predict(X)
    assert pred.shape == (len(X), 2)
    np.testing.assert_array_equal(pred, levels[..., 1])
    stream = reg.stream()
    streamed = np.array([stream.update(row) for row in X[:40]])
    assert_float32_close(streamed, pred[:40], rtol=STREAM_RTOL)


def test_an_int8_copy_keeps_sorted_levels_near_the_float_ones():
    X, y = heteroscedastic_ar1(n=401)
    reg = _fit(GRURegressor(**SMALL, max_iter=3), X, y)
    int8, _ = quantize(reg)
    levels = int8.predict_quantiles(X)
    assert (np.diff(levels, axis=1) >= 0).all()
    spread = np.std(reg.predict_quantiles(X))
    assert np.abs(levels - reg.predict_quantiles(X)).max() < 0.1 * spread


def test_quantile_model_saves_and_pickles(tmp_path):
    X, y = heteroscedastic_ar1(n=401)
    reg = _fit(GRURegressor(**SMALL, max_iter=3), X[:300], y[:300])
    reg.calibrate(X[300:], y[300:])
    expected = reg.predict_interval(X)
    save(reg, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(
        load(tmp_path / "m.safetensors").predict_interval(X), expected
    )
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(reg)).predict_interval(X), expected
    )
    # a refit forgets the calibration of the previous network
    _fit(reg, X[:300], y[:300])
    assert not hasattr(reg, "_quantile_calibration")


def test_early_stopping_scores_the_median_and_squared_error_has_no_quantiles():
    X, y = heteroscedastic_ar1(n=601)
    reg = _fit(GRURegressor(**SMALL, early_stopping=True, max_iter=4), X, y)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert np.isfinite(reg.validation_scores_).all()
    plain = _fit(GRURegressor(window_size=6, hidden_size=8, max_iter=2), X, y)
    with pytest.raises(ValueError, match="predict_quantiles needs a GRURegressor"):
        plain.predict_quantiles(X)


def test_per_series_quantiles_scale_with_their_series():
    X, y = heteroscedastic_ar1(n=201)
    ids = np.repeat(["small", "large"], len(y))
    Xp, yp = np.r_[X, 1e4 * X], np.r_[y, 1e4 * y]
    reg = GRURegressor(**SMALL, target_channel=0, max_iter=3)
    _fit(reg, Xp, yp, groups=ids)
    levels = reg.predict_quantiles(Xp, groups=ids)
    assert_float32_close(levels[ids == "large"], 1e4 * levels[ids == "small"], 1e-5)
