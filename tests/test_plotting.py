"""Plotting helpers return Axes and say what is missing (skgru/plotting.py)."""

import sys
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from skgru import GRUAnomalyDetector, GRURegressor
from skgru.plotting import plot_anomalies, plot_forecast, plot_loss_curve

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_loss_curve_with_and_without_validation():
    X = np.random.default_rng(0).normal(size=(40, 6))
    plain = GRURegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, X[:, 0])
    ax = plot_loss_curve(plain)
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), plain.loss_curve_)
    held = GRURegressor(hidden_size=4, max_iter=3, early_stopping=True).fit(X, X[:, 0])
    labels = [line.get_label() for line in plot_loss_curve(held).get_lines()]
    assert labels == ["training loss", "validation loss"]


def test_forecast_uses_the_series_index():
    dates = pd.date_range("2024-01-01", periods=4, freq="D")
    actual = pd.Series([1.0, 2.0, 3.0, 4.0], index=dates)
    ax = plot_forecast(actual, [1.0, 2.5, 2.5, 4.5])
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 2
    assert ax.get_lines()[0].get_xdata()[0] == dates[0]
    ax = plot_forecast([1.0, 2.0], [1.5, 2.5], baseline=[1.0, 1.0])
    assert list(ax.get_lines()[2].get_xdata()) == [0, 1]


def test_anomalies_marks_the_flagged_rows():
    t = np.arange(300)
    X = pd.DataFrame({"temp": np.sin(t / 6.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det = GRUAnomalyDetector(window_size=12, hidden_size=8, random_state=0)
        det.fit(X)
    spiked = X.copy()
    spiked.loc[200, "temp"] += 4.0
    ax = plot_anomalies(det, spiked, channel="temp")
    series, flagged = ax.get_lines()
    assert 200 in flagged.get_xdata()
    assert len(flagged.get_xdata()) == (det.predict(spiked) == -1).sum()
    assert ax.get_ylabel() == "temp"


def test_bad_arguments_are_named_before_a_figure_is_made():
    import matplotlib.pyplot as plt

    for kwargs, name in [
        (dict(y_pred=[1.0, 2.0]), "y_pred has 2 values, but y_true has 3"),
        (dict(y_pred=[1.0] * 3, index=[0, 1]), "index has 2 values"),
        (dict(y_pred=[1.0] * 3, baseline=[1.0] * 4), "baseline has 4 values"),
    ]:
        with pytest.raises(ValueError, match=name):
            plot_forecast([1.0, 2.0, 3.0], **kwargs)
    X = np.sin(np.arange(100) / 5.0)[:, None]
    det = GRUAnomalyDetector(window_size=8, hidden_size=4, max_iter=2).fit(X)
    for channel in (1, -2, "temp"):
        with pytest.raises(ValueError, match=r"not a column of X: .* 0 to 0\."):
            plot_anomalies(det, X, channel=channel)
    frame = pd.DataFrame({"temp": X[:, 0]})
    with pytest.raises(ValueError, match=r"or one of the column names \['temp'\]"):
        plot_anomalies(det, frame, channel="pressure")
    reg = GRURegressor(window_size=8, hidden_size=4, max_iter=2).fit(X, X[:, 0])
    with pytest.raises(TypeError, match="not a GRURegressor's"):
        plot_anomalies(reg, X)
    assert plt.get_fignums() == []


def test_a_missing_matplotlib_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "skgru\[plot\]"'):
        plot_forecast([1.0], [1.0])
