"""Columns of pandas input named in errors (skgru/_columns.py)."""

import numpy as np
import pandas as pd
import pytest

from skgru._columns import column_names_hint, non_numeric_columns, validate_numbers


def test_columns_that_are_not_numbers_are_found_with_their_dtypes():
    n = 4
    frame = pd.DataFrame(
        {
            "temp": np.arange(n, dtype=float),
            "on": np.ones(n, dtype=bool),
            "count": pd.array(np.arange(n), dtype="Int64"),
            "count_obj": np.arange(n).astype(object),  # numbers: fine
            "level": pd.Categorical([1, 2, 1, 2]),  # categories of numbers: fine
            "site": pd.Categorical(["a", "b", "a", "b"]),
            "day": pd.date_range("2024-01-01", periods=n),
            "lag": pd.to_timedelta(np.arange(n), unit="D"),
            "month": pd.period_range("2024-01", periods=n, freq="M"),
            "note": np.array(["x", "y", "z", "w"], dtype=object),
        }
    )
    found = non_numeric_columns(frame)
    assert [f.split(" ")[0] for f in found] == [
        "'site'",
        "'day'",
        "'lag'",
        "'month'",
        "'note'",
    ]
    assert found[0] == "'site' (category)"
    assert non_numeric_columns(frame.to_numpy()) == []  # not a DataFrame


def test_a_failed_validation_names_the_columns_only_when_they_are_the_cause():
    frame = pd.DataFrame({"temp": [1.0, 2.0], "site": ["a", "b"]})

    def failing():
        raise ValueError("could not convert string to float: 'a'")

    with pytest.raises(ValueError, match=r"X_future has column\(s\) that are not"):
        validate_numbers(failing, frame, "X_future")
    numbers = pd.DataFrame({"temp": [1.0, np.nan]})
    with pytest.raises(ValueError, match="could not convert"):  # the original
        validate_numbers(failing, numbers)
    assert validate_numbers(lambda: 3, frame) == 3


def test_the_hint_lists_the_columns_and_a_prefixed_name():
    assert column_names_hint(["a", "b"], "c") == "its columns are ['a', 'b']."
    hint = column_names_hint(["num__temp", "num__load"], "temp")
    assert "Did you mean 'num__temp'?" in hint
    many = column_names_hint([f"c{i}" for i in range(12)], "x")
    assert many.startswith("its columns are ['c0',") and many.endswith("'c9', ...].")
