import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tolerance import assert_float32_close

import skgru
from skgru import GRURegressor

pytestmark = pytest.mark.usefixtures("no_convergence_warning")


def test_keras_lag_matrix_model_has_8001_parameters():
    """GRURegressor(hidden_size=50, pooling="last", instance_norm=False) on an
    (n, 10) lag matrix is Keras' GRU(50, input_shape=(10, 1)) + Dense(1)."""
    X = np.random.default_rng(0).normal(size=(40, 10))
    reg = GRURegressor(
        hidden_size=50, pooling="last", instance_norm=False, max_iter=1, random_state=0
    ).fit(X, X[:, -1])
    trainable = sum(p.numel() for p in reg.module_.parameters() if p.requires_grad)
    assert trainable == 8001


def test_pipeline_cross_validation_and_grid_search_on_a_dataframe(sensor_frame):
    X, y = sensor_frame
    model = make_pipeline(
        StandardScaler(), GRURegressor(window_size=12, max_iter=15, random_state=0)
    )
    scores = cross_val_score(model, X, y, cv=TimeSeriesSplit(3))
    assert scores.shape == (3,) and np.isfinite(scores).all()
    search = GridSearchCV(
        model,
        {"gruregressor__window_size": [6, 12], "gruregressor__hidden_size": [8, 16]},
        cv=TimeSeriesSplit(2),
    ).fit(X, y)
    assert set(search.best_params_) == {
        "gruregressor__window_size",
        "gruregressor__hidden_size",
    }
    prediction = search.predict(X)
    assert prediction.shape == (len(X),)
    assert list(search.best_estimator_.feature_names_in_) == ["temp", "load"]
    # without the scaler, the GRU records the column names itself
    reg = GRURegressor(window_size=6, max_iter=2).fit(X, y)
    assert list(reg.feature_names_in_) == ["temp", "load"]


def test_multi_output_series_forecasts_several_steps(sensor_frame):
    X, _ = sensor_frame
    temp = X["temp"].to_numpy()
    Y = np.column_stack([np.roll(temp, -1), np.roll(temp, -2), np.roll(temp, -3)])
    reg = GRURegressor(
        window_size=24, target_channel="temp", max_iter=30, random_state=0
    )
    pred = reg.fit(X, Y).predict(X)
    assert pred.shape == (len(X), 3)
    assert reg.score(X, Y) > 0.5


def test_variable_length_sequences():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), 2)) for n in rng.integers(3, 15, size=60)]
    y = np.array([s[:, 0].sum() for s in seqs])
    reg = GRURegressor(hidden_size=16, max_iter=60, random_state=0).fit(seqs, y)
    assert reg.n_features_in_ == 2
    assert reg.predict(seqs).shape == (60,)
    assert reg.score(seqs, y) > 0.5


def test_3d_input_counts_channels_as_features():
    X = np.random.default_rng(0).normal(size=(20, 7, 3))
    reg = GRURegressor(hidden_size=4, max_iter=2, random_state=0).fit(X, X[:, -1, 0])
    assert reg.n_features_in_ == 3
    assert reg.predict(X[:, :4]).shape == (20,)  # sequences may be shorter
    with pytest.raises(
        ValueError, match="X has 2 features, but GRURegressor is expecting 3"
    ):
        reg.predict(X[:, :, :2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_airline_one_step_forecast_beats_naive_and_tracks_ridge(airline_split, seed):
    X, y, train, test = airline_split
    truth = y[test]
    last_value = np.abs(truth - X[test, 0]).mean()
    seasonal = np.abs(truth - X[108:132, 0]).mean()  # same month a year before
    assert round(last_value, 1) == 44.2 and round(seasonal, 1) == 47.6

    lags = np.lib.stride_tricks.sliding_window_view(X[:, 0], 12)  # ends at row i + 11
    ridge = Ridge().fit(lags[:108], y[11:119])
    ridge_mae = np.abs(ridge.predict(lags[108:132]) - truth).mean()

    reg = GRURegressor(window_size=12, target_channel=0, random_state=seed)
    reg.fit(X[train], y[train])
    mae = np.abs(reg.predict(X)[test] - truth).mean()
    assert mae < last_value
    assert mae < seasonal
    assert mae <= 1.3 * ridge_mae, (mae, ridge_mae)


def test_without_target_channel_a_trend_is_not_extrapolated(airline_split):
    """The reason target_channel exists (documented figures): globally
    standardised inputs leave the GRU well behind per-window normalisation."""
    X, y, train, test = airline_split
    kw = dict(window_size=12, random_state=0)
    plain = GRURegressor(**kw).fit(X[train], y[train]).predict(X)[test]
    revin = (
        GRURegressor(target_channel=0, **kw).fit(X[train], y[train]).predict(X)[test]
    )
    truth = y[test]
    assert np.abs(revin - truth).mean() < np.abs(plain - truth).mean()


def test_predictions_are_float64_from_float32_input():
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    reg = GRURegressor(hidden_size=4, max_iter=2, random_state=0).fit(X, X[:, 0])
    assert reg.predict(X).dtype == np.float64


def test_dataframe_with_unsorted_time_index_is_rejected(sensor_frame):
    X, y = sensor_frame
    shuffled = X.sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match="not strictly increasing"):
        GRURegressor(window_size=4).fit(shuffled, y.loc[shuffled.index])
    assert isinstance(X.index, pd.DatetimeIndex)


def test_validation_scores_are_the_r2_of_the_held_out_tail(sensor_frame):
    X, y = sensor_frame
    reg = GRURegressor(
        window_size=6, early_stopping=True, hidden_size=8, max_iter=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert len(reg.validation_scores_) == len(reg.validation_loss_curve_) == 4
    tail = slice(-int(round(0.1 * len(X))), None)  # TailSplit's held-out rows
    expected = r2_score(y[tail], reg.predict(X)[tail])
    # the kept weights are those of the lowest validation loss (MLPRegressor's
    # rule); R² is a unitless score, so an absolute tolerance fits it
    best = int(np.argmin(reg.validation_loss_curve_))
    assert reg.validation_scores_[best] == pytest.approx(expected, abs=1e-5)


def _panel(seed=0, lengths=(120, 80, 100)):
    rng = np.random.default_rng(seed)
    parts = [
        np.sin(np.arange(n) / (4 + k) + rng.uniform(0, 6)) + 0.1 * rng.normal(size=n)
        for k, n in enumerate(lengths)
    ]
    ids = np.concatenate([np.full(n, f"s{k}") for k, n in enumerate(lengths)])
    return np.concatenate(parts)[:, None], ids


def test_groups_predict_each_series_as_if_alone():
    X, ids = _panel()
    y = np.roll(X[:, 0], -1)
    reg = GRURegressor(window_size=10, hidden_size=8, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y, groups=ids)
    together = reg.predict(X, groups=ids)
    for series in np.unique(ids):
        rows = ids == series  # its id keeps its fitted per-series scaling
        alone = reg.predict(X[rows], groups=ids[rows])
        assert_float32_close(together[rows], alone, rtol=1e-6)
    # a sentinel in one series never reaches another's predictions
    odd = X.copy()
    odd[ids == "s1"] = 1e6
    changed = reg.predict(odd, groups=ids) != together
    assert changed[ids == "s1"].any() and not changed[ids != "s1"].any()


def test_groups_come_from_an_id_time_multiindex_and_may_interleave():
    X, ids = _panel()
    time = np.concatenate([np.arange((ids == s).sum()) for s in np.unique(ids)])
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(time, unit="h")
    frame = pd.DataFrame(
        {"value": X[:, 0]}, index=pd.MultiIndex.from_arrays([ids, stamps])
    )
    reg = GRURegressor(window_size=10, hidden_size=8, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(frame, np.roll(X[:, 0], -1))
    expected = reg.predict(X, groups=ids)
    np.testing.assert_array_equal(reg.predict(frame), expected)
    shuffled = frame.sort_index(level=1)  # by time across the series
    got = pd.Series(reg.predict(shuffled), index=shuffled.index)
    np.testing.assert_array_equal(got.loc[frame.index].to_numpy(), expected)
    with pytest.raises(ValueError, match="not strictly increasing within each id"):
        reg.predict(frame.iloc[::-1])


def test_groups_need_series_layout_and_one_id_per_row():
    X, ids = _panel()
    reg = GRURegressor(hidden_size=4, max_iter=1)
    with pytest.raises(ValueError, match="groups applies to series layout"):
        reg.fit(X.reshape(30, 10), np.zeros(30), groups=np.zeros(30))
    with pytest.raises(ValueError, match="one series id per row"):
        reg.set_params(window_size=5).fit(X, X[:, 0], groups=ids[:-1])
    # ids that cannot be sorted together (a pandas column with a missing id)
    unsortable = np.asarray(pd.Series(ids, dtype=object).where(ids != ids[0], None))
    with pytest.raises(TypeError, match=r"\['NoneType', 'str'\] that cannot be"):
        reg.fit(X, X[:, 0], groups=unsortable)
    # a numeric id column with missing ids: at fit, and at predict
    numeric = np.unique(ids, return_inverse=True)[1].astype(float)
    missing = np.where(numeric == 2, np.nan, numeric)
    with pytest.raises(ValueError, match="groups has 100 missing series id"):
        reg.fit(X, X[:, 0], groups=missing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, X[:, 0], groups=numeric)
    with pytest.raises(ValueError, match="groups has 100 missing series id"):
        reg.predict(X, groups=missing)


def _trend_series(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(size=n)
    return x[:-1, None], x[1:]


def _trend_sequences():
    """The trend series cut into 15 sequences of 12 steps, one target each."""
    X, y = _trend_series()
    return X[:180].reshape(15, 12, 1), y[:15]


def test_autoregressive_adds_a_trained_linear_term_that_every_path_keeps(tmp_path):
    X, y = _trend_series()
    params = dict(window_size=12, target_channel=0, hidden_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = GRURegressor(max_iter=20, autoregressive=False, **params).fit(X, y)
        reg = GRURegressor(max_iter=20, autoregressive=True, **params).fit(X, y)
    weight = reg.module_.ar.weight.detach()
    assert weight.shape == (1, 12) and weight.abs().sum() > 0  # zero at first
    assert plain.module_.ar is None
    assert not np.allclose(reg.predict(X), plain.predict(X))
    # the term is part of the network's output: a save keeps it
    skgru.save(reg, tmp_path / "ar.skops")
    loaded = skgru.load(tmp_path / "ar.skops")
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.parametrize(
    "params", [dict(window_size=12), dict(target_channel=0), dict()]
)
def test_autoregressive_needs_series_layout_and_target_channel(params):
    X, y = _trend_series() if "window_size" in params else _trend_sequences()
    with pytest.raises(ValueError, match="autoregressive=True needs series layout"):
        GRURegressor(autoregressive=True, max_iter=1, **params).fit(X, y)


def test_autoregressive_auto_is_on_where_it_can_be():
    X, y = _trend_series()
    small = dict(hidden_size=8, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on = GRURegressor(window_size=12, target_channel=0, **small).fit(X, y)
        no_channel = GRURegressor(window_size=12, **small).fit(X, y)
        sequences = GRURegressor(target_channel=0, **small).fit(*_trend_sequences())
    assert on.module_.ar is not None
    assert no_channel.module_.ar is None and sequences.module_.ar is None
