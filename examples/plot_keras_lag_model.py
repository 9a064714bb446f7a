"""
The classic Keras lag-matrix GRU in one Pipeline
================================================

A popular Keras recipe builds a lag matrix of 10 previous values and fits
``GRU(50, input_shape=(10, 1))`` followed by ``Dense(1)``. In skgru the lag matrix is a
``SlidingWindowTransformer`` and the model is ``GRURegressor(hidden_size=50)`` with the
output layer reading the GRU's last state alone, of globally standardised values
(``pooling="last", instance_norm=False``), and no dropout: the same 8,001 trainable
parameters, in one Pipeline. (skgru's defaults also pool the states over time and
normalise each lag vector by its own statistics.)
"""

# %%
# The model
# ---------
from sklearn.pipeline import make_pipeline

from skgru import GRURegressor, SlidingWindowTransformer
from skgru.datasets import load_airline

s = load_airline().to_numpy(dtype=float)
lags = SlidingWindowTransformer(window_size=10)  # the (n, 10) lag matrix
keras_gru = GRURegressor(
    hidden_size=50, pooling="last", instance_norm=False, dropout=0.0, random_state=0
)
model = make_pipeline(lags, keras_gru)
model.fit(s[:-25, None], s[1:-24])

# %%
# The same network as the Keras model
# -----------------------------------
gru = model[-1].module_
print(sum(p.numel() for p in gru.parameters() if p.requires_grad), "parameters")

# %%
# One-step forecasts of the last two years
# ----------------------------------------
from skgru.plotting import plot_forecast  # noqa: E402

forecast = model.predict(s[:-1, None])[-24:]
ax = plot_forecast(s[-24:], forecast)
ax.set_title("Lag-matrix GRU, last 24 months")

# %%
# Like the Keras original, this model sees globally standardised values and cannot
# follow the trend: its peaks fall short as the series grows beyond its training
# range. The :ref:`airline forecast <sphx_glr_auto_examples_plot_airline_forecast.py>`
# adds ``target_channel``, which normalises each window by its own level.
