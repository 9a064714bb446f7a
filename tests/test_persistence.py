"""Saving and loading: pickle, joblib and the safe format (skgru/_persistence.py)."""

import io
import json
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from estimator_cases import SMALL, cases, sequence_data, series_data
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.base import clone
from skorch.exceptions import DeviceWarning
from tolerance import STREAM_RTOL, assert_float32_close

import skgru
from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor, load, save
from skgru._architecture import PREVIOUS_VALUES
from skgru._layers import SAMPLE_VAR_EPS, WINDOW_VAR_EPS
from skgru.exceptions import InconsistentVersionWarning

REGRESSOR_PARAMS = GRURegressor().get_params()

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def pickle_round_trip(est, path):
    return pickle.loads(pickle.dumps(est))


def joblib_round_trip(est, path):
    joblib.dump(est, path / "model.joblib")
    return joblib.load(path / "model.joblib")


def safe_round_trip(est, path):
    save(est, path / "model.safetensors")
    return load(path / "model.safetensors")


ROUND_TRIPS = [pickle_round_trip, joblib_round_trip, safe_round_trip]


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
@pytest.mark.parametrize("est, X, y, method", cases())
def test_round_trip_reproduces_predictions_exactly(
    est, X, y, method, round_trip, tmp_path
):
    fitted = clone(est).fit(X, y)
    restored = round_trip(fitted, tmp_path)
    assert type(restored) is type(fitted)
    np.testing.assert_array_equal(
        getattr(restored, method)(X), getattr(fitted, method)(X)
    )
    if method != "predict":  # the labels (classifier) or flags (detector) too
        np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    assert restored.get_params() == fitted.get_params()
    assert restored.module_ is restored.net_.module_
    assert restored.loss_curve_ == fitted.loss_curve_


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
@pytest.mark.parametrize("window_size", [None, 5])
def test_round_trip_with_early_stopping(round_trip, window_size, tmp_path):
    X, y = series_data() if window_size else sequence_data()
    clf = GRUClassifier(early_stopping=True, window_size=window_size, **SMALL)
    clf.fit(X, y)
    restored = round_trip(clf, tmp_path)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.validation_loss_curve_ == clf.validation_loss_curve_


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
def test_a_loaded_model_continues_training_like_the_original(round_trip, tmp_path):
    X, y = sequence_data()
    reg = GRURegressor(warm_start=True, **SMALL).fit(X, y)
    restored = round_trip(reg, tmp_path)
    reg.fit(X, y)
    restored.fit(X, y)  # the optimizer state and shuffling seed came along
    assert restored.n_iter_ == reg.n_iter_ == 10
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
def test_a_convolutional_branch_round_trips_and_continues(round_trip, tmp_path):
    """Batch norm's running statistics are buffers the safe format carries."""
    X, y = sequence_data()
    params = dict(conv_filters=(4, 6), conv_kernel_sizes=(3, 3), patch_size=2)
    clf = GRUClassifier(warm_start=True, **params, **SMALL).fit(X, y)
    restored = round_trip(clf, tmp_path)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    clf.fit(X, y)
    restored.fit(X, y)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    norm = restored.module_.conv.norms[0]
    assert int(norm.num_batches_tracked) == int(
        clf.module_.conv.norms[0].num_batches_tracked
    )


def test_safe_format_keeps_labels_parameters_and_names(tmp_path):
    X, y = series_data()
    labels = np.array(["calm", "storm"], dtype=object)[y]
    rng = np.random.RandomState(7)
    clf = GRUClassifier(
        window_size=4, class_weight={"calm": 1.0, "storm": 3.0}, random_state=rng
    )
    clf.set_params(hidden_size=4, max_iter=2).fit(X, labels)
    restored = safe_round_trip(clf, tmp_path)
    assert restored.classes_.tolist() == ["calm", "storm"]
    assert restored.classes_.dtype == clf.classes_.dtype
    assert restored.class_weight == {"calm": 1.0, "storm": 3.0}
    assert restored.feature_names_in_.tolist() == ["a", "b"]
    assert restored.random_state.get_state()[1].tolist() == (
        rng.get_state()[1].tolist()
    )
    assert restored.predict(X).tolist() == clf.predict(X).tolist()


def test_numpy_parameters_save_as_the_python_values_they_equal(tmp_path):
    # what a grid over numpy arrays gives GridSearchCV's best_estimator_
    X, y = sequence_data()
    reg = GRURegressor(
        bidirectional=np.True_, early_stopping=np.True_, hidden_size=np.int64(4)
    )
    reg.set_params(max_iter=np.int64(2), dropout=np.float64(0.2)).fit(X, y)
    restored = safe_round_trip(reg, tmp_path)
    assert restored.get_params() == reg.get_params()
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    # the parameters its network was built from are kept with it
    restored.set_params(warm_start=True, hidden_size=5)
    with pytest.raises(ValueError, match="built with hidden_size=4"):
        restored.fit(X, y)


def test_save_refuses_what_it_cannot_write_safely(tmp_path):
    X, y = sequence_data()
    with pytest.raises(TypeError, match="writes skgru's estimators"):
        save(object(), tmp_path / "m.safetensors")
    reg = GRURegressor(**SMALL)
    with pytest.raises(Exception, match="not fitted"):
        save(reg, tmp_path / "m.safetensors")
    reg.fit(X, y)
    reg.set_params(random_state=object())
    with pytest.raises(TypeError, match="parameter random_state is a object"):
        save(reg, tmp_path / "m.safetensors")


def test_paths_that_cannot_hold_a_model_say_why(tmp_path):
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    with pytest.raises(IsADirectoryError, match="is a directory: pass the file"):
        save(reg, tmp_path)
    missing = tmp_path / "no such directory" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match="directory that does not exist"):
        save(reg, missing)
    assert not missing.parent.exists()
    with pytest.raises(IsADirectoryError, match="is a directory: pass the model"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(missing)


# ------------------------------------------------------------------ loading
@pytest.fixture
def saved(tmp_path):
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    path = tmp_path / "model.safetensors"
    save(reg, path)
    return path, reg, X


def read_file(path):
    with safe_open(path, framework="pt") as f:
        header = json.loads(f.metadata()["skgru"])
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    return header, tensors


def rewrite(path, header, tensors):
    save_file(tensors, path, metadata={"skgru": json.dumps(header)})


def test_a_file_from_before_the_architecture_parameters_loads_as_the_plain_gru(
    tmp_path,
):
    X, y = sequence_data()
    plain = dict(
        pooling="last",
        patch_size=1,
        instance_norm=False,
        sample_stats=False,
        learning_rate="constant",
    )
    reg = GRURegressor(**plain, **SMALL).fit(X, y)
    path = tmp_path / "model.safetensors"
    save(reg, path)
    header, tensors = read_file(path)
    for name in (*plain, "conv_filters", "conv_kernel_sizes"):
        del header["params"][name]  # as the previous version wrote its files
    rewrite(path, header, tensors)
    loaded = load(path)
    assert loaded.get_params() == reg.get_params()
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_a_model_from_before_the_sample_floor_keeps_the_window_floor(tmp_path):
    """Files and pickles written before ``norm_eps`` existed normalised
    recordings with the window's variance floor, and still do."""
    X, y = sequence_data()
    clf = GRUClassifier(**SMALL).fit(X, (y > np.median(y)).astype(int))
    assert clf.module_.norm_eps == SAMPLE_VAR_EPS
    path = str(tmp_path / "model.skgru")
    save(clf, path)
    header, tensors = read_file(path)
    pairs = header["attributes"]["_network_kwargs"]["__dict__"]
    header["attributes"]["_network_kwargs"]["__dict__"] = [
        pair for pair in pairs if pair[0] != "norm_eps"
    ]
    rewrite(path, header, tensors)
    assert load(path).module_.norm_eps == WINDOW_VAR_EPS
    del clf.module_.__dict__["norm_eps"]  # as the previous version pickled it
    assert pickle.loads(pickle.dumps(clf)).module_.norm_eps == WINDOW_VAR_EPS


def test_a_pickle_from_before_the_architecture_parameters_loads_as_the_plain_gru():
    X, y = sequence_data()
    previous = {k: v for k, v in PREVIOUS_VALUES.items() if k in REGRESSOR_PARAMS}
    reg = GRURegressor(dropout=0.0, **previous, **SMALL).fit(X, y)
    expected = reg.predict(X)
    for name in previous:  # what the previous version pickled
        delattr(reg, name)
    for name in ("pooling", "patch_size", "stats_features", "keep_standardised"):
        del reg.module_.__dict__[name]
    for name in ("conv", "feature_dropout"):  # None, so not in _modules
        del reg.module_.__dict__[name]
    loaded = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert loaded.get_params() == {
        **GRURegressor(dropout=0.0, **SMALL).get_params(),
        **previous,
    }
    stream = loaded.stream()  # the plain GRU streams in sequence layout
    got = [stream.update(row) for row in X[0]]
    assert got[-1] == pytest.approx(expected[0], rel=1e-5)


def test_a_detector_pickled_before_held_out_calibration_scores_as_it_did():
    t = np.arange(300)
    X = np.c_[np.sin(t / 5.0), np.cos(t / 7.0)]
    det = GRUAnomalyDetector(window_size=10, **SMALL).fit(X)
    for name in ("smoothing", "calibration_fraction", "_scoring"):
        delattr(det, name)  # what the previous version pickled
    for name in ("_channel_scale", "_warmup"):
        delattr(det, name)
    loaded = pickle.loads(pickle.dumps(det))
    assert loaded.smoothing == 1
    # its score: minus the mean squared error over channels, in training
    # units, of the forecast of each row from the 10 rows before it
    mean, std = loaded._input_stats
    padded = np.r_[np.repeat(X[:1], 10, axis=0), X]
    windows = np.lib.stride_tricks.sliding_window_view(padded, 10, axis=0)
    windows = torch.tensor(windows.transpose(0, 2, 1)[:-1], dtype=torch.float32)
    with torch.inference_mode():
        forecast = loaded.module_(windows).numpy()
    errors = (((X - mean) / std - forecast) ** 2).mean(axis=1)
    assert_float32_close(
        loaded.score_samples(X), -errors / loaded._error_scale, rtol=1e-4
    )
    stream = loaded.stream()
    assert_float32_close(
        [stream.update(row) for row in X], loaded.score_samples(X), rtol=STREAM_RTOL
    )


def test_a_detector_from_before_novelty_keeps_the_training_share_meaning(tmp_path):
    t = np.arange(300)
    X = np.c_[np.sin(t / 5.0), np.cos(t / 7.0)]
    det = GRUAnomalyDetector(
        window_size=10, contamination=0.05, novelty=False, **SMALL
    ).fit(X)
    path = tmp_path / "model.safetensors"
    save(det, path)
    header, tensors = read_file(path)
    del header["params"]["novelty"]  # as the previous version wrote its files
    rewrite(path, header, tensors)
    delattr(det, "novelty")  # and pickled them
    for loaded in (load(path), pickle.loads(pickle.dumps(det))):
        assert loaded.novelty is False
        assert loaded.offset_ == det.offset_
        # refitted, a float contamination still flags that share of X's rows
        assert (loaded.fit_predict(X) == -1).sum() == 15


class Exploit:
    """A pickle payload: unpickling it would create a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_in_place_of_a_model_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load(path)
    assert not marker.exists()
    # the control: unpickling the same bytes would have run the payload
    pickle.loads(path.read_bytes()).close()
    assert marker.exists()


def test_pickle_opcodes_injected_into_a_model_file_are_refused(saved, tmp_path):
    path, _, _ = saved
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Exploit(marker))
    data = path.read_bytes()
    for tampered in (payload + data, data[:8] + payload + data[8:]):
        path.write_bytes(tampered)
        with pytest.raises(ValueError, match="not a valid safetensors file"):
            load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda h, t: h.update(estimator="os.system"), "not one of skgru's"),
        (lambda h, t: h.update(estimator="SlidingWindowTransformer"), "not one of"),
        (
            lambda h, t: h["params"].update(hidden_size={"__reduce__": ["os.system"]}),
            "unknown type tag '__reduce__'",
        ),
        (
            lambda h, t: h["attributes"].update(
                _y_mean={"py/object": "subprocess.Popen"}
            ),
            "unknown type tag 'py/object'",
        ),
        (lambda h, t: h["attributes"].update(__class__="str"), "unexpected fitted"),
        (lambda h, t: h["params"].update(hidden_size=-3), "'hidden_size' parameter"),
        (lambda h, t: h["params"].pop("tol"), "parameters do not match"),
        (lambda h, t: h.update(format_version=99), "format version 99"),
        (lambda h, t: t.pop("module.head.bias"), "Missing key"),
        (
            lambda h, t: t.update({"module.evil": torch.zeros(1)}),
            "Unexpected key",
        ),
        (
            lambda h, t: t.update({"module.head.bias": torch.zeros(3)}),
            "size mismatch",
        ),
        (lambda h, t: t.update({"optimizer.99.exp_avg": torch.zeros(1)}), "unknown"),
        (
            lambda h, t: h["attributes"].update(
                feature_names_in_={
                    "__ndarray__": {"dtype": "|V8", "shape": [1], "data": [0]}
                }
            ),
            "dtype .* not allowed",
        ),
    ],
)
def test_tampered_model_files_are_refused(saved, tamper, message):
    path, _, _ = saved
    header, tensors = read_file(path)
    tamper(header, tensors)
    rewrite(path, header, tensors)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_other_safetensors_files_are_refused(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not one written by skgru.save"):
        load(path)


def test_loading_never_unpickles(saved, monkeypatch):
    path, reg, X = saved

    def forbidden(*args, **kwargs):
        raise AssertionError("load() must not unpickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    np.testing.assert_array_equal(load(path).predict(X), reg.predict(X))


@pytest.mark.parametrize("package", ["skgru", "torch", "scikit-learn"])
def test_a_version_mismatch_warns(saved, package):
    path, reg, X = saved
    header, tensors = read_file(path)
    header["versions"][package] = "0.0.1"
    rewrite(path, header, tensors)
    with pytest.warns(InconsistentVersionWarning, match=f"{package} 0.0.1 \\(now "):
        restored = load(path)
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


def test_matching_versions_load_silently(saved):
    path, _, _ = saved
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)


def test_versions_are_recorded(saved):
    header, _ = read_file(saved[0])
    assert header["versions"]["skgru"] == skgru.__version__
    assert header["versions"]["torch"] == torch.__version__


# ----------------------------------------------------------- CUDA to CPU
def cuda_tagged_pickle(est):
    """Pickle ``est`` as if fitted on a GPU: its tensors are recorded at
    ``cuda:0`` (what ``torch.save`` writes for CUDA storages) and its device
    is ``"cuda"``; loading needs the mapping to the CPU."""
    est.set_params(device="cuda")
    est.net_.device = "cuda"
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        return pickle.dumps(est)
    finally:
        torch.serialization.location_tag = original


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only mapping")
@pytest.mark.filterwarnings("ignore:Setting self.device = cpu:UserWarning")
@pytest.mark.parametrize("est, X, y, method", cases())
def test_a_cuda_fitted_pickle_loads_on_a_cpu_only_machine(est, X, y, method):
    fitted = clone(est).fit(X, y)
    expected = getattr(fitted, method)(X)
    data = cuda_tagged_pickle(fitted)
    # the control: these tensors cannot be loaded here without a mapping
    buffer = io.BytesIO()
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(torch.zeros(1), buffer)
    finally:
        torch.serialization.location_tag = original
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(io.BytesIO(buffer.getvalue()))

    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        restored = pickle.loads(data)
    assert torch.device(restored.net_.device).type == "cpu"
    assert next(restored.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(getattr(restored, method)(X), expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only mapping")
def test_a_cuda_fitted_safe_file_loads_on_the_cpu(tmp_path):
    X, y = sequence_data()
    reg = GRURegressor(**SMALL).fit(X, y)
    reg.set_params(device="cuda")
    save(reg, tmp_path / "m.safetensors")
    with pytest.warns(UserWarning, match="CUDA is not available here"):
        restored = load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    with pytest.raises(ValueError, match="CUDA is not available .* device='cpu'"):
        restored.fit(X, y)
    restored.set_params(device="cpu").fit(X, y)
