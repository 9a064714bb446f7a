"""Plots of a fit's losses, a forecast and a detector's findings.

matplotlib is an optional dependency (``pip install "skgru[plot]"``): it is
imported when a function here is called, not when skgru is imported.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_anomalies", "plot_forecast", "plot_loss_curve"]


def _axes(ax):
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "skgru.plotting needs matplotlib, which is not installed. Install "
            'it with: pip install "skgru[plot]"'
        ) from None
    return plt.subplots()[1] if ax is None else ax


def plot_loss_curve(estimator, *, ax=None):
    """Plot the training loss, and the validation loss if any, per epoch.

    Parameters
    ----------
    estimator : fitted skgru estimator
        Its ``loss_curve_`` (and ``validation_loss_curve_`` when fitted with
        ``early_stopping=True``) are drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgru import GRURegressor
    >>> from skgru.plotting import plot_loss_curve
    >>> X = np.random.default_rng(0).normal(size=(40, 6))
    >>> est = GRURegressor(hidden_size=4, max_iter=5, random_state=0)
    >>> est = est.fit(X, X[:, -1])
    >>> ax = plot_loss_curve(est)
    >>> [line.get_label() for line in ax.get_lines()]
    ['training loss']
    """
    check_is_fitted(estimator)
    ax = _axes(ax)
    epochs = np.arange(1, len(estimator.loss_curve_) + 1)
    ax.plot(epochs, estimator.loss_curve_, label="training loss")
    if hasattr(estimator, "validation_loss_curve_"):
        ax.plot(epochs, estimator.validation_loss_curve_, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (standardised units)")
    ax.legend()
    return ax


def plot_forecast(y_true, y_pred, *, index=None, baseline=None, ax=None):
    """Plot a forecast against the actual values, with an optional baseline.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        The actual values.
    y_pred : array-like of shape (n,)
        The forecast of the same rows.
    index : array-like of shape (n,), optional
        The x values (e.g. dates); the index of ``y_true`` when it is a pandas
        Series, else ``0 .. n-1``.
    baseline : array-like of shape (n,), optional
        A reference forecast to compare with, drawn dashed.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skgru.plotting import plot_forecast
    >>> ax = plot_forecast([1.0, 2.0, 3.0], [1.1, 1.9, 3.2], baseline=[1.0, 1.0, 2.0])
    >>> [line.get_label() for line in ax.get_lines()]
    ['actual', 'forecast', 'baseline']
    """
    if index is None and hasattr(y_true, "iloc"):  # a pandas Series
        index = y_true.index
    y_true = np.asarray(y_true, dtype=float)
    if index is None:
        index = np.arange(len(y_true))
    y_pred = np.asarray(y_pred, dtype=float)
    lines = {"index": index, "y_pred": y_pred}
    if baseline is not None:
        baseline = lines["baseline"] = np.asarray(baseline, dtype=float)
    for name, values in lines.items():
        if len(values) != len(y_true):
            raise ValueError(
                f"{name} has {len(values)} values, but y_true has {len(y_true)}: "
                "pass one value per row of y_true."
            )
    ax = _axes(ax)
    ax.plot(index, y_true, color="black", label="actual")
    ax.plot(index, y_pred, label="forecast")
    if baseline is not None:
        ax.plot(index, baseline, "--", label="baseline")
    ax.legend()
    return ax


def plot_anomalies(detector, X, *, channel=0, ax=None):
    """Plot one channel of a series with the rows a detector flags.

    The channel is drawn as a line, the rows that ``detector.predict`` marks
    as outliers (-1) as red dots, and ``detector.score_samples`` on a second
    y axis, with the detector's threshold (``offset_``) as a dotted line.

    Parameters
    ----------
    detector : fitted GRUAnomalyDetector
        A detector in series layout (``window_size`` set).
    X : array-like or DataFrame of shape (n_timesteps, n_features)
        The series to score.
    channel : int or str, default=0
        The column of ``X`` to draw (a name for a DataFrame).
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the series; the scores' Axes is its twin.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgru import GRUAnomalyDetector
    >>> from skgru.plotting import plot_anomalies
    >>> t = np.arange(200)
    >>> X = np.sin(t / 8)[:, None]
    >>> det = GRUAnomalyDetector(window_size=16, hidden_size=8, max_iter=20)
    >>> det = det.fit(X)
    >>> X[150] += 3  # a spike
    >>> ax = plot_anomalies(det, X)
    >>> ax.get_ylabel()
    'channel 0'
    """
    from ._detector import GRUAnomalyDetector

    if not isinstance(detector, GRUAnomalyDetector):
        raise TypeError(
            f"plot_anomalies draws a GRUAnomalyDetector's findings, not a "
            f"{type(detector).__name__}'s."
        )
    check_is_fitted(detector)
    columns = list(X.columns) if hasattr(X, "iloc") else None
    n_columns = len(columns) if columns is not None else np.shape(X)[-1]
    named = columns is not None and isinstance(channel, str) and channel in columns
    if not named and not (
        isinstance(channel, int | np.integer) and -n_columns <= channel < n_columns
    ):
        raise ValueError(
            f"channel={channel!r} is not a column of X: pass an index from 0 to "
            f"{n_columns - 1}"
            + (f", or one of the column names {columns}." if columns else ".")
        )
    flagged = detector.predict(X) == -1
    scores = detector.score_samples(X)
    if columns is not None:
        index = X.index
        values = X[channel] if named else X.iloc[:, channel]
        name = str(channel if named else columns[channel])
    else:
        values = np.asarray(X)[:, channel]
        index = np.arange(len(values))
        name = f"channel {channel}"
    values = np.asarray(values, dtype=float)
    ax = _axes(ax)
    ax.plot(index, values, color="black", linewidth=1, label=name)
    ax.plot(
        np.asarray(index)[flagged], values[flagged], "o", color="red", label="flagged"
    )
    ax.set_ylabel(name)
    score_ax = ax.twinx()
    score_ax.plot(index, scores, color="tab:blue", alpha=0.5, label="score")
    score_ax.axhline(detector.offset_, color="tab:blue", linestyle=":")
    score_ax.set_ylabel("score (lower: more abnormal)")
    ax.legend(loc="upper left")
    return ax
