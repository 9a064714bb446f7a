import numpy as np
import pytest

from skgru.datasets import load_airline, load_basic_motions


def test_airline():
    y = load_airline()
    assert len(y) == 144 and y.name == "passengers"
    assert y.index.is_monotonic_increasing and y.index.freqstr == "MS"
    assert (y.iloc[0], y.iloc[-1], y.max()) == (112, 432, 622)
    assert str(y.index[0].date()) == "1949-01-01"


@pytest.mark.parametrize("split", ["train", "test"])
def test_basic_motions(split):
    X, y = load_basic_motions(split)
    assert X.shape == (40, 100, 6) and X.dtype == np.float64
    labels, counts = np.unique(y, return_counts=True)
    assert list(labels) == ["Badminton", "Running", "Standing", "Walking"]
    assert list(counts) == [10, 10, 10, 10]
    assert np.isfinite(X).all()


def test_basic_motions_first_values_match_the_archive():
    X, y = load_basic_motions("train")
    assert y[0] == "Standing"
    np.testing.assert_allclose(
        X[0, 0], [0.079106, 0.394032, 0.551444, 0.351565, 0.02397, 0.633883]
    )


def test_unknown_split():
    with pytest.raises(ValueError, match="split must be"):
        load_basic_motions("validation")
