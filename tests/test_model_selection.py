import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import (
    GridSearchCV,
    TimeSeriesSplit,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgru import GRURegressor
from skgru.model_selection import PanelTimeSeriesSplit


def panel(lengths=(40, 25, 13), interleave=True, seed=0):
    """Rows of several series in long format, in time order within each."""
    ids = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
    time = np.concatenate([np.arange(n) for n in lengths])
    if interleave:  # sorted by time across the series, as a table often is
        order = np.lexsort((ids, time))
        ids, time = ids[order], time[order]
    X = np.random.default_rng(seed).normal(size=(len(ids), 2))
    return X, ids, time


@pytest.mark.parametrize("interleave", [False, True])
@pytest.mark.parametrize("gap", [0, 2])
def test_no_fold_trains_on_the_future_of_a_series(interleave, gap):
    X, ids, time = panel(interleave=interleave)
    splits = list(PanelTimeSeriesSplit(n_splits=4, gap=gap).split(X, groups=ids))
    assert len(splits) == 4
    for train, test in splits:
        assert not np.intersect1d(train, test).size
        for series in np.unique(ids[test]):
            train_times = time[train][ids[train] == series]
            test_times = time[test][ids[test] == series]
            # (a short series may have no training rows left before the gap)
            assert (train_times + gap < test_times.min()).all()
        # a series takes part in training only where it is tested
        assert set(ids[train]) <= set(ids[test])


def test_each_series_is_split_at_the_same_share_of_its_length():
    X, ids, time = panel(lengths=(60, 30), interleave=False)
    for k, (_, test) in enumerate(
        PanelTimeSeriesSplit(n_splits=2).split(X, groups=ids)
    ):
        for series, n in ((0, 60), (1, 30)):
            first_test = time[test][ids[test] == series].min()
            assert first_test == (k + 1) * n // 3


def test_one_series_is_split_like_time_series_split_when_lengths_divide():
    X = np.zeros((60, 1))
    ours = PanelTimeSeriesSplit(n_splits=5).split(X, groups=np.zeros(60))
    theirs = TimeSeriesSplit(n_splits=5).split(X)
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_cross_validation_routes_groups_to_the_splitter():
    X, ids, _ = panel()
    y = X[:, 0] + np.random.default_rng(1).normal(0, 0.1, len(X))
    cv = PanelTimeSeriesSplit(n_splits=3)
    scores = cross_val_score(Ridge(), X, y, groups=ids, cv=cv)
    assert scores.shape == (3,) and (scores > 0.5).all()
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(Ridge(), X, y, params={"groups": ids}, cv=cv)
    np.testing.assert_allclose(result["test_score"], scores)


def test_a_multiindex_dataframe_gives_its_own_groups():
    X, ids, time = panel()
    frame = pd.DataFrame(X, index=pd.MultiIndex.from_arrays([ids, time]))
    cv = PanelTimeSeriesSplit(n_splits=3)
    for (train, test), (train_g, test_g) in zip(
        cv.split(frame), cv.split(X, groups=ids), strict=True
    ):
        np.testing.assert_array_equal(train, train_g)
        np.testing.assert_array_equal(test, test_g)
    # groups given explicitly win over the index
    other = np.zeros(len(X), dtype=int)
    got = [test for _, test in cv.split(frame, groups=other)]
    expected = [test for _, test in cv.split(X, groups=other)]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_input_says_what_to_change():
    X, ids, _ = panel()
    with pytest.raises(ValueError, match="needs groups"):
        next(PanelTimeSeriesSplit().split(X))
    with pytest.raises(ValueError, match="groups has shape .* one series id per row"):
        next(PanelTimeSeriesSplit().split(X, groups=ids[:-1]))
    with pytest.raises(ValueError, match="groups has 13 missing series id"):
        next(PanelTimeSeriesSplit().split(X, groups=np.where(ids == 2, np.nan, ids)))
    unsortable = np.where(ids == 2, None, ids.astype(str)).astype(object)
    with pytest.raises(TypeError, match="cannot be sorted together"):
        next(PanelTimeSeriesSplit().split(X, groups=unsortable))
    with pytest.raises(ValueError, match="n_splits must be an int of at least 2"):
        next(PanelTimeSeriesSplit(n_splits=1).split(X, groups=ids))
    with pytest.raises(ValueError, match="gap must be"):
        next(PanelTimeSeriesSplit(gap=-1).split(X, groups=ids))
    with pytest.raises(ValueError, match="no training rows.*Lower n_splits"):
        list(PanelTimeSeriesSplit(n_splits=4, gap=30).split(X, groups=ids))
    assert PanelTimeSeriesSplit(n_splits=3).get_n_splits() == 3


def test_pipeline_and_grid_search_route_groups_to_the_gru_and_the_splitter():
    rng = np.random.default_rng(0)
    lengths = (90, 60, 75)
    X = np.concatenate(
        [
            np.sin(np.arange(n) / 5.0 + k) + 0.05 * rng.normal(size=n)
            for k, n in enumerate(lengths)
        ]
    )[:, None]
    ids = np.repeat(np.arange(3), lengths)
    y = np.roll(X[:, 0], -1)
    gru = GRURegressor(window_size=8, hidden_size=8, max_iter=3, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        gru.set_fit_request(groups=True).set_predict_request(groups=True)
        gru.set_score_request(groups=True)
        model = make_pipeline(StandardScaler(), gru)
        search = GridSearchCV(
            model, {"gruregressor__window_size": [4, 8]}, cv=PanelTimeSeriesSplit(2)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y, groups=ids)
        predictions = search.best_estimator_.predict(X, groups=ids)
    assert search.best_params_["gruregressor__window_size"] in (4, 8)
    assert predictions.shape == y.shape
