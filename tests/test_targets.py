"""GRURegressor's targets: checked, standardised, and given back (skgru/_targets.py)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgru import GRURegressor


def test_2d_y_with_one_column_keeps_its_shape():
    X = np.random.default_rng(0).normal(size=(30, 5))
    reg = GRURegressor(hidden_size=4, max_iter=2, random_state=0).fit(X, X[:, :1])
    assert reg.predict(X).shape == (30, 1)


def test_target_channel_by_name_or_index_gives_the_same_model(sensor_frame):
    X, y = sensor_frame
    kw = dict(window_size=12, max_iter=5, random_state=0)
    by_name = GRURegressor(target_channel="temp", **kw).fit(X, y).predict(X)
    by_index = GRURegressor(target_channel=0, **kw).fit(X, y).predict(X)
    np.testing.assert_array_equal(by_name, by_index)


@pytest.mark.parametrize(
    "channel, message",
    [
        (5, "target_channel=5 is out of range"),
        ("pressure", r"not a column of X: its columns are \['temp', 'load'\]\.$"),
    ],
)
def test_bad_target_channel(sensor_frame, channel, message):
    X, y = sensor_frame
    with pytest.raises(ValueError, match=message):
        GRURegressor(window_size=4, target_channel=channel, max_iter=1).fit(X, y)


def test_a_bool_target_channel_is_refused(sensor_frame):
    X, y = sensor_frame
    with pytest.raises(ValueError, match="target_channel=True is a bool"):
        GRURegressor(window_size=4, target_channel=True, max_iter=1).fit(X, y)


def test_a_target_channel_renamed_by_a_column_transformer_is_pointed_out(sensor_frame):
    X, y = sensor_frame
    scale = ColumnTransformer([("num", StandardScaler(), ["temp", "load"])])
    model = make_pipeline(
        scale.set_output(transform="pandas"),
        GRURegressor(window_size=4, target_channel="temp", max_iter=1),
    )
    with pytest.raises(ValueError, match="Did you mean 'num__temp'\\? A ColumnTransf"):
        model.fit(X, y)


def test_target_channel_targets_share_the_channels_standardisation():
    # y (the next values) has other global statistics than X's channel (the
    # values up to now): were they used, an output of the channel's window
    # scale would be shifted by their difference at every step of a forecast
    series = np.exp(np.arange(60) / 10.0)
    reg = GRURegressor(window_size=5, hidden_size=4, max_iter=2, target_channel=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(series[:-1, None], series[1:])
    np.testing.assert_array_equal(reg._y_mean, reg._input_stats[0][:1])
    np.testing.assert_array_equal(reg._y_scale, reg._input_stats[1][:1])


def test_a_continued_fit_needs_as_many_target_columns():
    X = np.random.default_rng(0).normal(size=(30, 5))
    reg = GRURegressor(hidden_size=4, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.partial_fit(X, X[:, 0])
    with pytest.raises(
        ValueError, match="y has 2 columns, but the fit being continued had 1"
    ):
        reg.partial_fit(X, X[:, :2])


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["a", "b"] * 15),
        np.array(["a", "b"] * 15, dtype=object),
        pd.Series(["a", "b"] * 15),
    ],
    ids=["str", "object", "pandas"],
)
def test_labels_are_sent_to_the_classifier(labels):
    X = np.random.default_rng(0).normal(size=(30, 5))
    with pytest.raises(ValueError, match="numeric targets. For labels, use GRUClass"):
        GRURegressor(max_iter=1).fit(X, labels)
    with pytest.raises(ValueError, match="numeric targets. For labels, use GRUClass"):
        GRURegressor(max_iter=1).fit([x.reshape(5, 1) for x in X], labels)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_a_missing_target_in_an_object_array_is_named(missing):
    # numpy turns None into NaN when it makes the targets numbers: unchecked,
    # training would diverge and say so, not name the missing targets
    X = np.random.default_rng(0).normal(size=(30, 5))
    y = np.array([1.0, missing, 2.0] * 10, dtype=object)
    with pytest.raises(ValueError, match=r"y contains 10 missing target\(s\)"):
        GRURegressor(max_iter=1).fit(X, y)
