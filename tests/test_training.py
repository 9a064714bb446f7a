"""How an estimator trains (skgru/_training.py): the stopping rule and its
warnings, patience, the rows trained on, divergence and interrupts, seeding
across threads, ``warm_start`` and ``partial_fit``."""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from estimator_cases import SMALL, sequence_data, series_data
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor
from skgru._module import GRUNetwork
from skgru.exceptions import FitInterruptedWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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


@pytest.mark.parametrize("make", [GRURegressor, GRUClassifier, GRUAnomalyDetector])
def test_numpy_parameters_train_as_the_python_values_do(make):
    # what a grid over numpy arrays gives GridSearchCV: torch's GRU refuses them
    X, y = sequence_data()
    y = None if make is GRUAnomalyDetector else y
    numpy_values = dict(
        hidden_size=np.int64(8), num_layers=np.int32(2), bidirectional=np.True_
    )
    python_values = dict(hidden_size=8, num_layers=2, bidirectional=True)
    got = make(**{**SMALL, **numpy_values}).fit(X, y)
    expected = make(**{**SMALL, **python_values}).fit(X, y)
    np.testing.assert_array_equal(got.predict(X), expected.predict(X))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_continued_fit_refuses_parameters_of_another_network(how):
    X, y = sequence_data()
    reg = GRURegressor(warm_start=True, **SMALL)
    fit = reg.partial_fit if how == "partial_fit" else reg.fit
    fit(X, y)
    before = reg.predict(X)
    reg.set_params(hidden_size=4, num_layers=2)
    fresh = "call fit" if how == "partial_fit" else "fit with warm_start=False"
    with pytest.raises(
        ValueError,
        match=f"{how} continues the fitted network, which was built with "
        "hidden_size=8, num_layers=1, but the estimator now has hidden_size=4, "
        f"num_layers=2. Set them back, or {fresh} to build a new network",
    ):
        fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), before)  # left as it was
    with pytest.raises(ValueError, match="built with scaling='auto'"):
        reg.set_params(hidden_size=8, num_layers=1, scaling="global")
        fit(X, y)
    reg.set_params(scaling="auto")
    # the same values in other types (numpy ints, a list for the default tuple)
    # pass, and training parameters apply to each call
    reg.set_params(hidden_size=np.int64(8), num_layers=1, quantiles=[0.05, 0.5, 0.95])
    reg.set_params(max_iter=2, learning_rate_init=1e-3, batch_size=4)
    fit(X, y)
    # a model saved or pickled before the parameters were recorded is not checked
    del reg._network_params
    fit(X, y)


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
