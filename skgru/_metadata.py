"""The values a model file's metadata holds, as JSON.

:func:`encode` writes an estimator's parameters and fitted attributes as
JSON-ready data: numbers, strings and lists as themselves (numpy's scalars as
the Python numbers and bools they equal), and the few types JSON lacks
(tuples, dicts with any keys, torch devices, numpy random states, numpy arrays
of numbers or strings) as one-key dicts tagged with the type.
:func:`decode` reads that closed set back and refuses everything else, so a
model file can name no class and run no code.
"""

from __future__ import annotations

import numpy as np
import torch

_ARRAY_KINDS = "biuf"  # bool, signed and unsigned integers, floats


def encode(value, where: str):
    """``value`` as JSON-ready data; tagged dicts for what JSON lacks."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):  # numpy's scalars are written as Python's
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, where) for v in value]}
    if isinstance(value, dict):
        return {
            "__dict__": [[encode(k, where), encode(v, where)] for k, v in value.items()]
        }
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, np.random.RandomState):
        name, keys, pos, has_gauss, cached = value.get_state()
        return {"__random_state__": [name, keys.tolist(), pos, has_gauss, cached]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _ARRAY_KINDS + "U":
            data = value.ravel().tolist()
        elif value.dtype.kind == "O" and all(isinstance(v, str) for v in value.flat):
            data = value.ravel().tolist()
        else:
            raise TypeError(
                f"{where} is an array of dtype {value.dtype}, which the safe "
                "format cannot hold (numbers and strings only). Use pickle or "
                "joblib for this model, from a source you trust."
            )
        return {
            "__ndarray__": {
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "data": data,
            }
        }
    raise TypeError(
        f"{where} is a {type(value).__name__}, which the safe format cannot "
        "hold. Use pickle or joblib for this model, from a source you trust."
    )


def decode(value):
    """Inverse of :func:`encode`; anything else is refused."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"unexpected value {str(value)[:80]!r}")
    ((tag, content),) = value.items()
    if tag == "__tuple__":
        return tuple(decode(v) for v in _list(content))
    if tag == "__dict__":
        return {decode(k): decode(v) for k, v in map(_pair, _list(content))}
    if tag == "__device__":
        return torch.device(_string(content))
    if tag == "__random_state__":
        name, keys, pos, has_gauss, cached = _list(content)
        state = np.random.RandomState()
        state.set_state(
            (_string(name), np.array(keys, dtype=np.uint32), pos, has_gauss, cached)
        )
        return state
    if tag == "__ndarray__":
        return _decode_array(content)
    raise ValueError(f"unknown type tag {tag!r}")


def _list(value) -> list:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, found {str(value)[:80]!r}")
    return value


def _pair(value) -> list:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"expected a [key, value] pair, found {str(value)[:80]!r}")
    return value


def _string(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, found {str(value)[:80]!r}")
    return value


def _decode_array(content) -> np.ndarray:
    if not isinstance(content, dict) or set(content) != {"dtype", "shape", "data"}:
        raise ValueError("malformed array")
    dtype = np.dtype(_string(content["dtype"]))
    if dtype.kind not in _ARRAY_KINDS + "UO":
        raise ValueError(f"array dtype {dtype} is not allowed")
    data = _list(content["data"])
    if not all(isinstance(v, bool | int | float | str) for v in data):
        raise ValueError("array elements must be numbers or strings")
    if dtype.kind == "O" and not all(isinstance(v, str) for v in data):
        raise ValueError("object arrays may hold strings only")
    array = np.empty(len(data), dtype=dtype)
    array[:] = data
    return array.reshape([int(n) for n in _list(content["shape"])])
