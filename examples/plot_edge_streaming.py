"""
Scoring a sensor stream row by row, and the same model in ONNX Runtime
======================================================================

A gateway watches a machine's temperature and vibration, one reading a minute.
A ``GRUAnomalyDetector`` learns a normal day; on the next day its ``stream()``
scores each reading as it arrives, with the answers ``score_samples`` would give
on the whole day, at a cost per reading that does not grow with the stream. The
same detector, exported with ``skgru.export.to_onnx``, runs in onnxruntime alone:
standardisation, per-window normalisation, GRU and score are all in the graph.
"""

# %%
# A normal day, and a day with two faults
# ---------------------------------------
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skgru import GRUAnomalyDetector


def sensor_day(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minute = np.arange(1440)
    load = 0.5 + 0.4 * np.sin(2 * np.pi * minute / 1440) + 0.2 * np.sin(minute / 9)
    return pd.DataFrame(
        {
            "temperature": 60 + 8 * load + rng.normal(0, 0.3, 1440),
            "vibration": 2 * load + rng.normal(0, 0.05, 1440),
        }
    )


normal = sensor_day(0)
today = sensor_day(1)
today.loc[700, "vibration"] += 1.0  # a knock
today.loc[1100:1110, "temperature"] += 4.0  # a cooling fault for ten minutes

# contamination: the share of a new normal day's readings flagged, about one
detector = GRUAnomalyDetector(
    window_size=30, hidden_size=32, max_iter=40, contamination=0.001, random_state=0
).fit(normal)

# %%
# The stream: one reading at a time
# ---------------------------------
# ``update`` takes one row and returns its ``decision_function`` (negative means
# outlier). A stream keeps the last 31 readings (the window and the reading it
# judges) and the errors of the last 3 (``smoothing=3``), and shares the fitted
# model: one stream per machine costs a few hundred bytes.
stream = detector.stream("decision_function")
decisions, seconds = [], []
for _, reading in today.iterrows():
    start = time.perf_counter()
    decisions.append(stream.update(reading))
    seconds.append(time.perf_counter() - start)
decisions = np.array(decisions)

print(f"median time per reading: {np.median(seconds) * 1e3:.2f} ms")
# the knock at minute 700 and the fault from minute 1100 are flagged; so is the
# temperature falling back after it, which is also not a normal change
print("flagged minutes:", np.flatnonzero(decisions < 0).tolist())
assert decisions[700] < 0 and (decisions[1100:1104] < 0).all()
# equal to float32's precision, relative to the values and to their spread
batch = detector.decision_function(today)
np.testing.assert_allclose(decisions, batch, rtol=1e-6, atol=1e-6 * batch.std())

fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
top.plot(today["temperature"], lw=0.8, label="temperature")
top.plot(today["vibration"] * 10 + 40, lw=0.8, label="vibration x 10 + 40")
top.set_ylim(30, 75)
top.legend(loc="lower left", ncols=2, fontsize="small")
bottom.plot(decisions, lw=0.8, color="gray")
flagged = np.flatnonzero(decisions < 0)
bottom.scatter(flagged, decisions[flagged], color="red", s=12, label="outlier")
bottom.axhline(0, ls=":", color="black")
bottom.set_ylabel("decision")
bottom.set_xlabel("minute of the day")
bottom.legend(loc="lower left")
top.set_title("Streamed decisions, one reading at a time")

# %%
# The same detector in ONNX Runtime
# ---------------------------------
# The graph's input is a batch of windows: for this forecasting detector, the
# readings that the last 3 judged readings (``smoothing=3``) are forecast from, and
# those readings: 30 + 3 = 33 rows. Its outputs are named after the estimator's
# methods.
import onnxruntime as ort  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from skgru.export import to_onnx  # noqa: E402

path = Path(tempfile.mkdtemp()) / "detector.onnx"
to_onnx(detector, path)
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
print(f"{path.name}: {path.stat().st_size / 1024:.0f} kB")
print("input:", session.get_inputs()[0].name, session.get_inputs()[0].shape)
print("outputs:", [output.name for output in session.get_outputs()])

steps = session.get_inputs()[0].shape[1]
values = today.to_numpy(np.float32)
windows = sliding_window_view(values, steps, axis=0).transpose(0, 2, 1)
onnx_decisions, onnx_labels = session.run(
    ["decision_function", "predict"], {"X": np.ascontiguousarray(windows)}
)
# window i ends at reading i + 32: compare from there on. onnxruntime's
# kernels round differently from torch's, by about 1e-6 of the values.
expected = decisions[steps - 1 :]
np.testing.assert_allclose(
    onnx_decisions, expected, rtol=1e-5, atol=1e-5 * expected.std()
)
print("ONNX flags:", (np.flatnonzero(onnx_labels == -1) + steps - 1).tolist())
