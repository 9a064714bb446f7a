"""Bad input gets a ValueError that names the problem (skgru/_validation.py)."""

import numpy as np
import pandas as pd
import pytest

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor

rng = np.random.default_rng(0)
X_SEQ = rng.normal(size=(20, 5))
Y_SEQ = rng.normal(size=20)


@pytest.mark.parametrize("Est", [GRURegressor, GRUClassifier, GRUAnomalyDetector])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_in_X(Est, bad):
    X = X_SEQ.copy()
    X[3, 2] = bad
    y = None if Est is GRUAnomalyDetector else (Y_SEQ > 0).astype(int)
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        Est(max_iter=1).fit(X, y)


def test_nan_in_y():
    y = Y_SEQ.copy()
    y[0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        GRURegressor(max_iter=1).fit(X_SEQ, y)


def test_nan_in_3d_X():
    X = rng.normal(size=(10, 4, 2))
    X[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GRURegressor(max_iter=1).fit(X, rng.normal(size=10))


@pytest.mark.parametrize("Est", [GRURegressor, GRUClassifier, GRUAnomalyDetector])
def test_series_shorter_than_the_window(Est):
    X = rng.normal(size=(6, 2))
    y = None if Est is GRUAnomalyDetector else np.arange(6) % 2
    with pytest.raises(
        ValueError, match="window_size=10 needs a series of at least 10"
    ):
        Est(window_size=10).fit(X, y)


def test_predict_on_a_series_shorter_than_the_window():
    X = rng.normal(size=(30, 2))
    reg = GRURegressor(window_size=8, max_iter=1).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="include the 7 rows before them"):
        reg.predict(X[:5])


@pytest.mark.parametrize("window_size", [None, 3])
def test_wrong_feature_count_at_predict(window_size):
    X = rng.normal(size=(30, 4))
    reg = GRURegressor(window_size=window_size, max_iter=1).fit(X, X[:, 0])
    with pytest.raises(
        ValueError, match="X has 3 features, but GRURegressor is expecting 4"
    ):
        reg.predict(X[:, :3])


def test_unseen_feature_names_at_predict():
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    reg = GRURegressor(window_size=3, max_iter=1).fit(X, X["a"])
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        reg.predict(X.rename(columns={"b": "c"}))


def test_one_class():
    with pytest.raises(ValueError, match="y has 1 class"):
        GRUClassifier().fit(X_SEQ, np.ones(20))


@pytest.mark.parametrize("Est", [GRURegressor, GRUClassifier, GRUAnomalyDetector])
def test_non_numeric_data(Est):
    X = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object)
    y = None if Est is GRUAnomalyDetector else [0, 1, 0]
    with pytest.raises(ValueError, match="could not convert|argument must be"):
        Est().fit(X, y)


def test_non_numeric_dataframe_column():
    X = pd.DataFrame({"temp": [1.0, 2.0, 3.0, 4.0], "site": ["a", "b", "a", "b"]})
    with pytest.raises(ValueError, match="could not convert string to float"):
        GRURegressor(window_size=2).fit(X, [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("Est", [GRURegressor, GRUAnomalyDetector])
def test_too_few_samples(Est):
    y = None if Est is GRUAnomalyDetector else [1.0]
    with pytest.raises(ValueError, match="1 sample"):
        Est().fit(X_SEQ[:1], y)


def test_ragged_sequences_with_different_feature_counts():
    X = [np.zeros((3, 2)), np.zeros((4, 3))]
    with pytest.raises(ValueError, match="different numbers of features"):
        GRURegressor().fit(X, [1.0, 2.0])


def test_3d_X_with_a_window_size():
    with pytest.raises(ValueError, match="X is 3-D .* sequence layout"):
        GRURegressor(window_size=3).fit(np.zeros((5, 4, 2)), np.zeros(5))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"window_size": 0}, "'window_size' parameter"),
        ({"window_size": 2.5}, "'window_size' parameter"),
        ({"hidden_size": -1}, "'hidden_size' parameter"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GRURegressor(**params).fit(X_SEQ, Y_SEQ)


def test_bad_contamination():
    with pytest.raises(ValueError, match="'contamination' parameter"):
        GRUAnomalyDetector(contamination=0.7).fit(X_SEQ)
