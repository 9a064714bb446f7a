"""The values a model file's metadata holds (skgru/_metadata.py): every type
round-trips through JSON text, and everything else is refused."""

import json

import numpy as np
import pytest
import torch

from skgru._metadata import decode, encode


def _round_trip(value):
    return decode(json.loads(json.dumps(encode(value, "value"))))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -3,
        2.5,
        "adaptive",
        [1, "a", None],
        (8, 5, 3),
        {"a": 1, 2: (0.5, 0.95), (1, 2): [3]},
        torch.device("cpu"),
    ],
    ids=repr,
)
def test_plain_and_tagged_values_round_trip(value):
    restored = _round_trip(value)
    assert restored == value
    assert type(restored) is type(value)


def test_numpy_scalars_become_python_numbers_and_bools():
    assert _round_trip(np.int64(7)) == 7
    assert type(_round_trip(np.int64(7))) is int
    assert type(_round_trip(np.float32(0.5))) is float
    assert _round_trip(np.True_) is True and _round_trip(np.False_) is False


@pytest.mark.parametrize(
    "array",
    [
        np.array([[True, False]]),
        np.arange(6, dtype=np.int16).reshape(3, 2),
        np.array([1, 2**40], dtype=np.uint64),
        np.array([[0.1, -2.5]], dtype=np.float32),
        np.array(["cat", "dog"]),
        np.array(["cat", "dog"], dtype=object),
        np.zeros((0, 3)),
    ],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_arrays_keep_their_dtype_shape_and_values(array):
    restored = _round_trip(array)
    assert restored.dtype == array.dtype
    assert restored.shape == array.shape
    np.testing.assert_array_equal(restored, array)


def test_a_random_state_continues_where_it_was():
    state = np.random.RandomState(3)
    state.normal()
    restored = _round_trip(state)
    assert restored.randint(1 << 30, size=5).tolist() == (
        state.randint(1 << 30, size=5).tolist()
    )


@pytest.mark.parametrize(
    "value, message",
    [
        (object(), "is a object"),
        (np.array([1 + 2j]), "is an array of dtype complex128"),
        (np.array([1, "a"], dtype=object), "is an array of dtype object"),
        ({1: {2, 3}}, "is a set"),
    ],
)
def test_what_json_cannot_hold_is_refused_with_where_it_is(value, message):
    with pytest.raises(TypeError, match=f"fitted attribute x_ {message}"):
        encode(value, "fitted attribute x_")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"__reduce__": ["os.system", "ls"]}, "unknown type tag '__reduce__'"),
        ({"__tuple__": [1], "__dict__": []}, "unexpected value"),
        ({"__tuple__": "ab"}, "expected a list"),
        ({"__dict__": [[1, 2, 3]]}, r"expected a \[key, value\] pair"),
        ({"__device__": 0}, "expected a string"),
        ({"__ndarray__": {"dtype": "<f8", "shape": [1]}}, "malformed array"),
        (
            {"__ndarray__": {"dtype": "|V8", "shape": [1], "data": [0]}},
            "dtype .* not allowed",
        ),
        (
            {"__ndarray__": {"dtype": "<f8", "shape": [1], "data": [[1.0]]}},
            "numbers or strings",
        ),
        (
            {"__ndarray__": {"dtype": "|O", "shape": [1], "data": [1]}},
            "strings only",
        ),
    ],
)
def test_anything_else_is_refused_when_read(data, message):
    with pytest.raises(ValueError, match=message):
        decode(data)
