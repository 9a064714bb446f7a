"""Forecast the airline passengers series one month ahead with a GRU.

Trains on 1949-1958, forecasts each month of 1959-1960 from the 12 months
before it, prints the error next to two naive baselines, and writes the plot
``demo_forecast.png``. Run it with ``make demo``.
"""

from __future__ import annotations

import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skgru import GRURegressor  # noqa: E402
from skgru.datasets import load_airline  # noqa: E402

OUTPUT = "demo_forecast.png"


def main() -> None:
    passengers = load_airline()
    # Series layout: row t holds this month; the target is next month.
    X = passengers.to_frame().iloc[:-1]
    y = passengers.shift(-1).iloc[:-1]
    train = y.index < "1958-12-01"  # targets up to December 1958
    test = ~train  # targets January 1959 to December 1960

    start = time.perf_counter()
    model = GRURegressor(window_size=12, target_channel="passengers", random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    # Predict over the whole history so that every test window is complete.
    forecast = model.predict(X)[test]

    truth = y[test].to_numpy()
    naive = X["passengers"][test].to_numpy()  # this month's value
    seasonal = passengers.shift(11).iloc[:-1][test].to_numpy()  # same month last year

    def mae(pred: np.ndarray) -> float:
        return float(np.mean(np.abs(pred - truth)))

    print("Airline passengers, one month ahead, 1959-1960 (thousands)")
    print(f"  GRU (window 12, per-window normalisation)  MAE {mae(forecast):6.1f}")
    print(f"  seasonal naive (same month last year)      MAE {mae(seasonal):6.1f}")
    print(f"  last value                                  MAE {mae(naive):6.1f}")
    print(f"  fitted in {seconds:.1f} s, {model.n_iter_} epochs")
    for warning in caught:
        print(f"  note: {warning.message}")

    target_months = passengers.index[1:][test]
    fig, ax = plt.subplots(figsize=(9, 4))
    history = passengers[passengers.index >= "1956-01-01"]
    ax.plot(history.index, history.to_numpy(), color="black", label="observed")
    ax.plot(
        target_months,
        forecast,
        color="tab:blue",
        marker="o",
        ms=3,
        label=f"GRU one-month-ahead (MAE {mae(forecast):.1f})",
    )
    ax.plot(
        target_months,
        seasonal,
        color="tab:orange",
        ls="--",
        label=f"seasonal naive (MAE {mae(seasonal):.1f})",
    )
    ax.axvline(target_months[0], color="grey", lw=0.8)
    ax.set_ylabel("passengers (thousands)")
    ax.set_title("skgru GRURegressor on the airline series")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(OUTPUT, dpi=120)
    print(f"  plot written to {OUTPUT}")


if __name__ == "__main__":
    main()
