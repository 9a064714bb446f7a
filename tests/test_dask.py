"""Scale-out of model selection on Dask (joblib's "dask" backend).

Installed with the ``dask`` extra; `make test` installs it, so this runs in CI.
"""

import joblib
import numpy as np
import pytest
import torch
from estimator_cases import sequence_data
from sklearn.model_selection import GridSearchCV, cross_val_score

from skgru import GRURegressor

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    # the cluster's own teardown chatter, not skgru's
    "ignore::ResourceWarning",
    "ignore::DeprecationWarning:distributed",
)


@pytest.fixture(scope="module")
def client():
    # two single-threaded worker processes on this machine; a real cluster is
    # distributed.Client("tcp://scheduler:8786") instead
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_grid_search_on_dask_matches_the_local_run(client):
    X, y = sequence_data()
    search = GridSearchCV(
        GRURegressor(hidden_size=4, max_iter=3, random_state=0),
        {"hidden_size": [2, 4], "learning_rate_init": [1e-3, 1e-2]},
        cv=3,
    )
    local = search.fit(X, y)
    local_scores = local.cv_results_["mean_test_score"].copy()
    local_best = dict(local.best_params_)
    with joblib.parallel_backend("dask"):
        remote = search.fit(X, y)
    assert remote.best_params_ == local_best
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], local_scores)
    # the fits ran on the workers, not in this process
    assert sum(client.run(lambda: 1).values()) == 2


def test_dask_workers_run_one_torch_thread_each(client):
    X, y = sequence_data()
    with joblib.parallel_backend("dask"):
        threads = cross_val_score(
            GRURegressor(hidden_size=4, max_iter=2, random_state=0),
            X,
            y,
            cv=4,
            scoring=lambda est, X, y: torch.get_num_threads(),
        )
    # dask starts workers with OMP_NUM_THREADS=1 per worker thread, and skgru
    # uses the caller's count: 2 workers x 1 thread on 2 cores
    assert threads.tolist() == [1, 1, 1, 1]
