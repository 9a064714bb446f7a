"""Small real data sets shipped with skgru (no download needed).

* :func:`load_airline`: monthly international airline passengers, 1949-1960.
* :func:`load_basic_motions`: smartwatch accelerometer and gyroscope
  recordings of four activities (UEA multivariate archive).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load_airline", "load_basic_motions"]

BASIC_MOTIONS_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def _data_file(name: str):
    return resources.files(__name__).joinpath("data", name)


def load_airline() -> pd.Series:
    """Monthly totals of international airline passengers, 1949-1960.

    The classic Box-Jenkins "Series G": 144 monthly values, in thousands of
    passengers, with a trend and a seasonality whose amplitude grows with the
    level. Source: Box, G. E. P., Jenkins, G. M. and Reinsel, G. C. (1976),
    *Time Series Analysis, Forecasting and Control*, Series G; the same
    numbers are R's ``AirPassengers`` data set. Published figures, free to use.

    Returns
    -------
    passengers : pandas.Series
        144 values (int64) named ``"passengers"``, indexed by a monthly
        DatetimeIndex (month starts, January 1949 to December 1960).

    Examples
    --------
    >>> from skgru.datasets import load_airline
    >>> y = load_airline()
    >>> len(y), int(y.iloc[0]), str(y.index[-1].date())
    (144, 112, '1960-12-01')
    """
    with _data_file("airline.csv").open("r") as f:
        frame = pd.read_csv(f)
    index = pd.DatetimeIndex(pd.to_datetime(frame["month"], format="%Y-%m"), freq="MS")
    return pd.Series(frame["passengers"].to_numpy(), index=index, name="passengers")


def load_basic_motions(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Smartwatch motion recordings of four activities (BasicMotions).

    Each recording is 10 seconds at 10 Hz (100 steps) of a 3-D accelerometer
    and a 3-D gyroscope (6 channels), taken while a person was standing,
    walking, running or playing badminton. The official split has 40
    recordings for training and 40 for testing, 10 of each class in each.

    Source: the UEA multivariate time series classification archive (Bagnall
    et al., 2018, "The UEA multivariate time series classification archive",
    arXiv:1811.00075), data set BasicMotions, as distributed at
    timeseriesclassification.com. The archive is free for research use and
    asks to be cited; it states no other licence.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which part of the official split to load.

    Returns
    -------
    X : ndarray of shape (40, 100, 6)
        Recordings, float64; channels ``acc_x, acc_y, acc_z, gyr_x, gyr_y,
        gyr_z``.
    y : ndarray of shape (40,)
        Activity labels: ``"Badminton"``, ``"Running"``, ``"Standing"`` or
        ``"Walking"``.

    Examples
    --------
    >>> from skgru.datasets import load_basic_motions
    >>> X, y = load_basic_motions("test")
    >>> X.shape, sorted(set(y.tolist()))
    ((40, 100, 6), ['Badminton', 'Running', 'Standing', 'Walking'])
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    with _data_file("basic_motions.csv.gz").open("rb") as f:
        frame = pd.read_csv(f, compression="gzip")
    frame = frame[frame["split"] == split].sort_values(["recording", "step"])
    n = frame["recording"].nunique()
    X = frame[BASIC_MOTIONS_CHANNELS].to_numpy(dtype=np.float64).reshape(n, -1, 6)
    y = frame.groupby("recording", sort=True)["activity"].first().to_numpy(dtype=str)
    return X, y
