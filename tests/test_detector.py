import numpy as np
import pytest

from skgru import GRUAnomalyDetector

pytestmark = pytest.mark.usefixtures("no_convergence_warning")


def sine_series(n=400):
    return np.sin(np.arange(n) / 5.0)[:, None]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_airline_spikes_are_flagged_at_their_own_rows(airline_split, seed):
    X, _, _, _ = airline_split
    series = np.append(X[:, 0], 432.0)  # the full 1949-1960 series
    spikes = [123, 130, 140]  # 1959-04, 1959-11, 1960-09
    spiked = series.copy()
    spiked[spikes] += 4 * np.diff(series).std()
    det = GRUAnomalyDetector(window_size=12, random_state=seed).fit(series[:120, None])
    scores = det.score_samples(spiked[:, None])[120:]
    lowest = np.sort(np.argsort(scores)[:3] + 120)
    np.testing.assert_array_equal(lowest, spikes)
    assert (det.predict(spiked[:, None])[spikes] == -1).all()


def test_outlier_contract():
    X = sine_series()
    det = GRUAnomalyDetector(
        window_size=20, hidden_size=16, max_iter=20, random_state=0
    )
    labels = det.fit(X).predict(X)
    assert set(np.unique(labels)) <= {-1, 1}
    scores = det.score_samples(X)
    np.testing.assert_allclose(det.decision_function(X), scores - det.offset_)
    np.testing.assert_array_equal(labels, np.where(scores - det.offset_ < 0, -1, 1))
    np.testing.assert_array_equal(det.fit_predict(X), labels)
    # scores are errors over the median training error: a typical row is -1
    assert np.median(scores) == pytest.approx(-1.0)


def test_float_contamination_flags_that_share_of_the_training_rows():
    X = sine_series() + np.random.default_rng(0).normal(0, 0.05, (400, 1))
    det = GRUAnomalyDetector(
        window_size=10, contamination=0.05, hidden_size=8, max_iter=10, random_state=0
    )
    assert (det.fit(X).predict(X) == -1).sum() == 20


def test_auto_contamination_flags_a_few_normal_rows():
    """Tukey's fence on RMS errors: about 1.6% of Gaussian errors lie beyond it."""
    X = sine_series(600) + np.random.default_rng(0).normal(0, 0.05, (600, 1))
    det = GRUAnomalyDetector(
        window_size=20, hidden_size=16, max_iter=30, random_state=0
    )
    share = (det.fit(X).predict(X) == -1).mean()
    assert 0 < share < 0.04


@pytest.mark.parametrize("method", ["forecast", "reconstruction"])
def test_a_spike_is_flagged_at_its_own_row(method):
    X = sine_series()
    det = GRUAnomalyDetector(
        window_size=20, method=method, hidden_size=16, max_iter=30, random_state=0
    ).fit(X)
    spiked = X.copy()
    spiked[300] += 3.0
    labels = det.predict(spiked)
    assert labels[300] == -1
    # rows with a full window of history before the spike are not flagged
    assert (labels[20:300] == 1).mean() > 0.95


def test_a_slow_drift_is_not_an_anomaly_but_a_jump_is():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    X = (np.sin(t / 4.0) + rng.normal(0, 0.05, 600))[:, None]
    det = GRUAnomalyDetector(
        window_size=24, hidden_size=16, max_iter=40, random_state=0
    )
    det.fit(X)
    drift = X + (t / 150.0)[:, None]  # the level climbs by 4 over the series
    assert (det.predict(drift)[24:] == -1).mean() < 0.05
    jump = X.copy()
    jump[400:] += 3.0
    assert det.predict(jump)[400] == -1


def test_sequence_layout_scores_each_sequence():
    rng = np.random.default_rng(0)
    t = np.arange(30)
    X = np.sin(t / 3.0 + rng.uniform(0, 6, (80, 1)))[:, :, None]
    det = GRUAnomalyDetector(hidden_size=16, max_iter=40, random_state=0).fit(X)
    odd = X.copy()
    odd[5, -1] += 3.0  # the last step of sequence 5 is wrong
    assert det.score_samples(odd).shape == (80,)
    assert np.argmin(det.score_samples(odd)) == 5
    rec = GRUAnomalyDetector(method="reconstruction", hidden_size=8, max_iter=5).fit(X)
    assert rec.score_samples(X).shape == (80,)


def test_forecast_needs_two_time_steps():
    with pytest.raises(ValueError, match="1 feature"):
        GRUAnomalyDetector().fit(np.zeros((10, 1)))
