import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from sklearn.exceptions import ConvergenceWarning

from skgru.datasets import load_airline

# Property-based tests: the same examples on every run (derandomize), no
# example database written to the working directory, no timing deadline on a
# shared 2-core machine, and few enough examples to keep `make test` short.
settings.register_profile(
    "skgru",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.load_profile("skgru")


@pytest.fixture(scope="session")
def airline_split():
    """Airline, series layout: row t holds month t, the target is month t + 1.

    Training rows have targets up to December 1958; test rows are the 24
    one-step-ahead forecasts of 1959-1960, predicted over the whole history.
    """
    s = load_airline().to_numpy().astype(float)
    X = s[:-1, None]
    y = s[1:]
    return X, y, slice(0, 119), slice(119, 143)


@pytest.fixture
def sensor_frame():
    """A small two-channel sensor log with a DatetimeIndex."""
    rng = np.random.default_rng(0)
    n = 160
    t = np.arange(n)
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    temp = 20 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n)
    load = 5 + np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.2, n)
    X = pd.DataFrame({"temp": temp, "load": load}, index=index)
    y = pd.Series(np.roll(temp, -1), index=index, name="temp_next")
    return X, y


@pytest.fixture
def no_convergence_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
