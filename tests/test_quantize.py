"""int8 quantization: smaller, close to the float model, and safe to use."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor, save
from skgru.datasets import load_airline
from skgru.export import QuantizationReport, quantize

# The documented accuracy (docs/user_guide.rst, "Edge deployment"): on the
# airline test period the int8 forecasts stay within 2% of the float ones and
# the MAE moves by less than 1 (thousand passengers).
AIRLINE_MAX_RELATIVE_CHANGE = 0.02
AIRLINE_MAX_MAE_CHANGE = 1.0


@pytest.fixture(scope="module")
def airline():
    passengers = load_airline()
    X = passengers.to_frame().iloc[:-1]
    y = passengers.shift(-1).iloc[:-1]
    train = np.asarray(y.index < "1958-12-01")
    reg = GRURegressor(
        window_size=12, target_channel="passengers", max_iter=300, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X[train], y[train])
    return reg, X, y, ~train


def test_airline_int8_is_smaller_and_close_to_the_float_model(airline, tmp_path):
    reg, X, y, test = airline
    before = reg.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation notice reaches the user
        int8, report = quantize(reg, X, y)
        after = int8.predict(X)
    assert isinstance(int8, GRURegressor)
    # on disk: the network's state, and the whole pickled estimator
    assert report.size_ratio >= 2
    assert report.float_bytes == pytest.approx(report.int8_bytes * report.size_ratio)
    for name, est in (("float", reg), ("int8", int8)):
        with open(tmp_path / name, "wb") as file:
            pickle.dump(est, file)
    assert (tmp_path / "float").stat().st_size >= 2 * (tmp_path / "int8").stat().st_size
    # accuracy on the test period
    f, q = before[test], after[test]
    assert np.abs(q - f).max() <= AIRLINE_MAX_RELATIVE_CHANGE * np.abs(f).min()
    change = mean_absolute_error(y[test], q) - mean_absolute_error(y[test], f)
    assert abs(change) < AIRLINE_MAX_MAE_CHANGE
    assert np.abs(q - f).max() > 0  # the weights really changed
    # the report measured the same things
    assert report.max_abs_change == pytest.approx(np.abs(after - before).max())
    assert report.speedup == pytest.approx(report.float_seconds / report.int8_seconds)
    assert report.int8_score == pytest.approx(int8.score(X, y))
    assert "smaller" in str(report) and "speed-up" in str(report)
    # the original is untouched and still trains
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.net_.optimizer_ is not None


def test_the_int8_networks_hold_int8_weights(airline):
    reg, *_ = airline
    int8, report = quantize(reg)
    # the airline model (target_channel, series layout) has the
    # autoregressive term: quantized too, within the airline test's 2% bound
    for layer in (int8.module_.gru, int8.module_.head, int8.module_.ar):
        assert type(layer).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert int8.module_.gru._all_weight_values[0].param.__getstate__()
    assert report.speedup is None and report.max_abs_change is None


@pytest.mark.parametrize("make", [GRUClassifier, GRUAnomalyDetector])
def test_classifier_and_detector_quantize_too(make):
    rng = np.random.default_rng(0)
    X = np.c_[np.sin(np.arange(400) / 7), rng.normal(size=400)]
    y = X[:, 0] > 0
    est = make(window_size=8, hidden_size=32, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    int8, report = quantize(est, X, y)
    method = "predict_proba" if make is GRUClassifier else "score_samples"
    change = np.abs(getattr(int8, method)(X) - getattr(est, method)(X))
    assert report.max_abs_change == pytest.approx(change.max())
    assert (int8.predict(X) == est.predict(X)).mean() > 0.95
    assert (report.float_score is not None) == (make is GRUClassifier)


def test_architecture_options_quantize_with_the_convolutions_in_float():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 40, 2))
    y = X[:, :, 0].mean(axis=1) > 0
    clf = GRUClassifier(
        conv_filters=(8,),
        conv_kernel_sizes=(5,),
        hidden_size=32,
        max_iter=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    int8, report = quantize(clf, X, y)
    assert type(int8.module_.gru).__module__.startswith("torch.ao.nn.quantized")
    assert isinstance(int8.module_.conv.convs[0], torch.nn.Conv1d)
    assert (int8.predict(X) == clf.predict(X)).mean() > 0.95
    assert report.mean_abs_change < 0.02  # of a probability
    assert abs(report.int8_score - report.float_score) < 0.05


def test_the_int8_copy_pickles_and_streams_without_warnings(airline):
    reg, X, *_ = airline
    int8, _ = quantize(reg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = pickle.loads(pickle.dumps(int8))
        np.testing.assert_array_equal(copy.predict(X), int8.predict(X))
        stream = int8.stream()
        got = [stream.update(row) for row in X.to_numpy()[:30]]
    # activations are quantized per batch (one scale for the batch), so a
    # row streamed alone is not bit-equal to the same row in predict's batch
    expected = reg.predict(X.iloc[:30])
    np.testing.assert_allclose(got, expected, rtol=AIRLINE_MAX_RELATIVE_CHANGE)


def test_the_int8_copy_cannot_train_or_be_saved(airline, tmp_path):
    reg, X, y, _ = airline
    int8, _ = quantize(reg)
    with pytest.raises(TypeError, match="quantized"):
        int8.partial_fit(X, y)
    with pytest.raises(TypeError, match="quantized"):
        int8.set_params(warm_start=True).fit(X, y)
    with pytest.raises(TypeError, match="pickle"):
        save(int8, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="already quantized"):
        quantize(int8)
    # its parameters describe a float model that clone() can train afresh
    fresh = clone(int8).set_params(max_iter=2, warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not hasattr(fresh.fit(X, y), "_quantized")


def test_targets_without_their_data_are_refused(airline):
    reg, _, y, _ = airline
    with pytest.raises(ValueError, match="quantize got y but no X"):
        quantize(reg, y=y)


def test_report_is_a_plain_record():
    report = QuantizationReport(float_bytes=300, int8_bytes=100, size_ratio=3.0)
    assert str(report).startswith("network size     300 -> 100 bytes (3.00x")
