"""Every bad input is answered clearly; valid odd input works (skgru/_validation.py).

Each case names the input, what fit (or predict) is given, and the expected
exception type with a fragment of its message that names the problem and
what to do, or ``None`` where scikit-learn would accept the input too.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import InvalidParameterError

from skgru import GRUAnomalyDetector, GRUClassifier, GRURegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 5))
Y = rng.normal(size=20)
LABELS = (Y > 0).astype(int)
FAST = dict(hidden_size=4, max_iter=2, random_state=0)
DAYS = pd.date_range("2024-01-01", periods=20, freq="D")


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def nullable_frame(missing: str | None = None):
    frame = pd.DataFrame(
        {
            "temp": pd.array(X[:, 0], dtype="Float64"),
            "count": pd.array(np.arange(20), dtype="Int64"),
        }
    )
    if missing is not None:
        frame.loc[3, missing] = pd.NA
    return frame


def reg(**params):
    return GRURegressor(**{**FAST, **params})


def clf(**params):
    return GRUClassifier(**{**FAST, **params})


def det(**params):
    return GRUAnomalyDetector(**{**FAST, **params})


FIT_CASES = [
    # --- non-finite values
    ("X NaN", reg(), with_value(X, (3, 2), np.nan), Y, ValueError, "X contains NaN"),
    ("X +inf", clf(), with_value(X, (3, 2), np.inf), LABELS, ValueError, "infinity"),
    ("X -inf", det(), with_value(X, (3, 2), -np.inf), None, ValueError, "infinity"),
    (
        "X NaN, series",
        reg(window_size=3),
        with_value(X, (0, 0), np.nan),
        Y,
        ValueError,
        "X contains NaN",
    ),
    (
        "X NaN, 3-D",
        reg(),
        with_value(X.reshape(20, 5, 1), (1, 1, 0), np.nan),
        Y,
        ValueError,
        "X contains NaN",
    ),
    (
        "X beyond float32",
        reg(),
        X * 1e300,
        Y,
        ValueError,
        "beyond float32's range .* Rescale X",
    ),
    ("y NaN", reg(), X, with_value(Y, 0, np.nan), ValueError, "y contains NaN"),
    ("y inf", reg(), X, with_value(Y, 0, np.inf), ValueError, "y contains infinity"),
    ("y NaN, labels", clf(), X, with_value(Y, 0, np.nan), ValueError, "y contains NaN"),
    ("y beyond float32", reg(), X, Y * 1e300, ValueError, "y has values up to"),
    # --- shapes
    ("empty X", reg(), np.empty((0, 5)), np.empty(0), ValueError, "0 sample"),
    (
        "empty series",
        reg(window_size=3),
        np.empty((0, 2)),
        np.empty(0),
        ValueError,
        "0 sample",
    ),
    ("empty list", reg(), [], [], ValueError, "X is empty"),
    ("0 features", reg(), np.empty((20, 0)), Y, ValueError, "0 feature"),
    (
        "0 features, series",
        det(window_size=3),
        np.empty((20, 0)),
        None,
        ValueError,
        "0 feature",
    ),
    ("0 features, 3-D", reg(), np.empty((20, 4, 0)), Y, ValueError, "0 features"),
    ("0 time steps, 3-D", reg(), np.empty((20, 0, 2)), Y, ValueError, "0 time steps"),
    ("1 sample", reg(), X[:1], Y[:1], ValueError, "1 sample"),
    ("1 sample, classifier", clf(), X[:1], [0], ValueError, "1 sample"),
    ("1 sample, detector", det(), X[:1], None, ValueError, "1 sample"),
    (
        "1 row, series",
        reg(window_size=1),
        X[:1],
        Y[:1],
        ValueError,
        "needs a series of at least 2 rows",
    ),
    ("1-D X", reg(), X[:, 0], Y, ValueError, "X is 1-D.*set window_size"),
    (
        "1-D X, series",
        reg(window_size=3),
        X[:, 0],
        Y,
        ValueError,
        r"X is 1-D.*X.reshape\(-1, 1\) or series.to_frame\(\)",
    ),
    (
        "pandas Series X, series",
        det(window_size=3),
        pd.Series(X[:, 0]),
        None,
        ValueError,
        "X is 1-D",
    ),
    ("4-D X", reg(), np.zeros((5, 4, 3, 2)), np.zeros(5), ValueError, "X is 4-D"),
    (
        "3-D X, series",
        reg(window_size=3),
        np.zeros((5, 4, 2)),
        np.zeros(5),
        ValueError,
        "X is 3-D .* Set window_size=None",
    ),
    (
        "ragged, wrong feature count",
        reg(),
        [np.zeros((3, 2)), np.zeros((4, 3))],
        [1.0, 2.0],
        ValueError,
        "different numbers of features",
    ),
    (
        "ragged, empty sequence",
        reg(),
        [np.zeros((0, 2)), np.zeros((4, 2))],
        [1.0, 2.0],
        ValueError,
        r"X\[0\] is an empty sequence",
    ),
    (
        "ragged, NaN",
        reg(),
        [np.full((3, 2), np.nan), np.zeros((4, 2))],
        [1.0, 2.0],
        ValueError,
        r"X\[0\] contains NaN",
    ),
    (
        "ragged, series",
        reg(window_size=2),
        [np.zeros((3, 2)), np.zeros((4, 2))],
        [1.0, 2.0],
        ValueError,
        "set window_size=None",
    ),
    # --- dtypes
    (
        "str columns",
        reg(),
        np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object),
        [0.0, 1.0, 0.0],
        ValueError,
        "could not convert",
    ),
    (
        "str DataFrame column",
        reg(window_size=2),
        pd.DataFrame({"temp": [1.0, 2.0, 3.0, 4.0], "site": ["a", "b", "a", "b"]}),
        [1.0, 2.0, 3.0, 4.0],
        ValueError,
        r"X has column\(s\) that are not numbers: 'site' \((object|str)\)\. skgru "
        "takes numbers only: encode",
    ),
    (
        "date and category DataFrame columns",
        reg(),
        pd.DataFrame(
            {
                "day": DAYS,
                "temp": X[:, 0],
                "site": pd.Categorical(np.where(LABELS == 1, "north", "south")),
            }
        ),
        Y,
        ValueError,
        r"not numbers: 'day' \(datetime64\[\w+\]\), 'site' \(category\)\.",
    ),
    (
        "object DataFrame column of numbers",
        reg(window_size=3),
        pd.DataFrame({"temp": X[:, 0], "count": np.arange(20).astype(object)}),
        Y,
        None,
        None,
    ),
    ("complex X", reg(), X.astype(complex), Y, ValueError, "Complex data"),
    ("sparse X", reg(), "sparse", Y, TypeError, r"dense data is required.*toarray"),
    ("str y", reg(), X, np.array(["a"] * 20), ValueError, "use GRUClassifier"),
    (
        "continuous y",
        clf(),
        X,
        Y,
        ValueError,
        "Unknown label type: continuous",
    ),
    ("2-D y", clf(), X, np.c_[LABELS, LABELS], ValueError, "y should be a 1d array"),
    ("bool X", reg(), X > 0, Y, None, None),
    ("int X", reg(), (X * 10).astype(np.int64), Y, None, None),
    ("int y", reg(), X, (Y * 10).astype(np.int64), None, None),
    ("bool y", clf(), X, Y > 0, None, None),
    ("nullable dtypes", reg(window_size=3), nullable_frame(), Y, None, None),
    (
        "Int64 with pd.NA",
        reg(window_size=3),
        nullable_frame("count"),
        Y,
        ValueError,
        "X contains NaN",
    ),
    (
        "Float64 with pd.NA",
        det(window_size=3),
        nullable_frame("temp"),
        None,
        ValueError,
        "X contains NaN",
    ),
    # --- time order in series layout
    (
        "decreasing DatetimeIndex",
        reg(window_size=3),
        pd.DataFrame(X, index=DAYS[::-1]),
        Y,
        ValueError,
        r"not strictly increasing.*X.sort_index\(\)",
    ),
    (
        "duplicated DatetimeIndex",
        det(window_size=3),
        pd.DataFrame(X, index=DAYS.insert(5, DAYS[5])[:20]),
        None,
        ValueError,
        "remove duplicated timestamps",
    ),
    # --- window_size
    (
        "window longer than the series",
        reg(window_size=30),
        X,
        Y,
        ValueError,
        "window_size=30 needs a series of at least 30 rows",
    ),
    ("window_size=0", reg(window_size=0), X, Y, InvalidParameterError, "window_size"),
    ("window_size=-2", reg(window_size=-2), X, Y, InvalidParameterError, "window_size"),
    (
        "window_size=2.5",
        reg(window_size=2.5),
        X,
        Y,
        InvalidParameterError,
        "window_size",
    ),
    (
        "window_size='3'",
        reg(window_size="3"),
        X,
        Y,
        InvalidParameterError,
        "window_size",
    ),
    ("window_size=True", reg(window_size=True), X, Y, ValueError, "is a bool"),
    # --- y against X
    ("y too short", reg(), X, Y[:-1], ValueError, "inconsistent numbers of samples"),
    (
        "y too long, series",
        reg(window_size=3),
        X,
        np.r_[Y, 0.0],
        ValueError,
        "inconsistent numbers of samples",
    ),
    ("no y", reg(), X, None, ValueError, "requires y"),
    ("a single class", clf(), X, np.ones(20), ValueError, "y has 1 class"),
    # --- other parameters
    ("hidden_size=-1", reg(hidden_size=-1), X, Y, InvalidParameterError, "hidden"),
    (
        "learning_rate_init=0",
        reg(learning_rate_init=0.0),
        X,
        Y,
        InvalidParameterError,
        "learning_rate_init",
    ),
    ("contamination=0.7", det(contamination=0.7), X, None, ValueError, "contaminat"),
    ("device='gpu'", reg(device="gpu"), X, Y, ValueError, "not a torch device"),
    (
        "target_channel out of range",
        reg(window_size=3, target_channel=9),
        X,
        Y,
        ValueError,
        "target_channel=9 is out of range",
    ),
]


@pytest.mark.parametrize(
    "est, X_fit, y_fit, error, message",
    [pytest.param(*case[1:], id=case[0]) for case in FIT_CASES],
)
def test_fit_input(est, X_fit, y_fit, error, message):
    if isinstance(X_fit, str):  # "sparse": built here, scipy stays a test import
        from scipy import sparse

        X_fit = sparse.csr_matrix(X)
    if error is None:
        fitted = est.fit(X_fit, y_fit)
        out = fitted.predict(X_fit)
        assert len(out) == len(X_fit) and np.isfinite(out.astype(float)).all()
    else:
        with pytest.raises(error, match=message):
            est.fit(X_fit, y_fit)


@pytest.fixture(scope="module")
def fitted():
    frame = pd.DataFrame(X[:, :2], columns=["a", "b"], index=DAYS)
    return {
        "sequence": reg().fit(X, Y),
        "3-D": reg().fit(X.reshape(20, 5, 1), Y),
        "series": reg(window_size=8).fit(frame, Y),
        "ragged": reg().fit([np.zeros((3, 2)), np.ones((4, 2))], [1.0, 2.0]),
        "classifier": clf().fit(X, LABELS),
    }


PREDICT_CASES = [
    (
        "wrong feature count",
        "sequence",
        X[:, :3],
        "X has 3 features, but GRURegressor is expecting 5",
    ),
    ("4-D X", "3-D", np.zeros((2, 5, 1, 1)), "X is 4-D"),
    ("3-D X, other channels", "3-D", np.zeros((2, 5, 2)), "expecting 1 features"),
    (
        "ragged, wrong feature count",
        "ragged",
        [np.zeros((3, 3)), np.zeros((2, 3))],
        "X has 3 features, but GRURegressor is expecting 2",
    ),
    ("X NaN", "sequence", with_value(X, (0, 0), np.nan), "X contains NaN"),
    (
        "unseen feature names",
        "series",
        pd.DataFrame(X[:, :2], columns=["a", "c"], index=DAYS),
        "Feature names unseen at fit time",
    ),
    (
        "duplicated DatetimeIndex",
        "series",
        pd.DataFrame(X[:, :2], columns=["a", "b"], index=DAYS.insert(1, DAYS[1])[:20]),
        "not strictly increasing",
    ),
    (
        "series shorter than the window",
        "series",
        pd.DataFrame(X[:5, :2], columns=["a", "b"], index=DAYS[:5]),
        "include the 7 rows before them",
    ),
]


@pytest.mark.parametrize(
    "which, X_new, message", [pytest.param(*c[1:], id=c[0]) for c in PREDICT_CASES]
)
def test_predict_input(fitted, which, X_new, message):
    with pytest.raises(ValueError, match=message):
        fitted[which].predict(X_new)


def test_score_with_labels_unseen_in_fit(fitted):
    # scikit-learn scores them as errors rather than refusing them
    y = np.where(LABELS == 1, 1, 5)  # 5 was never seen
    model = fitted["classifier"]
    assert model.score(X, y) == accuracy_score(y, model.predict(X))
    assert 5 not in model.predict(X)
