"""
Choosing ``window_size`` with ``GridSearchCV`` and ``TimeSeriesSplit``
======================================================================

In series layout, ``window_size`` is a hyperparameter like any other: a grid search
with a time-ordered splitter picks it, and every fold's validation rows come after its
training rows.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from skgru import GRURegressor
from skgru.datasets import load_airline

passengers = load_airline()
X = passengers.to_frame().iloc[:-1]
y = passengers.shift(-1).iloc[:-1]

search = GridSearchCV(
    GRURegressor(target_channel="passengers", hidden_size=16, random_state=0),
    {"window_size": [3, 6, 12, 24]},
    cv=TimeSeriesSplit(3),
    scoring="neg_mean_absolute_error",
)
search.fit(X, y)
print("best:", search.best_params_)

# %%
# Mean absolute error of each window length
# -----------------------------------------
windows = search.cv_results_["param_window_size"].data
errors = -search.cv_results_["mean_test_score"]
spread = search.cv_results_["std_test_score"]
fig, ax = plt.subplots()
ax.errorbar(windows, errors, yerr=spread, marker="o", capsize=4)
ax.set_xlabel("window_size (months)")
ax.set_ylabel("cross-validated MAE")
ax.set_title("TimeSeriesSplit(3) on the airline series")
