import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from skgru import GRUAnomalyDetector, GRURegressor
from skgru._windows import (
    INFERENCE_ROW_MULTIPLE,
    BatchIterator,
    GroupIndex,
    WindowDataset,
    complete_windows,
    edge_pad,
    inference_batches,
    pad_ragged,
    sliding_windows,
    to_tensor,
)


def test_edge_pad_repeats_first_row():
    series = np.arange(6.0).reshape(3, 2)
    padded = edge_pad(series, 2)
    assert padded.shape == (5, 2)
    np.testing.assert_array_equal(padded[:3], np.repeat(series[:1], 3, axis=0))
    np.testing.assert_array_equal(padded[2:], series)


def test_sliding_windows_is_a_view_ending_at_each_row():
    series = np.arange(10.0).reshape(5, 2)
    padded = edge_pad(series, 2)
    windows = sliding_windows(padded, 3)
    assert windows.shape == (5, 3, 2)
    assert np.shares_memory(windows, padded)
    assert not windows.flags.writeable
    for t in range(5):
        expected = [series[max(t - k, 0)] for k in (2, 1, 0)]
        np.testing.assert_array_equal(windows[t], expected)


def test_series_dataset_gathers_the_window_of_each_row():
    series = np.arange(20.0, dtype=np.float32).reshape(10, 2)
    w = 4
    x = to_tensor(series)
    y = torch.arange(10.0)
    data = WindowDataset(x, y, window=w, pad=w - 1)
    assert len(data) == 10
    xb, yb = data.batch(torch.tensor([0, 5, 9]))
    assert xb.shape == (3, w, 2)
    np.testing.assert_array_equal(xb[1].numpy(), series[2:6])
    np.testing.assert_array_equal(xb[0].numpy(), np.repeat(series[:1], w, axis=0))
    np.testing.assert_array_equal(yb.numpy(), [0, 5, 9])


def test_series_dataset_shares_the_callers_float32_series():
    series = np.zeros((1000, 3), dtype=np.float32)
    data = WindowDataset(to_tensor(series), None, window=50, pad=49)
    # no padded copy, no window copy: the series itself is the storage
    assert np.shares_memory(data.x.numpy(), series)
    assert len(data) == 1000 and data.index is None


def test_forecast_padding_ends_each_window_one_row_earlier():
    series = np.arange(6.0, dtype=np.float32)[:, None]
    data = WindowDataset(to_tensor(series), None, window=3, pad=3)
    xb = data.inputs(torch.tensor([0, 1, 4]))[:, :, 0].numpy()
    np.testing.assert_array_equal(xb, [[0, 0, 0], [0, 0, 0], [1, 2, 3]])


def test_complete_windows_leave_out_each_series_padded_rows():
    np.testing.assert_array_equal(complete_windows(6, 2, None), [2, 3, 4, 5])
    np.testing.assert_array_equal(complete_windows(2, 2, None), [0, 1])
    # series 7 (rows 0, 2, 4, 6, 7), 3 (rows 1, 3) and 5 (row 5), interleaved
    groups = GroupIndex(np.array([7, 3, 7, 3, 7, 5, 7, 7]))
    np.testing.assert_array_equal(complete_windows(8, 2, groups), [1, 3, 4, 5, 6, 7])


def test_subset_keeps_the_source_and_selects_samples():
    x = torch.arange(12.0).reshape(6, 2)
    data = WindowDataset(x, torch.arange(6.0), window=2, pad=1)
    part = data.subset([3, 4])
    assert part.x is data.x
    _, yb = part.batch(torch.arange(2))
    np.testing.assert_array_equal(yb.numpy(), [3, 4])


def test_window_targets_are_flattened_windows():
    x = torch.arange(10.0).reshape(5, 2)
    data = WindowDataset(x, x, window=2, pad=1, y_window=True)
    _, yb = data.batch(torch.tensor([2]))
    np.testing.assert_array_equal(yb.numpy(), [[2, 3, 4, 5]])


def test_ragged_padding_and_lengths():
    padded, lengths = pad_ragged([np.ones((3, 2)), np.ones((5, 2))])
    assert padded.shape == (2, 5, 2)
    np.testing.assert_array_equal(lengths, [3, 5])
    assert padded[0, 3:].sum() == 0
    data = WindowDataset(torch.from_numpy(padded), lengths=torch.from_numpy(lengths))
    xb, _ = data.batch(torch.tensor([1]))
    assert set(xb) == {"x", "lengths"}


def test_series_windows_match_the_padded_view():
    """Clamped row indices give exactly the windows of an edge-padded copy."""
    series = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    data = WindowDataset(to_tensor(series), None, window=5, pad=4)
    expected = sliding_windows(edge_pad(series, 4), 5)
    np.testing.assert_array_equal(data.inputs(torch.arange(20)).numpy(), expected)


def test_batch_iterator_covers_every_sample_once_and_is_seeded():
    data = WindowDataset(torch.zeros(10, 1), torch.arange(10.0))
    batches = list(BatchIterator(data, batch_size=4, shuffle=True, seed=3))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    again = torch.cat([b[1] for b in BatchIterator(data, 4, shuffle=True, seed=3)])
    assert torch.equal(seen, again)
    assert len(BatchIterator(data, batch_size=4)) == 3


def test_to_tensor_copies_read_only_arrays():
    array = np.ones((4, 2), dtype=np.float32)
    assert np.shares_memory(to_tensor(array).numpy(), array)
    array.flags.writeable = False
    assert not np.shares_memory(to_tensor(array).numpy(), array)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000, 1025, 2051])
def test_inference_batches_are_fixed_multiples(n):
    seen = []
    for positions, n_real in inference_batches(n, 1024):
        assert len(positions) % INFERENCE_ROW_MULTIPLE == 0
        assert len(positions) <= 1024
        seen.extend(positions[:n_real].tolist())
        assert positions.max() < n
    assert seen == list(range(n))


@pytest.mark.parametrize("hidden_size", [5, 32, 64])
@pytest.mark.parametrize("n_channels", [1, 3])
def test_row_outputs_do_not_depend_on_the_batch(hidden_size, n_channels):
    """The reason for fixed-shape inference batches: a row's float32 output is
    bit-identical whichever rows share its (padded) batch."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(n_channels, hidden_size, batch_first=True)
    X = torch.randn(300, 12, n_channels)

    def run(idx):
        outputs = []
        with torch.inference_mode():
            for positions, n_real in inference_batches(len(idx), 1024):
                _, h = gru(X[idx][positions])
                outputs.append(h[-1][:n_real])
        return torch.cat(outputs)

    full = run(np.arange(300))
    rng = np.random.default_rng(0)
    for size in [1, 2, 3, 5, 13, 150, 299]:
        idx = np.sort(rng.choice(300, size, replace=False))
        assert torch.equal(run(idx), full[idx])


# ------------------------------------------------------ property-based tests
# The "skgru" hypothesis profile (tests/conftest.py) is derandomised, so CI
# runs the same examples every time.
finite32 = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@st.composite
def series(draw, min_rows=1, max_rows=40, max_features=3):
    n = draw(st.integers(min_rows, max_rows))
    f = draw(st.integers(1, max_features))
    return draw(arrays(np.float32, (n, f), elements=finite32))


@given(x=series(), window=st.integers(1, 12), forecast=st.booleans())
def test_the_window_of_row_t_is_rows_t_minus_w_plus_1_to_t(x, window, forecast):
    # forecast (the detector's): rows t-w .. t-1, the rows before row t
    pad = window if forecast else window - 1
    data = WindowDataset(torch.from_numpy(x), window=window, pad=pad)
    windows = data.inputs(torch.arange(len(x))).numpy()
    assert windows.shape == (len(x), window, x.shape[1])
    for t in range(len(x)):
        rows = [max(0, r) for r in range(t - pad, t - pad + window)]  # edge pad
        np.testing.assert_array_equal(windows[t], x[rows])


SERIES_WINDOWS = (1, 3, 6)


@pytest.fixture(scope="module")
def series_models():
    train = np.random.default_rng(0).normal(size=(60, 2))
    params = dict(hidden_size=4, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = {
            w: GRURegressor(window_size=w, **params).fit(train, train[:, 0])
            for w in SERIES_WINDOWS
        }
        models["detector"] = GRUAnomalyDetector(window_size=3, **params).fit(train)
        models["sequence"] = GRURegressor(**params).fit(train[:20], train[:20, 0])
    return models


@given(data=st.data())
def test_series_predictions_are_one_per_row_from_that_rows_window(series_models, data):
    window = data.draw(st.sampled_from(SERIES_WINDOWS))
    x = data.draw(series(min_rows=window, max_rows=50, max_features=2))
    x = x[:, :1].repeat(2, axis=1) if x.shape[1] == 1 else x
    model = series_models[window]
    out = model.predict(x)
    assert out.shape == (len(x),)
    # row t's prediction depends only on rows t-w+1 .. t
    t = data.draw(st.integers(window - 1, len(x) - 1))
    alone = model.predict(x[t - window + 1 : t + 1])
    assert alone[-1] == out[t]


@given(x=series(min_rows=3, max_rows=50, max_features=2))
def test_detector_scores_one_per_row(series_models, x):
    x = x[:, :1].repeat(2, axis=1) if x.shape[1] == 1 else x
    model = series_models["detector"]
    assert model.score_samples(x).shape == (len(x),)
    assert model.predict(x).shape == (len(x),)


@given(n=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_sequence_predictions_are_one_per_sequence(series_models, n, seed):
    x = np.random.default_rng(seed).normal(size=(n, 2))  # 2 time steps, as fitted
    assert series_models["sequence"].predict(x).shape == (n,)


@pytest.mark.parametrize("interleave", [False, True])
@pytest.mark.parametrize("pad", [4, 5])
def test_a_window_stays_in_its_series(interleave, pad):
    lengths = (9, 3, 12)  # one series shorter than the window
    ids = np.concatenate([np.full(n, k) for k, n in enumerate(lengths)])
    rank = np.concatenate([np.arange(n) for n in lengths])
    if interleave:  # sorted by time across the series
        order = np.lexsort((ids, rank))
        ids, rank = ids[order], rank[order]
    # each row holds its series id and its place in the series
    x = torch.tensor(np.c_[ids, rank], dtype=torch.float32)
    dataset = WindowDataset(x, window=5, pad=pad, groups=GroupIndex(ids))
    windows = dataset.inputs(torch.arange(len(ids))).numpy()
    for row, window in enumerate(windows):
        assert (window[:, 0] == ids[row]).all()  # no row of another series
        # the rows before it in its own series, its first row repeated before
        expected = np.maximum(rank[row] - pad + np.arange(5), 0)
        np.testing.assert_array_equal(window[:, 1], expected)
