import numpy as np
import pytest
from tolerance import assert_float32_close

from skgru import GRUAnomalyDetector
from skgru.datasets import load_airline

pytestmark = pytest.mark.usefixtures("no_convergence_warning")


def sine_series(n=400):
    return np.sin(np.arange(n) / 5.0)[:, None]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_airline_spikes_are_flagged_at_their_own_rows(seed):
    series = load_airline().to_numpy().astype(float)  # 1949-1960
    spikes = [123, 130, 140]  # 1959-04, 1959-11, 1960-09
    spiked = series.copy()
    spiked[spikes] += 6 * np.diff(series).std()
    det = GRUAnomalyDetector(window_size=12, random_state=seed)
    det.fit(series[:120, None])
    labels = det.predict(spiked[:, None])
    assert (labels[spikes] == -1).all()
    assert (labels[[s - 1 for s in spikes]] == 1).all()  # not a row early
    # and nothing else is flagged but the rows whose window holds a spike
    flagged = np.flatnonzero(labels[120:] == -1) + 120
    echo = [any(0 <= row - s <= 12 for s in spikes) for row in flagged]
    assert all(echo), flagged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fitted_on_a_short_prefix_new_normal_rows_are_rarely_flagged(seed):
    """The failure that held-out calibration fixes: a threshold taken from the
    errors on the training rows flagged up to half of the normal rows after
    them. Airline: fitted on its first 6 years, judged on the next 6."""
    series = load_airline().to_numpy().astype(float)[:, None]
    det = GRUAnomalyDetector(window_size=12, random_state=seed).fit(series[:72])
    assert (det.predict(series)[72:] == -1).mean() <= 0.05
    # the first rows of a call, with less than a window of history, too
    assert (det.predict(series[72:])[:12] == 1).all()
    # a float contamination is the share of new normal rows flagged (at most
    # 3 times it); the 1% quantile of the training rows' own scores flagged 23%
    det.set_params(contamination=0.01).fit(series[:72])
    assert (det.predict(series)[72:] == -1).mean() <= 0.03


def test_a_noisy_channel_does_not_mask_an_anomaly_in_a_quiet_one():
    rng = np.random.default_rng(0)
    t = np.arange(1200)
    quiet = np.sin(t / 6.0)
    noisy = np.sin(t / 9.0) + rng.normal(0, 1.0, len(t))  # unpredictable
    X = np.column_stack([noisy, quiet])
    det = GRUAnomalyDetector(window_size=24, hidden_size=16, random_state=0)
    det.fit(X[:800])
    odd = X.copy()
    odd[1000, 1] += 1.0  # small next to the noise of the other channel
    labels = det.predict(odd)
    assert labels[1000] == -1
    assert np.argmin(det.score_samples(odd)[800:]) + 800 == 1000
    assert (det.predict(X)[800:] == -1).mean() <= 0.05


def test_outlier_contract():
    X = sine_series()
    det = GRUAnomalyDetector(
        window_size=20, hidden_size=16, max_iter=20, random_state=0, novelty=False
    )
    labels = det.fit(X).predict(X)
    assert set(np.unique(labels)) <= {-1, 1}
    scores = det.score_samples(X)
    np.testing.assert_allclose(det.decision_function(X), scores - det.offset_)
    np.testing.assert_array_equal(labels, np.where(scores - det.offset_ < 0, -1, 1))
    np.testing.assert_array_equal(det.fit_predict(X), labels)
    # scores are errors over the mean error of the held-out (last) rows
    assert np.mean(scores[-100:]) == pytest.approx(-1.0)


def test_without_novelty_a_float_contamination_is_that_share_of_the_training_rows():
    X = sine_series() + np.random.default_rng(0).normal(0, 0.05, (400, 1))
    det = GRUAnomalyDetector(
        window_size=10,
        contamination=0.05,
        novelty=False,
        hidden_size=8,
        max_iter=10,
        random_state=0,
    )
    assert (det.fit(X).predict(X) == -1).sum() == 20
    assert (det.fit_predict(X) == -1).sum() == 20


def test_with_novelty_a_float_contamination_is_a_held_out_conformal_threshold():
    X = sine_series(800) + np.random.default_rng(0).normal(0, 0.05, (800, 1))
    det = GRUAnomalyDetector(
        window_size=20, contamination=0.05, hidden_size=16, max_iter=30, random_state=0
    ).fit(X[:400])
    # the 100 held-out rows' errors: the ceil(101 * 0.95) = 96th smallest
    held_out = np.sort(-det.score_samples(X[:400])[300:])
    assert -det.offset_ == held_out[95]
    new = X[400:]  # normal rows the network never saw
    assert (det.predict(new) == -1).mean() <= 3 * 0.05
    # the same network, with scikit-learn's outlier-detection meaning, sets
    # a lower threshold: the one that flags 5% of its own training rows
    training = det.set_params(novelty=False).fit(X[:400])
    assert -training.offset_ < held_out[95]
    assert not hasattr(GRUAnomalyDetector(), "fit_predict")


def test_auto_contamination_is_calibrated_on_the_held_out_rows():
    X = sine_series(600) + np.random.default_rng(0).normal(0, 0.05, (600, 1))
    det = GRUAnomalyDetector(
        window_size=20, hidden_size=16, max_iter=30, random_state=0
    ).fit(X[:400])
    # the rows of the held-out tail score -1 on average; of their 100
    # errors, the 100th smallest (ceil(101 * 0.99)) is the 1% threshold,
    # unless 9 times their mean is lower
    held_out = -det.score_samples(X[:400])[300:]
    assert held_out.mean() == pytest.approx(1.0)
    assert -det.offset_ == min(9.0, held_out.max())
    new = X[400:]  # normal rows the network never saw
    assert (det.predict(new) == -1).mean() <= 0.02


def test_auto_contamination_of_sequences_flags_about_one_percent():
    rng = np.random.default_rng(0)
    t = np.arange(20)
    X = np.sin(t / 3.0 + rng.uniform(0, 6, (400, 1))) + rng.normal(0, 0.1, (400, 20))
    det = GRUAnomalyDetector(hidden_size=8, random_state=0).fit(X)
    # 100 held-out sequences: the 1% threshold of their errors, below 9 here
    scores = det.score_samples(X)
    assert -det.offset_ < 9.0
    new = np.sin(t / 3.0 + rng.uniform(0, 6, (400, 1))) + rng.normal(0, 0.1, (400, 20))
    assert (det.predict(new) == -1).mean() <= 0.05
    assert (scores < det.offset_).any()  # scikit-learn's check asks for some


def test_smoothing_averages_a_row_with_the_rows_before_it():
    X = sine_series(600) + np.random.default_rng(0).normal(0, 0.05, (600, 1))
    params = dict(window_size=20, hidden_size=8, max_iter=10, random_state=0)
    one = GRUAnomalyDetector(smoothing=1, **params).fit(X)
    three = GRUAnomalyDetector(smoothing=3, **params).fit(X)
    # the same network and scales: only how the errors are read differs
    errors = -one.score_samples(X) * one._error_scale
    total = errors.copy()
    total[1:] += errors[:-1]
    total[2:] += errors[:-2]
    mean = total / np.minimum(np.arange(1, 601), 3)
    np.testing.assert_allclose(
        -three.score_samples(X) * three._error_scale,
        np.maximum(errors, mean),
        rtol=1e-9,
    )


def test_auto_batches_grow_with_the_window():
    X = sine_series(400)
    det = GRUAnomalyDetector(window_size=100, hidden_size=4, max_iter=1)
    det.fit(X)
    # 300 rows train (100 held out): batches of at most 128 windows (the
    # window rounded up to 32s), as equal as possible
    assert det.net_.batch_size == 100
    det.set_params(window_size=20).fit(X)
    assert det.net_.batch_size == 30  # 300 in batches of at most 32


def test_the_fewest_samples_fit_or_say_what_to_change():
    X = np.sin(np.arange(10) / 2.0)[None, :].repeat(2, axis=0)  # 2 sequences
    GRUAnomalyDetector(hidden_size=4, max_iter=2, early_stopping=False).fit(X)
    with pytest.raises(ValueError, match="early_stopping"):
        GRUAnomalyDetector(hidden_size=4, max_iter=2).fit(X)


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
    # the rows before the spike are not flagged, the first ones included
    assert (labels[:300] == 1).mean() > 0.95


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
    # 2-D sequences (columns are steps), 3-D ones, and variable lengths
    for X in (
        np.zeros((10, 1)),
        np.zeros((10, 1, 3)),
        [np.zeros((4, 2)), np.ones((1, 2))],
    ):
        with pytest.raises(ValueError, match="a sequence of 1 time step"):
            GRUAnomalyDetector().fit(X)


def test_groups_score_each_series_as_if_alone():
    rng = np.random.default_rng(0)
    lengths = (300, 200)
    X = np.concatenate(
        [
            np.sin(np.arange(n) / (5.0 + k)) + rng.normal(0, 0.05, n)
            for k, n in enumerate(lengths)
        ]
    )[:, None]
    ids = np.repeat(["a", "b"], lengths)
    det = GRUAnomalyDetector(
        window_size=20, hidden_size=8, random_state=0, novelty=False
    )
    det.fit(X, groups=ids)
    together = det.score_samples(X, groups=ids)
    for series in ("a", "b"):
        alone = det.score_samples(X[ids == series])
        assert_float32_close(together[ids == series], alone, rtol=1e-6)
    # the first rows of "b" are judged from "b" alone: not flagged for "a"
    assert (det.predict(X, groups=ids)[ids == "b"][:20] == 1).all()
    np.testing.assert_array_equal(
        det.fit_predict(X, groups=ids), det.predict(X, groups=ids)
    )
