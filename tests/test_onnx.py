"""ONNX export (skgru/export/_onnx.py): onnxruntime on the exported graph
gives what skgru gives."""

import sys

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from tolerance import ONNX_RTOL, assert_float32_close

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor
from skgru.export import quantize, to_onnx

ort = pytest.importorskip(
    "onnxruntime",
    reason="onnxruntime is not installed (pip install 'skgru[onnx]'); "
    "make test installs it, so CI runs these tests",
)

SMALL = dict(hidden_size=8, max_iter=3, random_state=0)
N_TRAIN = 1000


def _series(n=2100):
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return np.c_[np.sin(t / 9) + 0.1 * rng.normal(size=n), np.cos(t / 5) * 3 + 10]


SERIES_CASES = [
    pytest.param(
        GRURegressor(window_size=12, target_channel=0, **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-revin",
    ),
    pytest.param(
        GRURegressor(window_size=12, num_layers=2, bidirectional=True, **SMALL),
        lambda X: X * 2,
        id="reg-2layers-bidirectional-multioutput",
    ),
    pytest.param(
        GRURegressor(window_size=12, target_channel=0, loss="quantile", **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-quantiles-revin",
    ),
    pytest.param(
        GRURegressor(window_size=12, loss="quantile", quantiles=(0.1, 0.9), **SMALL),
        lambda X: X * 2,
        id="reg-quantiles-multioutput",
    ),
    pytest.param(
        GRURegressor(window_size=12, target_channel=0, ensemble_size=3, **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-ensemble",
    ),
    pytest.param(
        GRURegressor(window_size=12, target_channel=0, autoregressive=False, **SMALL),
        lambda X: X[:, 0] * 50 + 100,
        id="reg-revin-without-autoregressive",
    ),
    pytest.param(
        GRUClassifier(window_size=12, **SMALL),
        lambda X: np.where(
            X[:, 0] > 0.5, "high", np.where(X[:, 0] < -0.5, "low", "mid")
        ),
        id="clf-strings",
    ),
    pytest.param(
        GRUClassifier(window_size=12, **SMALL),
        lambda X: (X[:, 1] > 10).astype(int) * 7,
        id="clf-ints",
    ),
    pytest.param(
        GRUAnomalyDetector(window_size=12, **SMALL), lambda X: None, id="det-forecast"
    ),
    pytest.param(
        GRUAnomalyDetector(window_size=12, method="reconstruction", **SMALL),
        lambda X: None,
        id="det-reconstruction",
    ),
]


def _session(est):
    return ort.InferenceSession(
        to_onnx(est).SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _check(session, est, X, rows, windows):
    names = [out.name for out in session.get_outputs()]
    for name, got in zip(names, session.run(names, {"X": windows}), strict=True):
        expected = getattr(est, name)(X)[rows]
        assert got.shape == expected.shape, name
        if expected.dtype.kind == "f":
            assert_float32_close(got, expected, rtol=ONNX_RTOL)
        else:
            np.testing.assert_array_equal(got, expected)
    return names


@pytest.mark.parametrize("est, y_of", SERIES_CASES)
@pytest.mark.parametrize("batch", [1, 1000])
def test_series_graph_matches_skgru_on_held_back_rows(est, y_of, batch):
    X = _series()
    y = y_of(X)
    est.fit(X[:N_TRAIN], None if y is None else y[:N_TRAIN])
    session = _session(est)
    steps = session.get_inputs()[0].shape[1]
    if isinstance(est, GRUAnomalyDetector):
        # the windows of the `smoothing` rows whose errors a score averages:
        # for the forecasting detector, the window_size rows before each
        assert steps == (
            est.window_size + (est.method == "forecast") + est.smoothing - 1
        )
    else:
        assert steps == est.window_size
    # the window of each held-back row: the rows up to it (and, for the
    # forecasting detector, the row it judges as the last)
    first = N_TRAIN
    windows = sliding_window_view(X[first - steps + 1 :], steps, axis=0)
    windows = windows.transpose(0, 2, 1)[:batch].astype(np.float32)
    rows = slice(first, first + batch)
    names = _check(session, est, X, rows, windows)
    expected = {
        GRURegressor: ["predict"],
        GRUClassifier: ["predict", "predict_proba"],
        GRUAnomalyDetector: ["score_samples", "decision_function", "predict"],
    }[type(est)]
    if getattr(est, "loss", None) == "quantile":
        expected = ["predict", "predict_quantiles"]
    assert sorted(names) == sorted(expected)


@pytest.mark.parametrize("batch", [1, 1000])
def test_sequence_graphs_take_sequences_of_any_length(batch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 9, 3))
    reg = GRURegressor(num_layers=2, **SMALL).fit(X, X[:, :, 0].sum(axis=1))
    clf = GRUClassifier(**SMALL).fit(X, X[:, -1, 1] > 0)
    det = GRUAnomalyDetector(**SMALL).fit(X)
    new = rng.normal(size=(batch, 14, 3)).astype(np.float32)  # longer than in fit
    for est in (reg, clf, det):
        session = _session(est)
        assert session.get_inputs()[0].shape[1] == "steps"
        _check(session, est, new, slice(None), new)


ARCHITECTURES = [
    dict(pooling="concat", bidirectional=True, num_layers=2),
    dict(pooling="max", patch_size=4, instance_norm=True, sample_stats=True),
    dict(
        pooling="mean",
        patch_size="auto",
        instance_norm="both",
        conv_filters=(4, 6),
        conv_kernel_sizes=(8, 3),
        dropout=0.5,
    ),
]


@pytest.mark.parametrize("params", ARCHITECTURES)
@pytest.mark.parametrize("cls", [GRURegressor, GRUClassifier])
def test_architecture_options_export_for_any_sequence_length(cls, params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 37, 2)) * [1, 20] + [0, 5]
    y = X[:, :, 0].sum(axis=1)
    est = cls(**params, **SMALL).fit(X, y if cls is GRURegressor else y > 0)
    session = _session(est)
    for steps in (37, 21):  # 21: a length that patches of 4 do not divide
        new = rng.normal(size=(50, steps, 2)).astype(np.float32) * [1, 20] + [0, 5]
        new = new.astype(np.float32)
        _check(session, est, new, slice(None), new)


def test_reconstruction_sequences_have_the_fitted_length():
    X = np.random.default_rng(0).normal(size=(100, 7, 2))
    det = GRUAnomalyDetector(method="reconstruction", **SMALL).fit(X)
    session = _session(det)
    assert session.get_inputs()[0].shape[1:] == [7, 2]
    _check(session, det, X[:5], slice(None), X[:5].astype(np.float32))


def test_writes_a_file_with_its_description(tmp_path):
    import onnx

    X = _series()[:300]
    reg = GRURegressor(window_size=12, **SMALL).fit(X, X[:, 0])
    path = tmp_path / "model.onnx"
    model = to_onnx(reg, path)
    loaded = onnx.load(path)
    assert loaded == model
    props = {p.key: p.value for p in loaded.metadata_props}
    assert props["estimator"] == "GRURegressor"
    assert props["steps"] == "12"
    assert loaded.producer_name == "skgru"
    assert [
        d.dim_param or d.dim_value
        for d in loaded.graph.input[0].type.tensor_type.shape.dim
    ] == ["batch", 12, 2]


def test_refuses_what_it_cannot_export():
    X = _series()[:300]
    reg = GRURegressor(window_size=12, **SMALL)
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import Ridge

    with pytest.raises(NotFittedError):
        to_onnx(reg)
    with pytest.raises(TypeError, match="skgru estimators"):
        to_onnx(Ridge().fit(X, X[:, 0]))
    reg.fit(X, X[:, 0])
    int8, _ = quantize(reg)
    with pytest.raises(TypeError, match="quantized"):
        to_onnx(int8)


def test_missing_onnx_says_how_to_install(monkeypatch):
    X = _series()[:300]
    reg = GRURegressor(window_size=12, **SMALL).fit(X, X[:, 0])
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx fails
    with pytest.raises(ImportError, match=r"pip install 'skgru\[onnx\]'"):
        to_onnx(reg)
