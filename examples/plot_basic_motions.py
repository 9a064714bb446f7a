"""
Classifying activities from accelerometer recordings
====================================================

BasicMotions holds 80 recordings of 100 time steps from a wrist-worn accelerometer
and gyroscope (6 channels), each labelled Badminton, Running, Standing or Walking.
A GRU reads each whole recording: sequence layout, 3-D ``X``.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

from skgru import GRUClassifier
from skgru.datasets import load_basic_motions

X_train, y_train = load_basic_motions("train")
X_test, y_test = load_basic_motions("test")
print(X_train.shape)  # (recordings, time steps, channels)

clf = GRUClassifier(random_state=0).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Which activities get confused
# -----------------------------
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, colorbar=False)
plt.title("BasicMotions, official test split")
