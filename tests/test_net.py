"""The training loop's callbacks and splits (skgru/_net.py)."""

import warnings

import numpy as np
import pytest
import torch
from estimator_cases import sequence_data
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from skgru import GRUClassifier, GRURegressor
from skgru._net import ADAPTIVE_FACTOR, ADAPTIVE_REDUCTIONS, RandomSplit, TailSplit
from skgru._windows import GroupIndex, WindowDataset


def _lr(est) -> float:
    return est.net_.optimizer_.param_groups[0]["lr"]


def test_adaptive_learning_rate_divides_on_each_plateau_then_stops():
    X, y = sequence_data()
    # a huge tol: every epoch after the first is a plateau epoch
    params = dict(hidden_size=8, tol=1e3, n_iter_no_change=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        constant = GRURegressor(learning_rate="constant", **params).fit(X, y)
        adaptive = GRURegressor(learning_rate="adaptive", **params).fit(X, y)
    assert constant.n_iter_ == 1 + 3
    assert _lr(constant) == constant.learning_rate_init
    assert adaptive.n_iter_ == 1 + 3 * (ADAPTIVE_REDUCTIONS + 1)
    final = adaptive.learning_rate_init / ADAPTIVE_FACTOR**ADAPTIVE_REDUCTIONS
    assert _lr(adaptive) == pytest.approx(final, rel=1e-12)


def test_a_new_fit_and_partial_fit_start_from_learning_rate_init():
    X, y = sequence_data()
    reg = GRURegressor(
        learning_rate="adaptive",
        tol=1e3,
        n_iter_no_change=2,
        warm_start=True,
        hidden_size=8,
        random_state=0,
    ).fit(X, y)
    assert _lr(reg) < reg.learning_rate_init
    reg.partial_fit(X, y)
    assert _lr(reg) == reg.learning_rate_init
    before = reg.n_iter_
    reg.fit(X, y)  # warm start: continues the weights, not the reduced rate
    assert reg.n_iter_ - before == 1 + 2 * (ADAPTIVE_REDUCTIONS + 1)


def test_early_stopping_ends_on_the_best_validation_epoch():
    X, y = sequence_data()
    reg = GRURegressor(
        early_stopping=True,
        learning_rate_init=0.02,
        max_iter=40,
        n_iter_no_change=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    scores = reg.validation_scores_
    assert int(np.argmax(scores)) < len(scores) - 1  # the last epoch was not best
    # the held-out samples of this fit: RandomSplit with the fit's seed
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    data = WindowDataset(torch.zeros(len(X), 1, 1), torch.zeros(len(X)))
    held_out = RandomSplit(reg.validation_fraction, seed, None)(data)[1].index
    r2 = r2_score(y[held_out.numpy()], reg.predict(X[held_out.numpy()]))
    assert r2 == pytest.approx(max(scores), rel=1e-4)


@pytest.mark.parametrize(
    "n_classes, fraction, n_valid",
    [(10, 0.1, 10), (4, 0.5, 20), (3, 0.01, 3)],
)
def test_stratified_hold_out_keeps_every_class_on_both_sides(
    n_classes, fraction, n_valid
):
    labels = np.repeat(np.arange(n_classes), 40 // n_classes)
    data = WindowDataset(torch.zeros(len(labels), 3, 1), torch.from_numpy(labels))
    train, valid = RandomSplit(fraction, 0, labels)(data)
    assert len(valid) == n_valid
    assert set(labels[valid.index.numpy()]) == set(range(n_classes))
    assert set(labels[train.index.numpy()]) == set(range(n_classes))


def test_early_stopping_with_too_few_samples_says_so():
    X = np.random.default_rng(0).normal(size=(4, 5, 1))
    clf = GRUClassifier(early_stopping=True, validation_fraction=0.9)
    with pytest.raises(ValueError, match="validation_fraction=0.9 of 4 samples"):
        clf.fit(X, [0, 1, 2, 3])


def test_tail_split_holds_out_the_last_rows_of_every_series():
    # series a (rows 0, 2, 4, ..., 18: 10 rows) and b (the odd rows and 20-29:
    # 20 rows), interleaved; the dataset is a subset, as complete windows are
    ids = np.array(["a", "b"] * 10 + ["b"] * 10)
    x = torch.arange(30, dtype=torch.float32)[:, None]
    dataset = WindowDataset(x, x[:, 0], window=3, pad=2, groups=GroupIndex(ids))
    kept = np.flatnonzero(np.arange(30) != 0)  # leave row 0 out
    train, valid = TailSplit(0.1)(dataset.subset(kept))
    # 3 of 29 rows: the last 1 of a (row 18) and the last 2 of b (rows 28, 29)
    np.testing.assert_array_equal(valid.index, [18, 28, 29])
    assert sorted(train.index.tolist() + valid.index.tolist()) == kept.tolist()
    # one series: its last rows
    single = WindowDataset(x, x[:, 0], window=3, pad=2)
    train, valid = TailSplit(0.2)(single.subset(np.arange(2, 30)))
    np.testing.assert_array_equal(valid.index, np.arange(24, 30))
