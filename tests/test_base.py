"""Behaviour every skgru estimator shares (skgru/_base.py)."""

import logging
import os
import pickle
import random
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from estimator_cases import SMALL, cases, sequence_data, series_data
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skgru import (
    GRUAnomalyDetector,
    GRUClassifier,
    GRURegressor,
    SlidingWindowTransformer,
)
from skgru._module import GRUNetwork
from skgru.exceptions import FitInterruptedWarning

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


def test_convergence_warning_and_stopping_rule():
    X, y = sequence_data()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        GRURegressor(hidden_size=8, max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # a huge tol: no epoch after the first counts as an improvement, so
        # training stops after 1 + n_iter_no_change epochs (MLPRegressor's rule)
        reg = GRURegressor(
            hidden_size=8, tol=1e3, n_iter_no_change=3, learning_rate="constant"
        ).fit(X, y)
    assert reg.n_iter_ == 4  # learning_rate="adaptive": tests/test_net.py
    assert len(reg.loss_curve_) == reg.n_iter_


@pytest.mark.parametrize("make", [GRURegressor, GRUClassifier, GRUAnomalyDetector])
def test_auto_patience_is_5_epochs_in_series_layout_and_10_in_sequence_layout(make):
    # a huge tol: training stops after 1 + n_iter_no_change epochs
    params = dict(
        hidden_size=8,
        tol=1e3,
        learning_rate="constant",
        n_iter_no_change="auto",
        random_state=0,
    )
    Xs, ys = series_data()
    Xq, yq = sequence_data()
    series = make(window_size=5, **params).fit(Xs, ys)
    sequence = make(**params).fit(Xq, yq)
    assert (series.n_iter_, sequence.n_iter_) == (6, 11)
    fixed = make(window_size=5, **{**params, "n_iter_no_change": 3}).fit(Xs, ys)
    assert fixed.n_iter_ == 4


@pytest.mark.parametrize(
    "make, method",
    [
        # target_channel: the targets are scaled by X's channel, so that the
        # change below reaches the model only through the training rows
        (lambda **p: GRURegressor(target_channel=0, **p), "predict"),
        (GRUClassifier, "predict_proba"),
    ],
)
def test_series_layout_trains_only_on_complete_windows(make, method):
    # the targets of a series' first window_size - 1 rows, whose windows are
    # padded, do not reach the fitted model; the first complete one does
    X, y = series_data()
    groups = np.repeat([0, 1], [40, 20])
    w = 5

    def fitted(targets):
        est = make(window_size=w, **SMALL).fit(X, targets, groups=groups)
        return getattr(est, method)(X, groups=groups)

    padded = y.copy()
    padded[[0, 1, 40, 43]] = 1 - padded[[0, 1, 40, 43]]
    np.testing.assert_array_equal(fitted(padded), fitted(y))
    complete = y.copy()
    complete[44] = 1 - complete[44]  # the second series' row w - 1
    assert not np.array_equal(fitted(complete), fitted(y))


def test_a_series_no_longer_than_the_padding_trains_on_all_its_rows():
    X, y = series_data()
    groups = np.repeat([0, 1], [56, 4])  # the second series: 4 rows
    reg = GRURegressor(window_size=5, target_channel=0, **SMALL)
    fit = reg.fit(X, y, groups=groups).predict(X, groups=groups)
    changed = y.copy()
    changed[57] = 1 - changed[57]
    other = clone(reg).fit(X, changed, groups=groups).predict(X, groups=groups)
    assert not np.array_equal(other, fit)


def test_diverging_fit_raises_and_names_the_learning_rate():
    X, y = sequence_data()
    reg = GRURegressor(learning_rate_init=1e30, max_iter=20)
    with pytest.raises(FloatingPointError, match="Lower learning_rate_init"):
        reg.fit(X, y)
    with pytest.raises(NotFittedError):  # no half-trained model to predict with
        reg.predict(X)


def test_a_diverging_continued_fit_keeps_the_last_good_weights():
    X, y = sequence_data()
    reg = GRURegressor(warm_start=True, **SMALL).fit(X, y)
    before = reg.predict(X)
    with pytest.raises(FloatingPointError, match="Training diverged"):
        reg.fit(X, y * 1e30)  # its fitted target scaling makes the loss overflow
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.n_iter_ == 5


def test_predictions_are_never_nan():
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    with torch.no_grad():
        reg.module_.head.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN or infinite for 40 sample"):
        reg.predict(X)


def interrupt_at_batch(monkeypatch, number):
    """Make the network's forward pass raise KeyboardInterrupt at call ``number``."""
    calls = 0
    forward = GRUNetwork.forward

    def interrupted(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == number:
            raise KeyboardInterrupt
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(GRUNetwork, "forward", interrupted)


def test_an_interrupted_fit_keeps_the_last_finished_epoch(monkeypatch):
    X, y = sequence_data()  # 40 sequences: 2 batches of 20 per epoch
    # the second batch of epoch 3, after the first one updated the weights
    interrupt_at_batch(monkeypatch, 6)
    with pytest.warns(FitInterruptedWarning, match="after 2 of max_iter=5 epochs"):
        reg = GRURegressor(**SMALL).fit(X, y)
    monkeypatch.undo()
    assert reg.n_iter_ == len(reg.loss_curve_) == 2
    two_epochs = GRURegressor(**{**SMALL, "max_iter": 2}).fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), two_epochs.predict(X))
    assert reg.loss_curve_ == two_epochs.loss_curve_
    reg.set_params(warm_start=True).fit(X, y)  # and it trains on from there
    assert reg.n_iter_ == 7


def test_an_interrupt_before_any_epoch_finishes_propagates(monkeypatch):
    X, y = sequence_data()
    reg = GRURegressor(**SMALL)
    interrupt_at_batch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, y)
    monkeypatch.undo()
    with pytest.raises(NotFittedError):
        reg.predict(X)


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


def test_fits_in_threads_take_turns_and_restore_the_thread_count():
    X, y = sequence_data()
    # half of them change the thread count while they run
    models = [
        GRURegressor(**{**SMALL, "random_state": seed, "n_threads": 1 + seed % 2})
        for seed in range(4)
    ]
    alone = [clone(m).fit(X, y).predict(X) for m in models]
    caller = torch.get_num_threads()
    torch_state = torch.get_rng_state()
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda m: m.fit(X, y).predict(X), models))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.get_num_threads() == caller
    assert torch.equal(torch.get_rng_state(), torch_state)


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


def _chunked_series():
    rng = np.random.default_rng(0)
    t = np.arange(2400)
    s = np.sin(t / 10) + 0.5 * np.sin(t / 37) + 0.1 * rng.normal(size=len(t))
    return s[:-1, None], s[1:]


@pytest.mark.parametrize("make", [GRURegressor, GRUClassifier])
def test_partial_fit_in_ten_chunks_scores_within_ten_percent_of_fit(make):
    X, y = _chunked_series()
    if make is GRUClassifier:
        y = np.digitize(y, [-0.5, 0.5])  # three classes
    train, test = slice(0, 1800), slice(1800, None)
    params = dict(window_size=20, hidden_size=16, batch_size=32, random_state=0)
    epochs = 4
    full = make(max_iter=epochs, **params).fit(X[train], y[train])
    chunked = make(**params)
    chunks = np.array_split(np.arange(1800), 10)
    for _ in range(epochs):
        for chunk in chunks:
            chunked.partial_fit(
                X[chunk],
                y[chunk],
                **({"classes": [0, 1, 2]} if make is GRUClassifier else {}),
            )
    assert chunked.n_iter_ == len(chunked.loss_curve_) == epochs * 10
    full_score = full.score(X[test], y[test])
    assert full_score > 0.6  # a real model, not two failures compared
    assert chunked.score(X[test], y[test]) >= 0.9 * full_score


def test_partial_fit_continues_weights_and_optimizer_state():
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    steps = float(reg.net_.optimizer_.state_dict()["state"][0]["step"])
    weights = reg.module_.head.weight.detach().clone()
    reg.partial_fit(X, y)
    assert reg.n_iter_ == SMALL["max_iter"] + 1
    # one more epoch of Adam steps on the same optimizer, from the same weights
    after = float(reg.net_.optimizer_.state_dict()["state"][0]["step"])
    n_batches = -(-len(X) // reg._batch_size(len(X)))
    assert after == steps + n_batches
    assert not torch.equal(reg.module_.head.weight, weights)
    fresh = GRURegressor(**SMALL).partial_fit(X, y)
    assert fresh.n_iter_ == 1
    assert float(fresh.net_.optimizer_.state_dict()["state"][0]["step"]) == n_batches


def test_partial_fit_ignores_early_stopping_and_warns_nothing():
    X, y = sequence_data()
    reg = GRURegressor(early_stopping=True, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.partial_fit(X, y).partial_fit(X, y)
    assert reg.n_iter_ == 2 and reg.validation_loss_curve_ == []
    reg.fit(X, y)  # a full fit validates again
    assert len(reg.validation_loss_curve_) == reg.n_iter_


def test_classifier_partial_fit_fixes_the_classes_on_the_first_call():
    X, y = sequence_data()
    clf = GRUClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])  # one label seen
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X, y)  # later calls need not repeat them
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[5\]"):
        clf.partial_fit(X, np.where(y == 1, 5, 0))
    with pytest.raises(ValueError, match="balanced"):
        GRUClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        GRUClassifier().partial_fit(X, y, classes=[1])


def test_detector_partial_fit_sets_its_threshold_on_each_call():
    X, _ = sequence_data()
    det = GRUAnomalyDetector(**SMALL).partial_fit(X[:20])
    first = det._error_scale
    det.partial_fit(X[20:])
    assert det._error_scale != first and det.n_iter_ == 2
    assert set(det.predict(X)) <= {-1, 1}


def test_partial_fit_keeps_the_first_calls_layout():
    X, y = _chunked_series()
    reg = GRURegressor(window_size=10, **SMALL).partial_fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="partial_fit continues the previous fit"):
        reg.set_params(window_size=5).partial_fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="2 features|2 channel"):
        reg.set_params(window_size=10).partial_fit(np.c_[X, X][:200], y[:200])


def test_warm_start_starts_from_the_fitted_weights():
    X, y = sequence_data()
    cold = GRURegressor(**SMALL).fit(X, y)
    warm = GRURegressor(warm_start=True, **SMALL).fit(X, y)
    last = warm.loss_curve_[-1]
    weights = warm.module_.gru.weight_hh_l0.detach().clone()
    warm.fit(X, y)
    # the continued fit's first epoch starts where the first fit ended, far
    # below where a new network starts
    assert warm.loss_curve_[SMALL["max_iter"]] < cold.loss_curve_[0]
    assert abs(warm.loss_curve_[SMALL["max_iter"]] - last) < abs(
        cold.loss_curve_[0] - last
    )
    assert not torch.equal(warm.module_.gru.weight_hh_l0, weights)
