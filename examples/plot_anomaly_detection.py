"""
Flagging anomalies in a series, row by row
==========================================

A ``GRUAnomalyDetector`` learns what the airline series normally does next from
1949-1958, then scores all twelve years, with three spikes injected into 1959-1960.
It sets its threshold on the last quarter of its training rows, which its network did
not train on, so the normal months it has never seen are not flagged. The score of a
row judges the row itself, so each spike is flagged at its own month. Windows are
normalised by their own level, so the growth of the series is not an anomaly.
"""

# %%
import numpy as np

from skgru import GRUAnomalyDetector
from skgru.datasets import load_airline
from skgru.plotting import plot_anomalies

series = load_airline().to_frame().astype(float)
detector = GRUAnomalyDetector(window_size=12, random_state=0).fit(series.iloc[:120])

# %%
# Normal months after the training rows
# -------------------------------------
# 1959 and 1960 are new to the detector. None of their months is flagged:
flagged = np.flatnonzero(detector.predict(series) == -1)
print("flagged rows of the clean series:", flagged.tolist())
assert not (flagged >= 120).any()

# %%
# Three spikes of five standard deviations of the monthly changes
# ----------------------------------------------------------------
spiked = series.copy()
jump = 5 * series["passengers"].diff().std()
spikes = [123, 130, 140]
for row in spikes:
    spiked.iloc[row, 0] += jump

labels = detector.predict(spiked)
print("flagged rows:", np.flatnonzero(labels == -1).tolist())
assert (labels[spikes] == -1).all() and (labels[[row - 1 for row in spikes]] == 1).all()

# %%
# Each spike is flagged at its own month, and the month before it is not. The two
# months after each spike are flagged too: their forecast is made from a window that
# holds the spike, and a row's error is at least the mean error of it and the two
# rows before it (``smoothing=3``). ``contamination="auto"`` flags a row whose error is
# above 9 times the mean error on the held-out rows (with 99 or more held-out rows,
# the split-conformal threshold for 1% false alarms, when lower); a float such as
# ``0.02`` flags that share of the training rows instead.

# %%
# The series, the flagged rows and the scores
# --------------------------------------------
ax = plot_anomalies(detector, spiked, channel="passengers")
ax.set_title("Dots: rows flagged; line: score (right axis)")
ax.figure.tight_layout()
