"""
Flagging anomalies in a series, row by row
==========================================

A ``GRUAnomalyDetector`` learns what the airline series normally does next, then
scores each row of a copy with three injected spikes. The score of a row judges the
row itself, so each spike is flagged at its own month. Windows are normalised by their
own level, so the growth of the series over twelve years is not an anomaly.
"""

# %%
import numpy as np

from skgru import GRUAnomalyDetector
from skgru.datasets import load_airline
from skgru.plotting import plot_anomalies

series = load_airline().to_frame().astype(float)
detector = GRUAnomalyDetector(window_size=12, random_state=0).fit(series)

# %%
# Three spikes of four standard deviations of the monthly changes
# ----------------------------------------------------------------
spiked = series.copy()
jump = 4 * series["passengers"].diff().std()
for row in (123, 130, 140):
    spiked.iloc[row, 0] += jump

lowest = np.argsort(detector.score_samples(spiked))[:3]
print("spikes at rows 123, 130, 140; the three lowest scores:", sorted(lowest.tolist()))
flagged = np.flatnonzero(detector.predict(spiked) == -1)
print("flagged rows:", flagged.tolist())

# %%
# The three spikes score lowest. The rows just after each spike are flagged too: their
# forecast is made from a window that holds the spike. ``contamination="auto"`` sets the
# threshold with Tukey's fence on the training errors; a float such as ``0.02`` flags a
# fixed share of rows instead.

# %%
# The series, the flagged rows and the scores
# --------------------------------------------
ax = plot_anomalies(detector, spiked, channel="passengers")
ax.set_title("Dots: rows flagged; line: score (right axis)")
ax.figure.tight_layout()
