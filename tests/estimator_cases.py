"""Small fitted-estimator cases shared by the test modules: every estimator in
both layouts, with the method whose output identifies its fitted state."""

import numpy as np
import pandas as pd
import pytest

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor

SMALL = dict(hidden_size=8, max_iter=5, random_state=0)


def series_data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": np.sin(np.arange(60) / 4.0), "b": rng.normal(size=60)},
        index=pd.date_range("2024-01-01", periods=60, freq="D"),
    )
    return X, (X["a"] > 0).astype(int).to_numpy()


def sequence_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 6, 2))
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def cases():
    Xs, ys = series_data()
    Xq, yq = sequence_data()
    return [
        pytest.param(
            GRURegressor(**SMALL), Xq, yq.astype(float), "predict", id="reg-seq"
        ),
        pytest.param(
            GRURegressor(window_size=5, target_channel="a", **SMALL),
            Xs,
            ys.astype(float),
            "predict",
            id="reg-series",
        ),
        pytest.param(GRUClassifier(**SMALL), Xq, yq, "predict_proba", id="clf-seq"),
        pytest.param(
            GRUClassifier(window_size=5, **SMALL),
            Xs,
            ys,
            "predict_proba",
            id="clf-series",
        ),
        pytest.param(
            GRUAnomalyDetector(**SMALL), Xq, None, "score_samples", id="det-seq"
        ),
        pytest.param(
            GRUAnomalyDetector(window_size=5, method="reconstruction", **SMALL),
            Xs,
            None,
            "score_samples",
            id="det-series",
        ),
    ]
