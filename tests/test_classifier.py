import numpy as np
import pytest

from skgru import GRUClassifier
from skgru.datasets import load_basic_motions

pytestmark = pytest.mark.usefixtures("no_convergence_warning")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_basic_motions_official_split(seed):
    X_train, y_train = load_basic_motions("train")
    X_test, y_test = load_basic_motions("test")
    clf = GRUClassifier(random_state=seed).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.90


def toy_sequences(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8, 2))
    level = X[:, :, 0].mean(axis=1)
    y = np.select([level < -0.15, level > 0.15], ["low", "high"], "mid")
    return X, y


def test_labels_probabilities_and_classes():
    X, y = toy_sequences()
    clf = GRUClassifier(hidden_size=16, max_iter=40, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["high", "low", "mid"]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.score(X, y) > 0.6


def test_class_weight_shifts_predictions_to_the_heavy_class():
    X, y = toy_sequences()
    kw = dict(hidden_size=8, max_iter=30, random_state=0)
    plain = GRUClassifier(**kw).fit(X, y).predict(X)
    heavy = GRUClassifier(class_weight={"low": 50.0, "mid": 1.0, "high": 1.0}, **kw)
    weighted = heavy.fit(X, y).predict(X)
    assert (weighted == "low").sum() > (plain == "low").sum()
    balanced = GRUClassifier(class_weight="balanced", **kw).fit(X, y)
    assert balanced.predict(X).shape == (90,)


def test_series_layout_labels_every_row():
    rng = np.random.default_rng(0)
    t = np.arange(300)
    X = np.column_stack([np.sin(t / 6), rng.normal(0, 0.1, 300)])
    y = (np.sin(t / 6) > 0).astype(int)
    clf = GRUClassifier(window_size=8, hidden_size=16, max_iter=40, random_state=0)
    assert clf.fit(X, y).predict(X).shape == (300,)
    assert clf.score(X, y) > 0.9


def test_one_class_is_rejected():
    X, _ = toy_sequences(20)
    with pytest.raises(ValueError, match="y has 1 class"):
        GRUClassifier().fit(X, np.zeros(20))


@pytest.mark.parametrize(
    "labels, error, message",
    [
        (["a", "b"] * 14 + [None, "a"], ValueError, "y contains 1 missing label"),
        (["a", "b"] * 14 + [None, None], ValueError, "y contains 2 missing label"),
        (["a", 1] * 15, TypeError, r"types \['int', 'str'\] that cannot be sorted"),
    ],
)
def test_missing_or_unsortable_labels_are_named(labels, error, message):
    X = np.random.default_rng(0).normal(size=(30, 5))
    with pytest.raises(error, match=message):
        GRUClassifier(max_iter=1).fit(X, np.array(labels, dtype=object))


def test_early_stopping_holds_out_a_stratified_split():
    X, y = toy_sequences()
    clf = GRUClassifier(early_stopping=True, hidden_size=8, max_iter=15, random_state=0)
    clf.fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    n_valid = clf.net_.history[-1, "valid_batch_count"]
    assert n_valid >= 1


def test_warm_start_with_early_stopping_splits_each_calls_own_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    clf = GRUClassifier(
        early_stopping=True, warm_start=True, hidden_size=4, max_iter=3, random_state=0
    )
    clf.fit(X, y)
    clf.fit(X[:25], y[:25])  # stratified by these 25 labels, not the first 60
    assert clf.n_iter_ == len(clf.validation_loss_curve_) == 6
    assert len(clf.validation_scores_) == 6
    # accuracies of a stratified tenth of 25 labels: multiples of 1/3
    assert all(s in (0.0, 1 / 3, 2 / 3, 1.0) for s in clf.validation_scores_[3:])
