"""The inference loop: batch sizes per thread count, same outputs in any batch."""

import numpy as np
import pytest

from skgru import GRURegressor, _inference


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(1500, 2)).astype(np.float32)
    est = GRURegressor(window_size=8, hidden_size=8, max_iter=1, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning after one epoch
        est.fit(X, X[:, 0])
    return est, X


def _batch_rows(est, X) -> tuple[list[int], np.ndarray]:
    """The rows of each batch ``predict`` runs, and its predictions."""
    rows = []
    forward = type(est.module_).forward

    def spy(module, x, *args, **kwargs):
        rows.append(len(x))
        return forward(module, x, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(est.module_), "forward", spy)
        out = est.predict(X)
    return rows, out


@pytest.mark.parametrize("n_threads", [1, 2])
def test_one_thread_runs_smaller_batches_with_the_same_outputs(
    fitted, monkeypatch, n_threads
):
    est, X = fitted
    est.set_params(n_threads=n_threads)
    rows, out = _batch_rows(est, X)
    if n_threads == 1:
        # 1500 windows of 8 would be one batch of INFERENCE_STEPS / 8 rows
        assert max(rows) == _inference.INFERENCE_ROWS_ONE_THREAD
        assert sum(rows) >= len(X) and len(rows) == 6
    else:
        assert rows == [1500]
    # whatever the batches, every row's output is the same
    monkeypatch.setattr(_inference, "INFERENCE_ROWS_ONE_THREAD", 10**9)
    est.set_params(n_threads=1)
    _, one_batch = _batch_rows(est, X)
    np.testing.assert_array_equal(out, one_batch)
