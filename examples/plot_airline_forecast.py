"""
Forecasting airline passengers one month ahead
==============================================

A GRU in series layout forecasts each month of 1959-1960 from the 12 months before
it, after training on 1949-1958. ``target_channel`` normalises every window by its
own level, so the trending series is forecast without a trend term.
"""

# %%
# The series and the split
# ------------------------
# Row ``t`` of ``X`` holds month ``t``; the target ``y[t]`` is month ``t + 1``.
import numpy as np
from sklearn.metrics import mean_absolute_error

from skgru import GRURegressor
from skgru.datasets import load_airline
from skgru.plotting import plot_forecast

passengers = load_airline()
X = passengers.to_frame().iloc[:-1]
y = passengers.shift(-1).iloc[:-1]
train = y.index < "1958-12-01"  # targets up to December 1958
test = ~train

# %%
# Fit and forecast
# ----------------
# Predicting over the whole history gives every test month its 12 real months.
model = GRURegressor(
    window_size=12, target_channel="passengers", max_iter=300, random_state=0
)
model.fit(X[train], y[train])
forecast = model.predict(X)[test]

# The seasonal naive baseline repeats the same month of the year before.
seasonal = passengers.shift(11).iloc[:-1][test].to_numpy()
print(f"GRU MAE: {mean_absolute_error(y[test], forecast):.1f}")
print(f"seasonal naive MAE: {mean_absolute_error(y[test], seasonal):.1f}")

# %%
# Forecast against the actual values
# ----------------------------------
ax = plot_forecast(y[test], forecast, baseline=seasonal)
ax.set_ylabel("passengers (thousands)")
ax.set_title("One month ahead, 1959-1960")
ax.figure.autofmt_xdate()
np.testing.assert_array_less(mean_absolute_error(y[test], forecast), 25)
