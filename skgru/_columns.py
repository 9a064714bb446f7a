"""What the columns of a pandas input hold, for errors that name them.

Pure pandas: which columns of a DataFrame are not numbers (so that a failed
conversion names them rather than numpy's first bad value), and the columns
fit saw, for a column name that is not one of them (with the prefixed name a
``ColumnTransformer`` gives it).
"""

from __future__ import annotations

import pandas as pd


def non_numeric_columns(X: object) -> list[str]:
    """The columns of a DataFrame ``X`` that do not hold numbers, each as
    ``'name' (dtype)``: dates, durations, periods, and text or categories that
    pandas cannot read as numbers (an object column of numbers is fine)."""
    if not isinstance(X, pd.DataFrame):
        return []
    types = pd.api.types
    bad = []
    for name, column in X.items():
        dtype = column.dtype
        if types.is_bool_dtype(dtype) or types.is_numeric_dtype(dtype):
            continue
        if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
            bad.append(f"{name!r} ({dtype})")
            continue
        try:
            pd.to_numeric(column)
        except (TypeError, ValueError):
            bad.append(f"{name!r} ({dtype})")
    return bad


def validate_numbers(validate, X: object, name: str = "X"):
    """``validate()`` (scikit-learn's validation of ``X``); where it fails on
    a DataFrame with columns that are not numbers, a ValueError naming them
    instead of numpy's conversion message (only then: no cost otherwise)."""
    try:
        return validate()
    except (TypeError, ValueError) as error:
        bad = non_numeric_columns(X)
        if not bad:
            raise
        raise ValueError(
            f"{name} has column(s) that are not numbers: {', '.join(bad)}. "
            "skgru takes numbers only: encode such columns first (e.g. with "
            "OrdinalEncoder or OneHotEncoder in a ColumnTransformer before "
            "this step), or drop them."
        ) from error


def column_names_hint(names: list[str], channel: str) -> str:
    """The columns fit saw, for an error about ``channel`` not being one, and
    the prefixed name a ColumnTransformer gives it where there is one."""
    shown = f"{names[:10]}"[:-1] + (", ...]" if len(names) > 10 else "]")
    text = f"its columns are {shown}."
    prefixed = [name for name in names if name.endswith(f"__{channel}")]
    if prefixed:
        text += (
            f" Did you mean {prefixed[0]!r}? A ColumnTransformer (or FeatureUnion) "
            "before this step prefixes the names of the columns it passes on."
        )
    return text
