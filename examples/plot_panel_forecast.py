"""
Forecasting a panel of series with intervals
============================================

Six stores sell between about 5 and 50,000 units a day, with a weekly pattern, a
slow trend and noise. One ``GRURegressor`` learns from all six series at once, is
calibrated on the weeks after its training rows, and forecasts the next two weeks of
every store with a 90% split conformal band.
"""

# %%
# The panel
# ---------
# A long DataFrame with a (store, day) MultiIndex: its first level tells skgru which
# rows belong to which series, so no ``groups`` array is needed. The data are
# simulated, with a seed.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skgru import GRURegressor

rng = np.random.default_rng(0)
n_days, h, window, season = 300, 14, 14, 7
days = pd.date_range("2025-01-01", periods=n_days, freq="D")
levels = {"A": 5, "B": 60, "C": 400, "D": 3_000, "E": 12_000, "F": 50_000}
weekly = np.array([0.8, 0.85, 0.9, 0.95, 1.1, 1.3, 1.1])
frames = []
for k, (store, level) in enumerate(levels.items()):
    t = np.arange(n_days)
    trend = 1 + rng.uniform(-0.3, 0.6) * t / n_days
    shape = np.roll(weekly, k % 3) ** (1 + 0.5 * k / len(levels))
    noise = rng.normal(0, 0.06, n_days)
    sales = level * trend * shape[days.dayofweek] * (1 + noise)
    index = pd.MultiIndex.from_product([[store], days], names=["store", "day"])
    frames.append(pd.DataFrame({"sales": sales}, index=index))
panel = pd.concat(frames)

# %%
# Inputs, targets and the split in time
# -------------------------------------
# Row ``t`` of ``X`` holds day ``t`` of its store; its target is day ``t + 1`` of
# the same store, shifted within each store so that the last day of one store never
# becomes the target of another. A row belongs to the part its target falls in:
# days 0-215 train the network, days 216-285 calibrate the intervals, and the last
# ``h = 14`` days of each store are the test part, forecast in one go.
X = panel[["sales"]]
y = panel.groupby(level="store")["sales"].shift(-1)
day = panel.groupby(level="store").cumcount().to_numpy()
n_train = 216
target_day = day + 1

train = target_day < n_train
# the calibration rows, plus the window - 1 rows before the first one: their targets
# were fitted, so they are NaN and only fill the first windows
calibration = (day >= n_train - window) & (target_day < n_days - h)
y_cal = y.where(target_day >= n_train)
history = day < n_days - h

# %%
# One global model
# ----------------
# ``scaling="auto"`` standardises each series by its own mean and standard deviation
# when ``fit`` is given several series, and scales the predictions back per series,
# so store A's units of 5 are not lost beside store F's 50,000.
reg = GRURegressor(window_size=window, target_channel=0, random_state=0)
reg.fit(X[train], y[train])
print(f"epochs: {reg.n_iter_}")

# %%
# Calibration and forecasts
# -------------------------
# ``calibrate(..., steps=h)`` forecasts 1 to 14 days ahead from every calibration
# row whose next 14 days are all calibration days of its store (57 rows per store),
# and keeps the absolute errors of each step in units of each store's own scale,
# pooled over the stores. ``forecast`` then continues each store from its last
# ``window`` days, and scales the band back to each store's units.
reg.calibrate(X[calibration], y_cal[calibration], steps=h)
result = reg.forecast(X[history], h, coverage=0.9)
print(result.head(3))

# %%
# Coverage and error against a seasonal naive forecast
# ----------------------------------------------------
# The seasonal naive forecast repeats each store's last week. MASE divides the mean
# absolute error over the test days by the mean absolute change from one week to the
# next over the days before them: below 1 beats that change on average.
rows = []
for store in levels:
    past = panel.loc[store, "sales"].to_numpy()[: n_days - h]
    truth = panel.loc[store, "sales"].to_numpy()[n_days - h :]
    ours = result.loc[store]
    naive = np.resize(past[-season:], h)
    scale = np.mean(np.abs(past[season:] - past[:-season]))
    inside = (ours["lower"] <= truth) & (truth <= ours["upper"])
    rows.append(
        {
            "store": store,
            "coverage": inside.mean(),
            "MASE skgru": np.mean(np.abs(truth - ours["forecast"])) / scale,
            "MASE seasonal naive": np.mean(np.abs(truth - naive)) / scale,
        }
    )
scores = pd.DataFrame(rows).set_index("store")
print(scores.round(2))
print(f"coverage over all {len(levels) * h} test days: {scores['coverage'].mean():.2f}")

# %%
# The last eight weeks, the forecast and its band
# -----------------------------------------------
fig, axes = plt.subplots(2, 3, figsize=(11, 6), sharex=True)
for ax, store in zip(axes.flat, levels, strict=True):
    sales = panel.loc[store, "sales"]
    ours = result.loc[store].set_axis(sales.index[-h:])
    ax.plot(sales.iloc[-8 * season - h : -h], color="black", lw=1, label="history")
    ax.plot(sales.iloc[-h - 1 :], color="black", lw=1, ls="--", label="actual")
    ax.plot(ours["forecast"], color="C0", label="forecast")
    ax.fill_between(
        ours.index, ours["lower"], ours["upper"], color="C0", alpha=0.25, label="90%"
    )
    ax.set_title(f"store {store}")
axes.flat[0].legend(fontsize="small")
fig.autofmt_xdate()
fig.tight_layout()

# %%
# What the band promises
# ----------------------
# Split conformal intervals hold the true value with probability at least 90% if the
# forecast errors on the calibration days and on the new days are exchangeable: the
# same kind of data, in no particular order. A trend that changes, or a store whose
# errors differ from the others', breaks that. The errors are pooled over the stores
# in units of each store's scale, so the 90% holds over the pooled test days, not
# store by store: a store whose relative errors are larger than the others' gets a
# band too narrow for it. The numbers above come from this one simulated run; another
# seed gives others.
