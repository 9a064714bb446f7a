"""The architecture options of GRUClassifier and GRURegressor
(skgru/_architecture.py): pooling, patches, the convolutional branch and
per-sample normalisation, through the estimators."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from tolerance import assert_float32_close

from skgru import GRUClassifier, GRURegressor
from skgru._layers import SAMPLE_VAR_EPS, WINDOW_VAR_EPS

SMALL = dict(hidden_size=8, max_iter=5, random_state=0)


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _sequences(n=40, steps=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, 2))
    return X, (X[:, :5, 0].mean(axis=1) > 0).astype(int)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(pooling="sum"), "pooling"),
        (dict(patch_size=0), "patch_size"),
        (dict(patch_size="long"), "patch_size"),
        (dict(conv_filters=8), "conv_filters"),
        (dict(conv_filters=(8, 0)), "conv_filters must hold positive ints"),
        (dict(conv_filters=(8, 2.5)), "conv_filters must hold positive ints"),
        (dict(conv_filters=(8, 8), conv_kernel_sizes=(3,)), "one kernel size"),
        (dict(instance_norm="yes"), "instance_norm"),
        (dict(learning_rate="invscaling"), "learning_rate"),
    ],
)
@pytest.mark.parametrize("cls", [GRUClassifier, GRURegressor])
def test_bad_architecture_parameters_are_named(cls, params, match):
    X, y = _sequences()
    with pytest.raises(ValueError, match=match):
        cls(**params).fit(X, y)


@pytest.mark.parametrize(
    "X, expected",
    [
        (np.zeros((4, 35, 1)), 1),
        (np.zeros((4, 36, 1)), 2),
        (np.zeros((4, 100, 1)), 3),
        (np.zeros((4, 1460, 1)), 12),
        ([np.zeros((n, 1)) for n in (10, 300, 130, 20)], 5),
    ],
)
def test_auto_patches_of_recordings_grow_with_the_root_of_the_longest(X, expected):
    clf = _quiet_fit(GRUClassifier(patch_size="auto", **SMALL), X, [0, 1, 0, 1])
    assert clf.module_.patch_size == expected
    # the GRU reads about 3 sqrt(T) patches of the longest recording
    longest = max(len(x) for x in X)
    steps = -(-longest // expected)
    assert 3 * np.sqrt(longest) - 3 <= steps <= max(35, 4 * np.sqrt(longest))


def test_auto_patches_in_series_layout_follow_the_window():
    X = np.random.default_rng(0).normal(size=(300, 2))
    y = X[:, 0]
    for window, expected in ((24, 1), (200, 4)):
        reg = GRURegressor(window_size=window, patch_size="auto", **SMALL)
        assert _quiet_fit(reg, X, y).module_.patch_size == expected


def test_the_convolutional_branch_trains():
    X, y = _sequences(n=60)
    clf = GRUClassifier(conv_filters=(6, 4), conv_kernel_sizes=(5, 3), **SMALL)
    torch.manual_seed(0)
    untrained = GRUClassifier(conv_filters=(6, 4), conv_kernel_sizes=(5, 3), **SMALL)
    _quiet_fit(untrained.set_params(max_iter=1), X, y)
    _quiet_fit(clf, X, y)
    conv = clf.module_.conv
    assert [c.out_channels for c in conv.convs] == [6, 4]
    assert [c.kernel_size[0] for c in conv.convs] == [5, 3]
    first = untrained.module_.conv.convs[0].weight
    assert not torch.allclose(conv.convs[0].weight, first)
    # batch norm learnt the statistics it normalises with at inference
    assert not torch.allclose(conv.norms[0].running_var, torch.ones(6))
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("cls", [GRUClassifier, GRURegressor])
def test_instance_norm_is_invariant_to_each_recordings_offset_and_scale(cls):
    X, y = _sequences()
    est = _quiet_fit(cls(instance_norm=True, sample_stats=False, **SMALL), X, y)
    rng = np.random.default_rng(1)
    offset = rng.normal(0, 50, size=(len(X), 1, 2))
    scale = rng.uniform(0.5, 3, size=(len(X), 1, 2))
    method = "predict_proba" if cls is GRUClassifier else "predict"
    expected = getattr(est, method)(X)
    # an offset or a scale cancels to float32 rounding: a whole recording's
    # variance floor, SAMPLE_VAR_EPS, is 1e-10 of the global variance. A
    # recording a thousand times quieter than the training data (variance
    # 1e-6) is scaled 5e-5 less than exactly.
    assert_float32_close(getattr(est, method)(X + offset), expected, rtol=1e-4)
    assert_float32_close(getattr(est, method)(X * scale), expected, rtol=1e-4)
    assert_float32_close(getattr(est, method)(X * 1e-3), expected, rtol=1e-3)
    with_stats = _quiet_fit(cls(instance_norm=True, sample_stats=True, **SMALL), X, y)
    moved = getattr(with_stats, method)(X + offset)
    assert not np.allclose(moved, getattr(with_stats, method)(X), rtol=1e-2)


def test_sample_stats_needs_instance_norm_to_do_anything():
    X, y = _sequences()
    plain = _quiet_fit(GRUClassifier(instance_norm=False, **SMALL), X, y)
    stats = _quiet_fit(
        GRUClassifier(instance_norm=False, sample_stats=True, **SMALL), X, y
    )
    np.testing.assert_array_equal(stats.predict_proba(X), plain.predict_proba(X))


def test_instance_norm_auto_reads_both_in_sequence_layout_only():
    X, y = _sequences()
    module = _quiet_fit(GRUClassifier(**SMALL), X, y).module_
    assert module.keep_standardised and module.norm_mask.all()
    assert module.gru.input_size == 2 * 2 and module.stats_features
    series = np.random.default_rng(0).normal(size=(100, 2))
    reg = GRURegressor(window_size=10, **SMALL)
    module = _quiet_fit(reg, series, series[:, 0]).module_
    assert not module.revin and module.gru.input_size == 2


def test_regressor_instance_norm_keeps_target_channel_mapping():
    X, _ = _sequences()
    y = X[:, -1, 0] * 10 + 100
    reg = GRURegressor(instance_norm=True, target_channel=0, **SMALL)
    module = _quiet_fit(reg, X, y).module_
    assert module.norm_mask.tolist() == [True, True]
    assert module.output_channels.tolist() == [0]


@pytest.mark.parametrize(
    "params",
    [
        dict(pooling="concat", patch_size=4),
        dict(conv_filters=(4,), conv_kernel_sizes=(3,), instance_norm=True),
    ],
)
def test_options_work_with_ragged_sequences_and_partial_fit(params):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in rng.integers(5, 40, size=30)]
    y = rng.integers(0, 2, size=30)
    clf = GRUClassifier(**params, **SMALL)
    clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert clf.predict_proba(X).shape == (30, 2)
    assert clf.n_iter_ == 2


def test_recordings_are_normalised_down_to_a_lower_floor_than_windows():
    """Sequence layout z-normalises each recording whatever its amplitude;
    series layout keeps the window floor, so a flat stretch stays flat."""
    X, y = _sequences()
    seq = _quiet_fit(GRUClassifier(**SMALL), X, y)
    series = _quiet_fit(
        GRURegressor(window_size=5, target_channel=0, **SMALL), X[0], y[:30]
    )
    assert seq.module_.norm_eps == SAMPLE_VAR_EPS
    assert series.module_.norm_eps == WINDOW_VAR_EPS
