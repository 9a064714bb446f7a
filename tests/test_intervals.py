import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from skgru import GRURegressor, load, save


def ar1_panel(n_series=6, length=500, phi=0.8, seed=0):
    """Series x_t = phi x_{t-1} + e_t; X the series, y the next value."""
    rng = np.random.default_rng(seed)
    series = []
    for _ in range(n_series):
        x = np.zeros(length + 1)
        for t in range(1, length + 1):
            x[t] = phi * x[t - 1] + rng.normal()
        series.append(x)
    X = np.concatenate([s[:-1] for s in series])[:, None]
    y = np.concatenate([s[1:] for s in series])
    ids = np.repeat(np.arange(n_series), length)
    time = np.tile(np.arange(length), n_series)
    return X, y, ids, time


def fitted_panel():
    X, y, ids, time = ar1_panel()
    train, cal, test = time < 250, (time >= 250) & (time < 375), time >= 375
    reg = GRURegressor(window_size=8, hidden_size=8, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[train], y[train], groups=ids[train])
    # calibrate and test on whole series (full windows), scored on their rows
    y_cal = np.where(cal, y, np.nan)
    reg.calibrate(X[~test], y_cal[~test], groups=ids[~test])
    return reg, X, y, ids, test


def test_conformal_intervals_cover_an_ar1_panel_as_promised():
    reg, X, y, ids, test = fitted_panel()
    bounds = reg.predict_interval(X, coverage=0.9, groups=ids)[test]
    inside = (bounds[:, 0] <= y[test]) & (y[test] <= bounds[:, 1])
    assert 0.85 <= inside.mean() <= 0.95
    # wider for a higher coverage, and never crossing
    wide = reg.predict_interval(X, coverage=0.97, groups=ids)[test]
    assert ((wide[:, 1] - wide[:, 0]) >= (bounds[:, 1] - bounds[:, 0])).all()
    assert (bounds[:, 0] <= bounds[:, 1]).all()
    # centred on predict
    np.testing.assert_allclose(
        bounds.mean(axis=1), reg.predict(X, groups=ids)[test], rtol=1e-12
    )


def test_calibration_survives_save_and_load_and_refit_forgets_it(tmp_path):
    reg, X, y, ids, test = fitted_panel()
    path = tmp_path / "model.safetensors"
    save(reg, path)
    expected = reg.predict_interval(X, groups=ids)
    np.testing.assert_array_equal(load(path).predict_interval(X, groups=ids), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:300], y[:300])
    with pytest.raises(ValueError, match="call calibrate"):
        reg.predict_interval(X)


def test_intervals_say_what_is_missing():
    reg, X, y, ids, test = fitted_panel()
    for coverage in (0.0, 1.0, True, "0.9"):
        with pytest.raises(ValueError, match="coverage must be a float in \\(0, 1\\)"):
            reg.predict_interval(X, coverage=coverage, groups=ids)
    with pytest.raises(ValueError, match="needs at least 999 calibration samples"):
        reg.predict_interval(X, coverage=0.999, groups=ids)
    with pytest.raises(ValueError, match="one target per sample"):
        reg.calibrate(X, y[:-1], groups=ids)
    with pytest.raises(ValueError, match="no target that is not NaN"):
        reg.calibrate(X, np.full(len(y), np.nan), groups=ids)


def test_forecast_intervals_per_step_cover_an_ar1_series():
    rng = np.random.default_rng(1)
    x = np.zeros(3001)
    for t in range(1, 3001):
        x[t] = 0.8 * x[t - 1] + rng.normal()
    X, y = x[:-1, None], x[1:]
    reg = GRURegressor(
        window_size=8, hidden_size=8, max_iter=20, target_channel=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:1500], y[:1500])
    y_cal = np.where(np.arange(2250) >= 1500, y[:2250], np.nan)
    reg.calibrate(X[:2250], y_cal, steps=4)
    inside = []
    for origin in range(2250, 2996):  # every forecast origin of the test rows
        got = reg.forecast(X[: origin + 1], 4, coverage=0.9)
        truth = y[origin : origin + 4]
        inside.append((got["lower"] <= truth) & (truth <= got["upper"]))
        np.testing.assert_array_equal(got["forecast"], reg.forecast(X[: origin + 1], 4))
    inside = np.array(inside)
    assert 0.85 <= inside.mean() <= 0.95
    # the intervals widen with the horizon, as the AR(1) errors do
    widths = (got["upper"] - got["lower"]).to_numpy()
    assert widths[0] < widths[-1]


def test_forecast_intervals_need_calibrated_steps():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=400))
    X, y = x[:-1, None], x[1:]
    reg = GRURegressor(window_size=8, hidden_size=4, max_iter=2, target_channel=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="calibrate\\(X_cal, y_cal, steps=3\\)"):
        reg.forecast(X, 3, coverage=0.9)
    reg.calibrate(X[:300], np.where(np.arange(300) >= 200, y[:300], np.nan), steps=2)
    with pytest.raises(
        ValueError, match="up to 3 steps ahead, but calibrate measured 2"
    ):
        reg.forecast(X, 3, coverage=0.9)
    frame = reg.forecast(X, 2, coverage=0.8)
    assert list(frame.columns) == ["forecast", "lower", "upper"]
    assert list(frame.index) == [1, 2]
    with pytest.raises(ValueError, match="No row of X has 5 known targets"):
        reg.calibrate(
            X[:204], np.where(np.arange(204) >= 200, y[:204], np.nan), steps=5
        )
    with pytest.raises(ValueError, match="No row of X has 151 known targets"):
        # 150 rows per series: no origin's 5 targets stay within its series
        reg.calibrate(X[:300], y[:300], groups=np.repeat([0, 1], 150), steps=151)


def test_panel_forecast_errors_pool_each_series_alone_and_cover():
    X, y, ids, time = ar1_panel(n_series=4, length=400, seed=2)
    train, cal, test = time < 200, (time >= 200) & (time < 300), time >= 300
    reg = GRURegressor(
        window_size=8, hidden_size=8, max_iter=20, target_channel=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[train], y[train], groups=ids[train])
    y_cal = np.where(cal, y, np.nan)
    part = ~test
    reg.calibrate(X[part], y_cal[part], groups=ids[part], steps=3)
    pooled = reg._forecast_residuals
    # the same errors as each series calibrated on its own (its id keeps
    # its scaling), no window or target crossing into another series
    alone = []
    for s in np.unique(ids):
        rows = part & (ids == s)
        reg.calibrate(X[rows], y_cal[rows], groups=ids[rows], steps=3)
        alone.append(reg._forecast_residuals)
    np.testing.assert_allclose(pooled, np.sort(np.concatenate(alone), axis=0))
    assert len(pooled) == 4 * (100 - 2)
    # forecast intervals of every series from every test origin
    reg.calibrate(X[part], y_cal[part], groups=ids[part], steps=3)
    inside = []
    for origin in range(300, 397, 3):
        rows = time <= origin
        got = reg.forecast(X[rows], 3, groups=ids[rows], coverage=0.9)
        truth = np.concatenate(
            [y[(ids == s) & (time >= origin) & (time < origin + 3)] for s in range(4)]
        )
        inside.append((got["lower"] <= truth) & (truth <= got["upper"]))
    assert 0.85 <= np.mean(inside) <= 0.95


def test_panel_forecast_intervals_are_dated_per_series():
    X, y, ids, time = ar1_panel(n_series=2, length=200, seed=3)
    start = {0: "2024-01-01", 1: "2024-03-01"}
    stamps = np.concatenate(
        [pd.date_range(start[s], periods=200, freq="D") for s in (0, 1)]
    )
    names = np.where(ids == 0, "north", "south")
    frame = pd.DataFrame(
        {"value": X[:, 0]},
        index=pd.MultiIndex.from_arrays([names, stamps], names=["site", "day"]),
    )
    reg = GRURegressor(window_size=8, hidden_size=8, max_iter=5, target_channel=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(frame[time < 150], y[time < 150])
    reg.calibrate(frame, np.where(time >= 150, y, np.nan), steps=3)
    out = reg.forecast(frame, 3, coverage=0.9)
    assert out.index.names == ["site", "day"]
    assert list(out.loc["south"].index) == list(
        pd.date_range("2024-09-17", periods=3, freq="D")
    )
    assert (out["lower"] <= out["forecast"]).all()
    wide = reg.forecast(frame, 3)
    assert wide.index.name == "site"
    np.testing.assert_allclose(wide.to_numpy().ravel(), out["forecast"].to_numpy())
