"""Behaviour every skgru estimator shares (skgru/_base.py): repeatability, inputs
left alone, nothing printed or left behind, threads, layouts, the repr."""

import logging
import os
import pickle
import random
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from estimator_cases import SMALL, cases, sequence_data
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skgru import (
    GRUAnomalyDetector,
    GRUClassifier,
    GRURegressor,
    SlidingWindowTransformer,
)

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


def global_state(folder):
    """Everything of the process's and the folder's that skgru must not change."""
    loggers = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    return dict(
        torch_rng=torch.get_rng_state(),
        numpy_rng=np.random.get_state()[1].copy(),  # noqa: NPY002
        python_rng=random.getstate(),
        threads=torch.get_num_threads(),
        interop_threads=torch.get_num_interop_threads(),
        grad_enabled=torch.is_grad_enabled(),
        default_dtype=torch.get_default_dtype(),
        files=sorted(path.name for path in folder.iterdir()),
        root_logger=(logging.root.level, list(logging.root.handlers)),
        loggers=loggers,
        warning_filters=list(warnings.filters),
    )


@pytest.mark.parametrize("est, X, y, method", cases())
def test_fit_and_predict_leave_no_trace(est, X, y, method, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = global_state(tmp_path)
    est = clone(est).set_params(dropout=0.5, num_layers=2)  # dropout draws too
    getattr(est.fit(X, y), method)(X)
    after = global_state(tmp_path)
    assert torch.equal(after.pop("torch_rng"), before.pop("torch_rng"))
    np.testing.assert_array_equal(after.pop("numpy_rng"), before.pop("numpy_rng"))
    # loggers that torch creates on first use may appear, unconfigured
    new = set(after["loggers"]) - set(before["loggers"])
    assert all(after["loggers"].pop(name)[:2] == (0, []) for name in new)
    assert after == before


def test_nothing_is_printed_unless_verbose(capsys):
    X, y = sequence_data()
    GRURegressor(**SMALL).fit(X, y).predict(X)
    assert capsys.readouterr() == ("", "")
    reg = GRURegressor(verbose=1, early_stopping=True, **SMALL).fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    assert "5/5" in err and "train_loss=" in err and "valid_loss=" in err
    pickle.loads(pickle.dumps(reg))  # the closed bar is not kept
    GRURegressor(verbose=2, **SMALL).fit(X, y)
    assert "train_loss" in capsys.readouterr().out  # skorch's epoch table


def test_predictions_are_never_nan():
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    with torch.no_grad():
        reg.module_.head.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN or infinite for 40 sample"):
        reg.predict(X)


def test_module_is_the_trained_torch_module():
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    assert isinstance(reg.module_, torch.nn.Module)
    assert not reg.module_.training


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


def worker_threads(estimator, X, y):
    """A scorer reporting the torch thread count of the process it runs in."""
    return torch.get_num_threads()


def test_parallel_search_and_cross_validation(monkeypatch):
    # joblib gives each of n_jobs workers cpu_count // n_jobs threads unless
    # the caller's environment already sets a count (as `make test` does)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    X, y = sequence_data()
    base = GRURegressor(hidden_size=4, max_iter=3, random_state=0)
    grid = {"hidden_size": [2, 4], "learning_rate_init": [1e-3, 1e-2]}
    caller = torch.get_num_threads()
    serial = GridSearchCV(base, grid, cv=3).fit(X, y)
    parallel = GridSearchCV(base, grid, cv=3, n_jobs=2).fit(X, y)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        cross_val_score(base, X, y, cv=3, n_jobs=2), cross_val_score(base, X, y, cv=3)
    )
    threads = cross_val_score(base, X, y, cv=2, n_jobs=2, scoring=worker_threads)
    assert threads.tolist() == [max(1, os.cpu_count() // 2)] * 2
    assert torch.get_num_threads() == caller


@pytest.mark.parametrize(
    "est",
    [
        GRURegressor(window_size=12, target_channel="temp"),
        GRUClassifier(class_weight={"a": 2.0}),
        GRUAnomalyDetector(contamination=0.01),
        make_pipeline(SlidingWindowTransformer(), GRURegressor(device="cpu")),
    ],
    ids=["regressor", "classifier", "detector", "pipeline"],
)
def test_notebook_html_repr(est):
    html = est._repr_html_()
    assert "GRU" in html and "<div" in html
    assert "target_channel" in html or not isinstance(est, GRURegressor)
