import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from tolerance import assert_float32_close

from skgru import GRURegressor
from skgru.datasets import load_airline

SMALL = dict(hidden_size=8, max_iter=5, random_state=0)


def fitted(X, y, groups=None, **params):
    reg = GRURegressor(**{**SMALL, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return reg.fit(X, y, groups=groups)


def airline():
    return load_airline().to_numpy().astype(float)[:, None]


@pytest.mark.parametrize("window", [12, 60])
def test_forecast_equals_feeding_predictions_back_by_hand(window):
    s = airline()
    reg = fitted(s[:-1], s[1:, 0], window_size=window, target_channel=0)
    history = s[:100]
    by_hand = []
    for _ in range(15):
        by_hand.append(reg.predict(history)[-1])
        history = np.r_[history, [[by_hand[-1]]]]
    assert_float32_close(reg.forecast(s[:100], 15), np.array(by_hand), rtol=1e-6)


def test_forecast_uses_the_known_future_channels():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    setpoint = np.repeat(rng.uniform(-1, 1, 40), 10)  # planned, known ahead
    level = np.convolve(setpoint, np.ones(5) / 5, mode="full")[: len(t)]
    X = np.c_[level, setpoint]
    reg = fitted(X[:-1], X[1:, 0], window_size=10, target_channel=0, max_iter=30)
    future = X[300:320].copy()
    got = reg.forecast(X[:300], 20, X_future=future)
    history, by_hand = X[:300], []
    for step in range(20):
        by_hand.append(reg.predict(history)[-1])
        row = future[step].copy()
        row[0] = by_hand[-1]
        history = np.r_[history, row[None]]
    assert_float32_close(got, np.array(by_hand), rtol=1e-6)
    # the target column of X_future is ignored, the others are read
    ignored = future.copy()
    ignored[:, 0] = 1e3
    np.testing.assert_array_equal(reg.forecast(X[:300], 20, X_future=ignored), got)
    changed = future.copy()
    changed[:, 1] *= -1
    assert not np.allclose(reg.forecast(X[:300], 20, X_future=changed), got)


def test_a_multi_output_regressor_forecasts_in_blocks():
    s = airline()[:, 0]
    horizon = 3
    y = np.lib.stride_tricks.sliding_window_view(s[1:], horizon)  # next 3 values
    X = s[: len(y), None]
    reg = fitted(X, y, window_size=12, target_channel=0)
    got = reg.forecast(X, 7)
    history, by_hand = X, []
    while len(by_hand) < 7:
        block = reg.predict(history)[-1]
        by_hand.extend(block)
        history = np.r_[history, block[:, None]]
    assert_float32_close(got, np.array(by_hand[:7]), rtol=1e-6)


def test_several_series_are_forecast_from_their_own_rows():
    s = airline()
    ids = np.repeat(["early", "late"], 72)
    reg = fitted(s[:-1], s[1:, 0], window_size=12, target_channel=0)
    both = reg.forecast(s, 5, groups=ids)
    assert list(both.index) == ["early", "late"] and list(both.columns) == [
        1,
        2,
        3,
        4,
        5,
    ]
    np.testing.assert_array_equal(both.loc["early"], reg.forecast(s[:72], 5))
    np.testing.assert_array_equal(both.loc["late"], reg.forecast(s[72:], 5))
    # a series shorter than the window is padded with its first row
    short = reg.forecast(s[:80], 4, groups=np.repeat(["a", "b"], [72, 8]))
    np.testing.assert_array_equal(short.loc["a"], reg.forecast(s[:72], 4))
    history, by_hand = s[72:80], []
    padded = np.r_[np.repeat(history[:1], 4, axis=0), history]  # 12 rows
    for _ in range(4):
        by_hand.append(reg.predict(padded)[-1])
        padded = np.r_[padded, [[by_hand[-1]]]]
    assert_float32_close(short.loc["b"].to_numpy(), np.array(by_hand), rtol=1e-6)


def test_bad_steps_and_future_say_what_to_change():
    s = airline()
    reg = fitted(s[:-1], s[1:, 0], window_size=12, target_channel=0)
    for steps in (0, 2.5, True):
        with pytest.raises(ValueError, match="steps must be an int of at least 1"):
            reg.forecast(s, steps)
    plain = fitted(s[:-1], s[1:, 0], window_size=12)
    with pytest.raises(ValueError, match="target_channel set"):
        plain.forecast(s, 3)
    X = np.c_[s, np.arange(144.0)]
    two = fitted(X[:-1], X[1:, 0], window_size=12, target_channel=0)
    with pytest.raises(ValueError, match="needs X_future"):
        two.forecast(X, 3)
    with pytest.raises(ValueError, match="at least \\(3, 2\\)"):
        two.forecast(X, 3, X_future=X[:2])
    with pytest.raises(ValueError, match="X_future must hold numbers"):
        two.forecast(X, 3, X_future=np.full((3, 2), "May"))
    missing = pd.DataFrame({"p": [1.0] * 3, "m": pd.array([1, None, 3], dtype="Int64")})
    with pytest.raises(ValueError, match="X_future contains NaN"):
        two.forecast(X, 3, X_future=missing)
    frame = pd.DataFrame(X, columns=["passengers", "month"])
    named = fitted(frame.iloc[:-1], X[1:, 0], window_size=12, target_channel=0)
    with pytest.raises(ValueError, match="same columns"):
        named.forecast(frame, 3, X_future=frame.iloc[:3, ::-1])
    months = frame.iloc[:3].assign(month=pd.Categorical(["May", "Jun", "Jul"]))
    with pytest.raises(
        ValueError, match="column\\(s\\) 'month' \\(category\\) are not"
    ):
        named.forecast(frame, 3, X_future=months)


def test_a_dated_history_gives_dated_forecasts():
    s = load_airline().astype(float).to_frame()  # monthly, 1949-1960
    y = s.iloc[1:, 0].to_numpy()
    reg = fitted(s.iloc[:-1], y, window_size=12, target_channel=0)
    got = reg.forecast(s, 3)
    assert list(got.index) == list(pd.date_range("1961-01-01", periods=3, freq="MS"))
    undated = s.reset_index(drop=True)  # the same values, no timestamps
    plain = reg.forecast(undated, 3)
    assert isinstance(plain, np.ndarray)
    np.testing.assert_array_equal(got.to_numpy(), plain)


def test_several_series_take_their_own_known_future():
    rng = np.random.default_rng(0)
    n, ids_all = 120, np.repeat(["a", "b", "c"], 120)
    calendar = np.tile(np.arange(12.0), 30)
    level = np.repeat([1.0, 50.0, 900.0], n)
    noise = 0.01 * rng.normal(size=3 * n)
    X = np.c_[level * (1 + 0.1 * np.sin(calendar) + noise), calendar]
    time = np.tile(np.arange(n), 3)
    history = time < 110
    y = np.roll(X[:, 0], -1)
    keep = time < 109  # targets within each series
    reg = fitted(X[keep], y[keep], ids_all[keep], window_size=12, target_channel=0)
    future = X[~history]  # 10 rows per series, series by series
    frame = pd.DataFrame(
        future,
        index=pd.MultiIndex.from_arrays([ids_all[~history], time[~history]]),
    )
    got = reg.forecast(X[history], 6, groups=ids_all[history], X_future=frame)
    # the same as a 3-D array in sorted id order, and as each series alone
    stacked = future.reshape(3, 10, 2)
    np.testing.assert_array_equal(
        reg.forecast(X[history], 6, groups=ids_all[history], X_future=stacked), got
    )
    for k, s in enumerate("abc"):
        rows = history & (ids_all == s)
        alone = reg.forecast(X[rows], 6, groups=ids_all[rows], X_future=stacked[k])
        assert_float32_close(alone.loc[s].to_numpy(), got.loc[s].to_numpy(), 1e-6)
    # each series reads its own future: changing b's changes b's forecast only
    changed = stacked.copy()
    changed[1, :, 1] += 5
    moved = reg.forecast(X[history], 6, groups=ids_all[history], X_future=changed)
    assert (moved.loc["b"] != got.loc["b"]).any()
    pd.testing.assert_series_equal(moved.loc["a"], got.loc["a"])
    two = frame.loc[["a", "b"]]
    with pytest.raises(ValueError, match="no rows for the series \\['c'\\]"):
        reg.forecast(X[history], 6, groups=ids_all[history], X_future=two)
    with pytest.raises(ValueError, match="sorted id order \\(3 series here\\)"):
        reg.forecast(X[history], 6, groups=ids_all[history], X_future=future)
    with pytest.raises(ValueError, match="X_future must hold numbers"):
        reg.forecast(
            X[history],
            6,
            groups=ids_all[history],
            X_future=np.full(stacked.shape, "May"),
        )
    with pytest.raises(ValueError, match="at least \\(12, 2\\) per series"):
        reg.forecast(X[history], 12, groups=ids_all[history], X_future=frame)


def _two_channel_series(n=240):
    t = np.arange(n)
    rng = np.random.default_rng(4)
    return np.c_[np.sin(t / 7), 3 + np.cos(t / 5)] + 0.05 * rng.normal(size=(n, 2))


def test_channels_feed_every_output_back_into_its_own_channel():
    X = _two_channel_series()
    reg = fitted(X[:-1], X[1:], window_size=10)  # y: the next row, both channels
    got = reg.forecast(X, 5, channels=[0, 1])
    assert got.shape == (5, 2)
    # by hand: predict the next row from the last window, append it, repeat
    history = X.copy()
    for step in range(5):
        row = reg.predict(history)[-1]
        assert_float32_close(got[step], row, rtol=1e-6)
        history = np.vstack([history, got[step]])
    # one channel fed back, the other from X_future
    one = fitted(X[:-1], X[1:, 1], window_size=10)
    future = np.c_[np.arange(5.0), np.zeros(5)]
    part = one.forecast(X, 5, channels=[1], X_future=future)
    history = X.copy()
    for step in range(5):
        value = one.predict(history)[-1]
        assert_float32_close(part[step, 0], value, rtol=1e-6)
        history = np.vstack([history, [future[step, 0], value]])


def test_channels_are_named_checked_and_work_on_panels():
    X = _two_channel_series()
    frame = pd.DataFrame(X, columns=["temp", "load"])
    reg = fitted(frame.iloc[:-1], X[1:], window_size=10)
    got = reg.forecast(frame, 4, channels=["temp", "load"])
    with pytest.warns(UserWarning, match="feature names"):
        by_index = reg.forecast(X, 4, channels=[0, 1])
    np.testing.assert_array_equal(got, by_index)
    for bad in (["temp"], [0, 0], ["wind", "load"], [0, 2]):
        with pytest.raises(ValueError, match="channel"):
            reg.forecast(frame, 4, channels=bad)
    with pytest.raises(
        ValueError, match=r"'wind', .* its columns are \['temp', 'load'\]"
    ):
        reg.forecast(frame, 4, channels=["wind", "load"])
    with pytest.raises(ValueError, match="not supported: leave coverage out"):
        reg.forecast(frame, 4, channels=[0, 1], coverage=0.9)
    # a panel with per-series scaling: a copy 1000 times larger forecasts the same
    # values 1000 times larger, and each series as if alone
    ids = np.repeat(["a", "b"], len(X))
    panel = np.r_[X, 1000 * X]
    target = np.r_[np.roll(X, -1, axis=0), 1000 * np.roll(X, -1, axis=0)]
    keep = np.r_[np.arange(len(X)) < len(X) - 1, np.arange(len(X)) < len(X) - 1]
    pan = fitted(panel[keep], target[keep], ids[keep], window_size=10)
    out = pan.forecast(panel, 3, groups=ids, channels=[0, 1])
    assert list(out.columns) == [0, 1] and out.index.names == ["series", "step"]
    assert_float32_close(out.loc["b"].to_numpy(), 1000 * out.loc["a"].to_numpy(), 1e-5)
    alone = pan.forecast(X, 3, groups=np.repeat("a", len(X)), channels=[0, 1])
    assert_float32_close(alone.to_numpy(), out.loc["a"].to_numpy(), 1e-6)
