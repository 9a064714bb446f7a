"""Input checking and layout dispatch for skgru estimators.

Every public estimator turns its ``X`` (and ``y``) into a :class:`Layout`
through :func:`validate_input`: scikit-learn's ``validate_data`` does the
dtype, finiteness, sample-count and feature-name work; this module adds what
a recurrent model needs on top (3-D and variable-length sequences, series
length against ``window_size``, time order of a DatetimeIndex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array, check_X_y, validate_data

from ._columns import validate_numbers
from ._windows import GroupIndex, pad_ragged

FLOAT_DTYPES = (np.float64, np.float32)

# The network computes in float32: larger values would become infinite.
FLOAT32_MAX = float(np.finfo(np.float32).max)

_LAYOUTS = (
    "skgru takes either sequences, X of shape (n_samples, n_timesteps, "
    "n_features) or (n_samples, n_timesteps) with window_size=None, or one "
    "series in time order, X of shape (n_timesteps, n_features) with "
    "window_size set"
)


@dataclass
class Layout:
    """Validated input of one call.

    ``x`` is float32 or float64: ``(n, f)`` in series layout (``window`` set),
    ``(n, T, f)`` in sequence layout; ``lengths`` is set for variable-length
    sequences.
    """

    x: np.ndarray
    window: int | None = None
    lengths: np.ndarray | None = None
    groups: GroupIndex | None = None
    # series layout: each row's series id (None for one series), as given
    series_ids: np.ndarray | None = None
    # scaling="per_series": the statistics ``x`` was standardised with:
    # ``(mean, std)`` of each series here ``(n_series, f)`` and each row's
    # series in them ``(n,)``
    series_stats: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_samples(self) -> int:
        return len(self.x)

    @property
    def n_channels(self) -> int:
        return self.x.shape[-1]


def _is_ragged(X: object) -> bool:
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    shapes = {np.shape(item) for item in X}
    return len(shapes) > 1 and all(len(s) in (1, 2) for s in shapes)


def check_float32_range(array: np.ndarray, name: str) -> None:
    """Refuse finite values that float32, the network's precision, cannot hold."""
    if array.dtype == np.float64 and array.size:
        largest = float(np.max(np.abs(array)))
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"{name} has values up to {largest:.3g} in magnitude, beyond "
                f"float32's range (±{FLOAT32_MAX:.3g}) that the network computes "
                f"in. Rescale {name}, e.g. with a StandardScaler in a Pipeline."
            )


def _is_number(value: object) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _check_numeric_targets(estimator: object, y: object) -> None:
    """A regressor's ``y`` must hold numbers, checked before scikit-learn's
    conversion (every regressor fit reads ``y`` through here): labels are
    sent to the classifier (an object array of them would only get "could
    not convert string to float"), and missing targets in an object array
    (None, NaN), which that conversion turns into NaN unchecked so that
    training diverges, are counted. Complex ``y`` is left to scikit-learn."""
    try:
        values = np.asarray(y)
    except ValueError:  # ragged: scikit-learn's validation says so
        return
    if values.dtype.kind in "biufc":
        return
    labels = (
        f"but {type(estimator).__name__} needs numeric targets. For labels, use "
        "GRUClassifier."
    )
    if values.dtype.kind != "O":
        raise ValueError(f"y has dtype {values.dtype}, {labels}")
    missing = int(pd.isna(values).sum())
    if missing:
        raise ValueError(
            f"y contains {missing} missing target(s) (None or NaN): drop those "
            "samples or impute their targets before fitting."
        )
    try:
        values.astype(np.float64)
    except (TypeError, ValueError):
        value = next(v for v in values.ravel() if not _is_number(v))
        raise ValueError(
            f"y holds values that are not numbers (such as {value!r}), {labels}"
        ) from None


def _check_dimensions(X: object, ndim: int, window_size: int | None) -> None:
    """Clear errors for X of a dimension no layout takes, before sklearn's."""
    if ndim == 1 and not len(X):
        raise ValueError(f"X is empty. {_LAYOUTS}.")
    if ndim == 1:
        hint = (
            "pass a single series as a column, X.reshape(-1, 1) or series.to_frame()"
            if window_size is not None
            else "for one series in time order, set window_size and pass "
            "X.reshape(-1, 1)"
        )
        raise ValueError(
            f"X is 1-D, of shape {np.shape(X)}. Reshape your data: {hint}. {_LAYOUTS}."
        )
    if ndim > 3:
        raise ValueError(f"X is {ndim}-D, of shape {np.shape(X)}. {_LAYOUTS}.")


def _check_sequence_shape(x: np.ndarray) -> None:
    if x.shape[1] == 0:
        raise ValueError(f"X has 0 time steps (shape {x.shape}); {_LAYOUTS}.")
    if x.shape[2] == 0:
        raise ValueError(f"X has 0 features (shape {x.shape}); {_LAYOUTS}.")


def _check_time_index(X: object) -> None:
    index = getattr(X, "index", None)
    if isinstance(index, pd.DatetimeIndex) and not (
        index.is_monotonic_increasing and index.is_unique
    ):
        raise ValueError(
            "X has a DatetimeIndex that is not strictly increasing. In series "
            "layout (window_size set) rows must be in time order: sort the "
            "DataFrame with X.sort_index() and remove duplicated timestamps."
        )


def check_sortable(values: np.ndarray, what: str, advice: str) -> None:
    """Refuse an object array whose values cannot be sorted together, naming
    their types (numpy's sort says only "'<' not supported")."""
    try:
        np.unique(values)
    except TypeError:
        kinds = sorted({type(value).__name__ for value in values})
        raise TypeError(
            f"{what} of types {kinds} that cannot be sorted together: {advice}"
        ) from None


def panel_ids(X: object, groups: object) -> np.ndarray | None:
    """The series id of every row: ``groups``, or the first level of a
    DataFrame's two-level (id, time) MultiIndex; checked."""
    index = getattr(X, "index", None)
    if groups is None and isinstance(index, pd.MultiIndex) and index.nlevels == 2:
        groups = index.get_level_values(0).to_numpy()
        times = index.get_level_values(1)
        if isinstance(times, pd.DatetimeIndex):
            frame = pd.DataFrame({"id": groups, "time": times})
            steps = frame.groupby("id", sort=False)["time"].diff().dropna()
            if (steps <= pd.Timedelta(0)).any():
                raise ValueError(
                    "X has an (id, time) MultiIndex whose times are not strictly "
                    "increasing within each id. Rows must be in time order within "
                    "each series: sort with X.sort_index() and remove duplicated "
                    "timestamps."
                )
    if groups is None:
        return None
    groups = np.asarray(groups)
    n_rows = len(X) if hasattr(X, "__len__") else np.asarray(X).shape[0]
    if groups.ndim != 1 or len(groups) != n_rows:
        raise ValueError(
            f"groups has shape {groups.shape}, but X has {n_rows} rows: pass one "
            "series id per row of X."
        )
    if groups.dtype.kind == "O":  # the only dtype whose ids may not sort
        # windows are gathered series by series, in sorted id order
        check_sortable(
            groups,
            "groups holds series ids",
            "pass ids of one type, numbers or strings (a missing id, None, is "
            "neither).",
        )
    missing = int(pd.isna(groups).sum()) if groups.dtype.kind in "fO" else 0
    if missing:
        raise ValueError(
            f"groups has {missing} missing series id(s) (NaN): "
            "every row needs the id of its series. Fill them, or drop those rows "
            "from X (and y)."
        )
    return groups


def _check_n_channels(estimator: object, n_channels: int, reset: bool) -> None:
    """``n_features_in_`` for 3-D and variable-length input: the channel count."""
    if reset:
        estimator.n_features_in_ = n_channels
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_channels != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_channels} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )


def _validate_ragged(estimator, X, y, reset, y_params):
    name = type(estimator).__name__
    sequences = []
    for i, item in enumerate(X):
        seq = check_array(
            item,
            dtype=FLOAT_DTYPES,
            ensure_2d=False,
            ensure_min_samples=0,  # an empty sequence gets its own message
            input_name=f"X[{i}]",
        )
        if seq.ndim == 1:
            seq = seq[:, None]
        if not len(seq):
            raise ValueError(
                f"X[{i}] is an empty sequence (0 time steps); every sequence "
                "needs at least one."
            )
        check_float32_range(seq, f"X[{i}]")
        sequences.append(seq)
    n_channels = {s.shape[1] for s in sequences}
    if len(n_channels) > 1:
        raise ValueError(
            f"The sequences in X have different numbers of features "
            f"{sorted(n_channels)}; every sequence must be (n_timesteps, "
            f"n_features) with the same n_features."
        )
    _check_n_channels(estimator, n_channels.pop(), reset)
    if y_params is not None:
        # check_X_y on a stand-in X of the right length validates y exactly as
        # it does for array input.
        _, y = check_X_y(np.zeros((len(sequences), 1)), y, **y_params)
    if reset and len(sequences) < 2:
        raise ValueError(f"X has 1 sample(s); {name} needs at least 2 to be fitted.")
    x, lengths = pad_ragged(sequences)
    return Layout(x, None, lengths), y


def validate_input(
    estimator,
    X,
    y=None,
    *,
    reset: bool,
    window_size: int | None,
    y_params: dict | None = None,
    groups: object = None,
) -> tuple[Layout, np.ndarray | None]:
    """Validate ``X`` (and ``y`` when given) for fit (``reset``) or predict.

    Parameters
    ----------
    estimator : skgru estimator
    X : array-like, DataFrame, or list of arrays
    y : array-like or None
        Validated together with ``X`` when ``y_params`` is given; ``None``
        then raises scikit-learn's "requires y" error.
    reset : bool
        True in ``fit``: records ``n_features_in_`` / ``feature_names_in_``.
    window_size : int or None
        Chooses the layout.
    y_params : dict or None
        ``check_X_y`` arguments for ``y`` (``multi_output``, ``y_numeric``);
        ``None`` when ``y`` is not validated (predict, unsupervised fit).
    groups : array-like of shape (n_rows,) or None
        Series layout: the series of each row (a two-level MultiIndex of a
        DataFrame gives them too).

    Returns
    -------
    layout : Layout
    y : ndarray or None
    """
    if y is not None and y_params is not None and y_params.get("y_numeric"):
        _check_numeric_targets(estimator, y)
    if isinstance(window_size, bool):
        raise ValueError(
            f"window_size={window_size} is a bool; pass an int (the number of "
            "rows in a window) or None."
        )
    if window_size is None and groups is not None:
        raise ValueError(
            "groups applies to series layout (window_size set), where it keeps "
            "each window inside one series. In sequence layout every sample is "
            "its own sequence: leave groups out."
        )
    if _is_ragged(X):
        if window_size is not None:
            raise ValueError(
                "X is a list of sequences of different lengths, which is "
                "sequence layout; set window_size=None, or pass one series as "
                "a 2-D array for series layout."
            )
        return _validate_ragged(estimator, X, y, reset, y_params)

    ndim = getattr(X, "ndim", None)
    if ndim is None:
        ndim = np.asarray(X, dtype=object).ndim
    _check_dimensions(X, ndim, window_size)
    if ndim == 3 and window_size is not None:
        raise ValueError(
            f"X is 3-D (n_samples, n_timesteps, n_features), which is sequence "
            f"layout, but window_size={window_size} asks for series layout, "
            f"whose X is one 2-D series (n_timesteps, n_features). Set "
            f"window_size=None or pass a 2-D series."
        )
    if window_size is not None:
        _check_time_index(X)
        groups = panel_ids(X, groups)

    fit_min = 2 if reset else 1
    if window_size is not None:
        fit_min = max(fit_min, window_size)
    check = dict(
        dtype=FLOAT_DTYPES,
        ensure_min_samples=fit_min if window_size is None else 1,
        allow_nd=ndim == 3,
        ensure_2d=ndim != 3,
    )
    if y_params is None:
        X = validate_numbers(
            lambda: validate_data(estimator, X, reset=reset, **check), X
        )
    else:
        X, y = validate_numbers(
            lambda: validate_data(estimator, X, y, reset=reset, **check, **y_params), X
        )
    check_float32_range(X, "X")
    if ndim == 3:
        _check_sequence_shape(X)
        _check_n_channels(estimator, X.shape[2], reset)

    if window_size is None:
        x = X if X.ndim == 3 else X[:, :, None]
        return Layout(x), y

    if len(X) < fit_min:
        raise ValueError(
            f"X has {len(X)} sample(s) (rows), but window_size={window_size} "
            f"needs a series of at least {fit_min} rows in series layout. Pass "
            f"a longer series (to predict the last rows, include the "
            f"{window_size - 1} rows before them), or lower window_size."
        )
    index = None if groups is None else GroupIndex(groups)
    return Layout(X, window_size, groups=index, series_ids=groups), y
