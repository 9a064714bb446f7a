"""Behaviour every skgru estimator shares (skgru/_base.py)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

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


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("est, X, y, method", cases())
def test_same_random_state_same_predictions(est, X, y, method):
    first = getattr(clone(est).fit(X, y), method)(X)
    second = getattr(clone(est).fit(X, y), method)(X)
    np.testing.assert_array_equal(first, second)
    other = getattr(clone(est).set_params(random_state=1).fit(X, y), method)(X)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("est, X, y, method", cases())
def test_inputs_are_never_modified(est, X, y, method):
    X_before = X.copy()
    y_before = None if y is None else y.copy()
    fitted = clone(est).fit(X, y)
    getattr(fitted, method)(X)
    if isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X, X_before)
    else:
        np.testing.assert_array_equal(X, X_before)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("est, X, y, method", cases())
def test_pickle_round_trip(est, X, y, method):
    fitted = clone(est).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        getattr(restored, method)(X), getattr(fitted, method)(X)
    )
    assert restored.module_ is restored.net_.module_


def test_global_random_states_are_untouched():
    X, y = sequence_data()
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    GRURegressor(dropout=0.5, num_layers=2, **SMALL).fit(X, y).predict(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    global_state = np.random.get_state()[1]  # noqa: NPY002
    np.testing.assert_array_equal(global_state, numpy_state)


def test_nothing_is_printed_unless_verbose(capsys):
    X, y = sequence_data()
    GRURegressor(**SMALL).fit(X, y)
    assert capsys.readouterr().out == ""
    GRURegressor(verbose=1, **SMALL).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


def test_convergence_warning_and_stopping_rule():
    X, y = sequence_data()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        GRURegressor(hidden_size=8, max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # a huge tol: no epoch after the first counts as an improvement, so
        # training stops after 1 + n_iter_no_change epochs (MLPRegressor's rule)
        reg = GRURegressor(hidden_size=8, tol=1e3, n_iter_no_change=3).fit(X, y)
    assert reg.n_iter_ == 4
    assert len(reg.loss_curve_) == reg.n_iter_


def test_diverging_fit_raises_and_names_the_learning_rate():
    X, y = sequence_data()
    with pytest.raises(FloatingPointError, match="Lower learning_rate_init"):
        GRURegressor(learning_rate_init=1e30, max_iter=20).fit(X * 1e20, y * 1e20)


def test_warm_start_continues_training():
    X, y = sequence_data()
    reg = GRURegressor(warm_start=True, **SMALL).fit(X, y)
    first_loss = reg.loss_curve_[-1]
    reg.fit(X, y)
    assert reg.n_iter_ == 10
    assert reg.loss_curve_[5] < first_loss * 1.5  # no restart from scratch
    cold = GRURegressor(**SMALL).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 5


def test_module_is_the_trained_torch_module():
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    assert isinstance(reg.module_, torch.nn.Module)
    assert not reg.module_.training


@pytest.mark.parametrize("window_size", [None, 5])
def test_early_stopping_estimators_pickle(window_size):
    X, y = series_data() if window_size else sequence_data()
    clf = GRUClassifier(early_stopping=True, window_size=window_size, **SMALL).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_predict_in_another_layout_is_refused():
    X, y = sequence_data()  # 3-D, 2 channels
    reg = GRURegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 6 features, but GRURegressor"):
        reg.predict(X[:, :, 0])
    flat = GRURegressor(**SMALL).fit(X[:, :2, 0], y)  # 2-D: 2 time steps
    with pytest.raises(ValueError, match="was fitted on 1"):
        flat.predict(X[:, :3])  # 3-D with 2 channels


def test_thread_count_follows_the_rule_and_is_restored(monkeypatch):
    X, y = sequence_data()
    caller = torch.get_num_threads()
    seen = []
    original = torch.set_num_threads

    def spy(n):
        seen.append(n)
        original(n)

    monkeypatch.setattr(torch, "set_num_threads", spy)
    # batches of 20 rows x 8 hidden units: a small step, so "auto" uses 1
    GRURegressor(**SMALL).fit(X, y).predict(X)
    assert torch.get_num_threads() == caller
    if caller > 1:
        assert seen[0] == 1 and seen[-1] == caller
    seen.clear()
    GRURegressor(n_threads=caller, **SMALL).fit(X, y)
    assert seen == []  # already the caller's count: nothing to change
    GRURegressor(n_threads=caller + 1, **SMALL).fit(X, y)
    assert seen == [caller + 1, caller]
