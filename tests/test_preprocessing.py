import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skgru import GRURegressor, SlidingWindowTransformer
from skgru._validation import Layout


def test_each_row_gets_the_window_ending_at_it():
    X = np.arange(12.0).reshape(6, 2)
    out = SlidingWindowTransformer(window_size=3).fit_transform(X)
    assert out.shape == (6, 6)
    np.testing.assert_array_equal(out[5], X[3:6].ravel())
    # missing history is the first row repeated
    np.testing.assert_array_equal(out[0], np.tile(X[0], 3))
    np.testing.assert_array_equal(out[1], np.concatenate([X[0], X[0], X[1]]))


def test_lag_column_names_and_pandas_output():
    X = pd.DataFrame({"temp": [1.0, 2.0, 3.0, 4.0], "hum": [5.0, 6.0, 7.0, 8.0]})
    swt = SlidingWindowTransformer(window_size=2).set_output(transform="pandas")
    out = swt.fit_transform(X)
    assert list(out.columns) == ["temp_lag_1", "hum_lag_1", "temp_lag_0", "hum_lag_0"]
    assert out.loc[2, "temp_lag_1"] == 2.0 and out.loc[2, "hum_lag_0"] == 7.0
    assert list(swt.get_feature_names_out()) == list(out.columns)


def test_default_names_without_a_dataframe():
    swt = SlidingWindowTransformer(window_size=2).fit(np.zeros((3, 2)))
    assert list(swt.get_feature_names_out()) == [
        "x0_lag_1",
        "x1_lag_1",
        "x0_lag_0",
        "x1_lag_0",
    ]


def test_unflattened_windows_are_a_read_only_view():
    X = np.arange(20.0).reshape(10, 2)
    windows = SlidingWindowTransformer(window_size=4, flatten=False).fit_transform(X)
    assert windows.shape == (10, 4, 2)
    assert not windows.flags.writeable
    assert windows.base is not None  # a strided view, not a (n, w, f) copy
    with pytest.raises(ValueError, match="no column names"):
        SlidingWindowTransformer(flatten=False).fit(X).get_feature_names_out()


def test_float32_is_preserved_and_input_untouched():
    X = np.arange(10, dtype=np.float32).reshape(5, 2)
    before = X.copy()
    out = SlidingWindowTransformer(window_size=2).fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(X, before)


def test_short_series_is_rejected():
    with pytest.raises(ValueError, match="window_size=5 needs a series of at least 5"):
        SlidingWindowTransformer(window_size=5).fit(np.zeros((3, 1)))


def test_a_column_that_is_not_numbers_is_named():
    X = pd.DataFrame({"temp": [1.0, 2.0, 3.0], "site": pd.Categorical(["a", "b", "a"])})
    with pytest.raises(ValueError, match="not numbers: 'site' \\(category\\)"):
        SlidingWindowTransformer(window_size=2).fit(X)


def test_unsorted_datetime_index_is_rejected():
    index = pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"])
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=index)
    with pytest.raises(ValueError, match="not strictly increasing"):
        SlidingWindowTransformer(window_size=2).fit(X)


def test_ridge_baseline_and_gru_on_the_same_windows():
    """Flattened lags feed any estimator; 3-D windows feed a sequence-layout GRU."""
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(80, 1)), axis=0)
    y = np.roll(X[:, 0], -1)
    ridge = make_pipeline(SlidingWindowTransformer(window_size=5), Ridge()).fit(X, y)
    assert ridge.predict(X).shape == (80,)
    gru = make_pipeline(
        SlidingWindowTransformer(window_size=5, flatten=False),
        GRURegressor(hidden_size=8, max_iter=5, random_state=0),
    ).fit(X, y)
    assert gru.predict(X).shape == (80,)


def test_windows_match_those_of_the_estimators_series_layout():
    """One padding rule: the transformer's windows are the windows a skgru
    estimator gathers for the same rows."""
    X = np.random.default_rng(0).normal(size=(30, 2))
    est = GRURegressor(window_size=6)
    layout_windows = est._dataset(Layout(X, 6), None).inputs(torch.arange(30))
    windows = SlidingWindowTransformer(window_size=6, flatten=False).fit_transform(X)
    np.testing.assert_array_equal(layout_windows.numpy(), windows.astype(np.float32))


def test_window_of_one_row_is_a_writable_copy():
    X = np.arange(6.0).reshape(3, 2)
    out = SlidingWindowTransformer(window_size=1).fit_transform(X)
    np.testing.assert_array_equal(out, X)
    out[0, 0] = 99.0
    assert X[0, 0] == 0.0
