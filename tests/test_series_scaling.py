"""Per-series standardisation of a panel (scaling="per_series" / "auto")."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from tolerance import assert_float32_close

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor, load, save
from skgru._series_scaling import measure, row_stats, standardise

SMALL = dict(window_size=8, hidden_size=8, max_iter=3, random_state=0)


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _twin_panel(n=90, factor=1e6, shift=5e6):
    """Two series of the same shape, the second ``factor`` times larger."""
    rng = np.random.default_rng(0)
    base = np.sin(np.arange(n) / 5) + 0.1 * rng.normal(size=n)
    X = np.r_[base, factor * base + shift][:, None]
    ids = np.repeat(["small", "large"], n)
    y = np.r_[np.roll(base, -1), factor * np.roll(base, -1) + shift]
    return X, y, ids


def test_measure_and_row_stats_take_fitted_series_and_measure_new_ones():
    values = np.array([[1.0], [3.0], [10.0], [30.0]])
    table = measure(values, np.array(["a", "a", "b", "b"]))
    np.testing.assert_array_equal(table[0], ["a", "b"])
    np.testing.assert_allclose(table[1][:, 0], [2.0, 20.0])
    np.testing.assert_allclose(table[2][:, 0], [1.0, 10.0])
    # "b" keeps its fitted statistics; "c" gets those of its own rows
    new = np.array([[100.0], [0.0], [4.0], [6.0]])
    mean, std, series = row_stats(table, new, np.array(["b", "b", "c", "c"]))
    np.testing.assert_allclose(mean[:, 0], [20.0, 5.0])
    np.testing.assert_allclose(std[:, 0], [10.0, 1.0])
    np.testing.assert_array_equal(series, [0, 0, 1, 1])
    scaled = standardise(new, mean, std, series)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled[:, 0], [8.0, -2.0, -1.0, 1.0])
    # without groups, the rows are one series of their own
    mean, std, series = row_stats(table, new, None)
    np.testing.assert_allclose(mean[:, 0], [new.mean()])
    np.testing.assert_array_equal(series, [0, 0, 0, 0])


def test_statistics_per_series_equal_each_series_alone():
    from skgru._stats import column_stats

    rng = np.random.default_rng(3)
    values = rng.normal(size=(500, 3)) * [1.0, 1e4, 0.0] + [0.0, 5e6, 7.0]
    groups = rng.choice(["x", "y", "z", "w"], size=500)
    ids, mean, std = measure(values, groups)
    for k, g in enumerate(ids):
        expected_mean, expected_std = column_stats(values[groups == g])
        np.testing.assert_allclose(mean[k], expected_mean, rtol=1e-12)
        np.testing.assert_allclose(std[k], expected_std, rtol=1e-9)
    assert (std[:, 2] == 1.0).all()  # a constant column


@pytest.mark.parametrize("target_channel", [0, None])
def test_a_series_a_million_times_larger_gets_the_same_predictions_scaled(
    target_channel,
):
    X, y, ids = _twin_panel()
    reg = _fit(GRURegressor(**SMALL, target_channel=target_channel), X, y, groups=ids)
    pred = reg.predict(X, groups=ids)
    small, large = pred[ids == "small"], pred[ids == "large"]
    assert_float32_close(large, 1e6 * small + 5e6, rtol=1e-5)
    # one global standardisation cannot do that: the small series is lost
    glob = GRURegressor(**SMALL, target_channel=target_channel, scaling="global")
    pred = _fit(glob, X, y, groups=ids).predict(X, groups=ids)
    assert glob._series_scaling is None
    assert not np.allclose(pred[ids == "large"], 1e6 * pred[ids == "small"] + 5e6)


def test_forecast_scales_each_series_back_and_takes_x_future_in_its_units():
    X, y, ids = _twin_panel()
    reg = _fit(GRURegressor(**SMALL, target_channel=0), X, y, groups=ids)
    out = reg.forecast(X, 5, groups=ids)
    assert_float32_close(
        out.loc["large"].to_numpy(), 1e6 * out.loc["small"].to_numpy() + 5e6, 1e-5
    )
    # with a second channel, a new series without groups: X_future is
    # standardised with that series' own statistics, like its history
    calendar = np.tile(np.arange(6.0), 15)[:, None]
    X2 = np.c_[X, np.r_[calendar, calendar]]
    reg2 = _fit(GRURegressor(**SMALL, target_channel=0), X2, y, groups=ids)
    history = X2[ids == "small"]
    future = np.c_[np.zeros(4), np.arange(4.0)]
    base = reg2.forecast(history, 4, X_future=future)
    moved = history * [1e3, 2.0] + [7.0, 1.0]
    scaled = reg2.forecast(moved, 4, X_future=future * [1e3, 2.0] + [7.0, 1.0])
    assert_float32_close(scaled, 1e3 * base + 7.0, rtol=1e-5)


def test_an_unseen_series_needs_target_channel_for_its_scale():
    X, y, ids = _twin_panel()
    reg = _fit(GRURegressor(**SMALL), X, y, groups=ids)
    with pytest.raises(ValueError, match="series that fit did not see"):
        reg.predict(X[ids == "small"])
    reg.predict(X[ids == "small"], groups=ids[ids == "small"])  # a known id


@pytest.mark.parametrize(
    "est", [GRURegressor(**SMALL), GRUClassifier(**SMALL), GRUAnomalyDetector(**SMALL)]
)
def test_stream_and_onnx_refuse_a_per_series_model(est):
    X, y, ids = _twin_panel()
    target = (y > np.median(y)).astype(int) if isinstance(est, GRUClassifier) else y
    _fit(est, X, target, groups=ids)
    with pytest.raises(ValueError, match="scaling='global'"):
        est.stream()
    pytest.importorskip("onnx")
    from skgru.export import to_onnx

    with pytest.raises(ValueError, match="scaling='global'"):
        to_onnx(est)


def test_auto_is_global_without_groups_and_per_series_is_saved(tmp_path):
    X, y, ids = _twin_panel()
    reg = _fit(GRURegressor(**SMALL), X[ids == "small"], y[ids == "small"])
    assert reg._series_scaling is None
    reg = _fit(GRURegressor(**SMALL, scaling="per_series"), X, y, groups=ids)
    save(reg, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(
        back.predict(X, groups=ids), reg.predict(X, groups=ids)
    )


def test_a_detector_scores_a_larger_twin_series_alike():
    X, _, ids = _twin_panel()
    det = _fit(GRUAnomalyDetector(**SMALL), X, groups=ids)
    scores = det.score_samples(X, groups=ids)
    assert_float32_close(scores[ids == "large"], scores[ids == "small"], rtol=1e-4)


def test_intervals_of_each_series_are_in_its_own_units():
    # calibration errors pooled in raw units would give the small series the
    # large one's widths; in per-series units each width scales with its series
    X, y, ids = _twin_panel(n=150)
    time = np.tile(np.arange(150), 2)
    reg = GRURegressor(**SMALL, target_channel=0)
    _fit(reg, X[time < 90], y[time < 90], groups=ids[time < 90])
    y_cal = np.where(time >= 90, y, np.nan)
    reg.calibrate(X, y_cal, groups=ids, steps=4)
    bounds = reg.predict_interval(X, groups=ids)
    width = bounds[:, 1] - bounds[:, 0]
    assert_float32_close(width[ids == "large"], 1e6 * width[ids == "small"], 1e-5)
    out = reg.forecast(X, 4, groups=ids, coverage=0.9)
    span = (out["upper"] - out["lower"]).unstack()
    assert_float32_close(span.loc["large"], 1e6 * span.loc["small"], 1e-5)
