"""Streaming inference: one row at a time, the same answers as predict."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from tolerance import STREAM_RTOL, assert_float32_close

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor

SMALL = dict(hidden_size=8, max_iter=3, random_state=0)
# a GRU read step by step whose last state alone reaches the output layer:
# what a sequence-layout stream can carry from row to row
PLAIN = dict(pooling="last", instance_norm=False)


def _series(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.c_[np.sin(t / 9) + 0.1 * rng.normal(size=n), np.cos(t / 5) * 3 + 10]


def _fitted(est, y_of):
    X = _series()
    y = y_of(X)
    return est.fit(X[:300], None if y is None else y[:300])


SERIES_CASES = [
    pytest.param(
        GRURegressor(window_size=10, target_channel=0, **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-revin",
    ),
    pytest.param(
        GRURegressor(window_size=10, target_channel=0, autoregressive=False, **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-revin-without-autoregressive",
    ),
    pytest.param(
        GRURegressor(window_size=10, num_layers=2, **SMALL),
        lambda X: X * 2,
        id="reg-multioutput",
    ),
    pytest.param(
        GRUClassifier(window_size=10, **SMALL),
        lambda X: np.where(X[:, 0] > 0, "up", "down"),
        id="clf",
    ),
    pytest.param(
        GRUAnomalyDetector(window_size=10, **SMALL), lambda X: None, id="det-forecast"
    ),
    pytest.param(
        GRUAnomalyDetector(window_size=10, method="reconstruction", **SMALL),
        lambda X: None,
        id="det-reconstruction",
    ),
]


def _answers(stream, rows):
    return np.array([stream.update(row) for row in rows])


def _assert_same(got, expected):
    if np.asarray(expected).dtype.kind == "f":
        assert_float32_close(got, expected, rtol=STREAM_RTOL)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("est, y_of", SERIES_CASES)
def test_series_stream_answers_equal_each_method_on_the_same_rows(est, y_of):
    est = _fitted(est, y_of)
    rows = _series(seed=1)[:120]  # new data, from its first row on
    for method in est._stream_methods:
        got = _answers(est.stream(method), rows)
        _assert_same(got, getattr(est, method)(rows))


def test_default_answers_are_predict_and_the_detectors_scores():
    X = _series()
    reg = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0])
    det = GRUAnomalyDetector(window_size=10, **SMALL).fit(X)
    assert reg.stream().method == "predict"
    assert det.stream().method == "score_samples"
    assert isinstance(reg.stream().update(X[0]), float)
    assert isinstance(
        GRUClassifier(window_size=10, **SMALL)
        .fit(X, X[:, 0] > 0)
        .stream()
        .update(X[0]),
        bool,
    )


def test_sequence_layout_carries_the_hidden_state():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 12, 2))
    reg = GRURegressor(num_layers=2, **PLAIN, **SMALL).fit(X, X[:, :, 0].sum(axis=1))
    clf = GRUClassifier(**PLAIN, **SMALL).fit(X, X[:, -1, 1] > 0)
    sequence = rng.normal(size=(12, 2))
    prefixes = [sequence[None, : t + 1] for t in range(12)]
    got = _answers(reg.stream(), sequence)
    _assert_same(got, [reg.predict(p)[0] for p in prefixes])
    got = np.array([clf.stream("predict_proba").update(sequence[0])])
    _assert_same(got, clf.predict_proba(prefixes[0]))


@pytest.mark.parametrize(
    "est, match",
    [
        (GRURegressor(target_channel=0, **PLAIN, **SMALL), "target_channel"),
        (GRURegressor(bidirectional=True, **PLAIN, **SMALL), "bidirectional"),
        (GRUAnomalyDetector(**SMALL), "target_channel|series layout"),
        (GRURegressor(instance_norm=True, pooling="last", **SMALL), "instance_norm"),
        (GRURegressor(**{**PLAIN, "pooling": "mean"}, **SMALL), "other than 'last'"),
        (GRURegressor(patch_size=2, **PLAIN, **SMALL), "patch_size above 1"),
        (
            GRURegressor(conv_filters=(4,), conv_kernel_sizes=(3,), **PLAIN, **SMALL),
            "conv_filters",
        ),
        (GRURegressor(**SMALL), "instance_norm"),  # the defaults
    ],
)
def test_sequence_layout_refuses_what_cannot_stream(est, match):
    X = np.random.default_rng(0).normal(size=(30, 8, 2))
    est.fit(X, None if isinstance(est, GRUAnomalyDetector) else X[:, 0, 0])
    with pytest.raises(ValueError, match=match):
        est.stream()


def test_streams_are_independent_and_share_the_model():
    X = _series()
    det = GRUAnomalyDetector(window_size=10, **SMALL).fit(X)
    a, b = det.stream(), det.stream()
    assert a.estimator is b.estimator is det
    other = _series(seed=2)
    got_a, got_b = [], []
    for row_a, row_b in zip(X[:60], other[:60], strict=True):  # interleaved
        got_a.append(a.update(row_a))
        got_b.append(b.update(row_b))
    _assert_same(got_a, det.score_samples(X[:60]))
    _assert_same(got_b, det.score_samples(other[:60]))


def test_reset_starts_a_new_stream_and_the_buffer_never_grows():
    X = _series()
    reg = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0])
    stream = reg.stream()
    shape = stream._buffer.shape
    _answers(stream, X)
    assert stream.n_rows_ == len(X)
    assert stream._buffer.shape == shape  # the cost per row cannot grow
    stream.reset()
    _assert_same(_answers(stream, X[100:150]), reg.predict(X[100:150]))


def test_a_pickled_or_restored_stream_continues_where_it_was():
    X = _series()
    det = GRUAnomalyDetector(window_size=10, **SMALL).fit(X)
    stream = det.stream("decision_function")
    _answers(stream, X[:50])
    copy = pickle.loads(pickle.dumps(stream))
    assert copy.n_rows_ == 50 and copy.method == "decision_function"
    expected = det.decision_function(X[:80])[50:]
    _assert_same(_answers(copy, X[50:80]), expected)
    # the light state (no model) restores onto another stream of the model
    restored = det.stream("decision_function").set_state(stream.get_state())
    _assert_same(_answers(restored, X[50:80]), expected)
    _assert_same(_answers(stream, X[50:80]), expected)  # the original is intact


def test_state_of_another_model_is_refused():
    X = _series()
    a = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0])
    b = GRURegressor(window_size=4, **SMALL).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="not from a stream of this estimator"):
        b.stream().set_state(a.stream().get_state())


def test_sequence_layout_state_restores_and_a_foreign_one_is_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 12, 2))
    y = X[:, :, 0].sum(axis=1)
    reg = GRURegressor(num_layers=2, **PLAIN, **SMALL).fit(X, y)
    sequence = rng.normal(size=(12, 2))
    stream = reg.stream()
    _answers(stream, sequence[:5])
    restored = reg.stream().set_state(stream.get_state())
    _assert_same(_answers(restored, sequence[5:]), _answers(stream, sequence[5:]))
    # the same layout and features, but a GRU state of another size
    other = GRURegressor(num_layers=2, **PLAIN, **{**SMALL, "hidden_size": 5})
    foreign = other.fit(X, y).stream()
    foreign.update(sequence[0])
    with pytest.raises(ValueError, match=r"GRU state has shape \(2, \d+, 5\)"):
        reg.stream().set_state(foreign.get_state())


@pytest.mark.parametrize(
    "state, match",
    [
        ("abc", "got str"),
        (None, "got NoneType"),
        ({"n_rows": 3}, "keys \\['n_rows'\\]"),
    ],
)
def test_a_state_that_is_not_get_states_dict_is_refused(state, match):
    X = _series()
    stream = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0]).stream()
    with pytest.raises(TypeError, match=f"state must be the dict.*{match}"):
        stream.set_state(state)


def test_rows_are_checked_like_predict_checks_X():
    X = pd.DataFrame(_series(), columns=["temp", "load"])
    reg = GRURegressor(window_size=10, **SMALL).fit(X, X["temp"])
    stream = reg.stream()
    assert np.isclose(stream.update(X.iloc[0]), reg.predict(X.iloc[:20])[0])
    with pytest.raises(ValueError, match="expecting 2 features"):
        stream.update([1.0])
    with pytest.raises(ValueError, match="NaN"):
        stream.update([np.nan, 1.0])
    with pytest.raises(ValueError, match="float32"):
        stream.update([1e300, 1.0])
    with pytest.raises(TypeError, match="numbers"):
        stream.update(["a", "b"])
    with pytest.raises(ValueError, match="feature names"):
        stream.update(pd.Series([1.0, 2.0], index=["load", "temp"]))
    with pytest.raises(TypeError, match=r"mapping.*columns \(temp, load\)"):
        stream.update({"load": 1.0, "temp": 2.0})
    assert stream.n_rows_ == 1  # a refused row changes nothing
    row = np.array([0.5, 10.0])
    stream.update(row)
    np.testing.assert_array_equal(row, [0.5, 10.0])  # not modified


def test_univariate_stream_takes_numbers():
    X = _series()[:, :1]
    reg = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0])
    got = _answers(reg.stream(), X[:20, 0])  # plain floats, not rows
    _assert_same(got, reg.predict(X[:20]))


def test_stream_needs_a_fitted_estimator_and_a_method_it_has():
    with pytest.raises(NotFittedError):
        GRURegressor(window_size=5).stream()
    X = _series()
    reg = GRURegressor(window_size=10, **SMALL).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="predict_proba"):
        reg.stream("predict_proba")
