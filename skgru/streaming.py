"""Streaming inference: one new row at a time, at a cost independent of the stream.

``est.stream()`` returns a :class:`Stream`, which answers for each new row
what the estimator's ``predict`` (or ``predict_proba``, ``score_samples``,
...) gives for that row when called on the whole stream so far.

* **Series layout** (``window_size`` set): the stream keeps the last rows a
  window needs in a ring buffer and runs the network on that one window. The
  buffer starts filled with the first row, the padding ``predict`` uses for
  the first rows of a call, so the answers equal ``predict`` from the first
  row on.
* **Sequence layout** (``window_size=None``): the stream carries the GRU's
  hidden state from row to row, and the answer after ``t`` rows is the
  prediction for the sequence of those ``t`` rows. This needs a
  unidirectional network without per-window normalisation
  (``target_channel=None``).

A stream holds a reference to the fitted estimator, never a copy: any number
of streams (one per sensor) share one model. Pickling a stream pickles the
estimator with it; :meth:`Stream.get_state` and :meth:`Stream.set_state`
carry only the stream's own state.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real

import numpy as np
import pandas as pd
import torch

from ._threads import torch_threads
from ._windows import INFERENCE_ROW_MULTIPLE

__all__ = ["Stream"]

_STATE_KEYS = frozenset({"n_rows", "buffer", "hidden"})


class Stream:
    """Answers of a fitted estimator for a stream of rows, one row at a time.

    Made by the estimators' ``stream`` method; not constructed directly.

    Parameters
    ----------
    estimator : GRURegressor, GRUClassifier or GRUAnomalyDetector
        The fitted estimator (shared, not copied).
    method : str
        The estimator method whose answer :meth:`update` returns.

    Attributes
    ----------
    n_rows_ : int
        Rows seen since the stream started or was reset.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRURegressor
    >>> series = np.sin(np.arange(300) / 6)[:, None]
    >>> reg = GRURegressor(window_size=12, hidden_size=8, max_iter=5,
    ...                    random_state=0).fit(series[:-1], series[1:, 0])
    >>> stream = reg.stream()
    >>> answers = [stream.update(row) for row in series[:50]]
    >>> expected = reg.predict(series[:50])
    >>> bool(np.allclose(answers, expected, rtol=1e-6, atol=1e-6 * expected.std()))
    True
    """

    def __init__(self, estimator, method: str) -> None:
        self.estimator = estimator
        self.method = method
        est = estimator
        self._series = est._fitted_window is not None
        self._n_channels = len(est._input_stats[0])
        module = est.module_
        self._device = module.x_mean.device
        if self._series:
            self._rows = est._series_pad() + 1
        elif module.revin or module.gru.bidirectional or not module.plain:
            if module.revin:
                why = (
                    "target_channel or instance_norm normalises each whole "
                    "sequence by its own statistics"
                )
            elif module.gru.bidirectional:
                why = "a bidirectional GRU reads each sequence backwards too"
            elif hasattr(module, "members"):
                why = "it averages several networks (ensemble_size above 1)"
            else:
                why = (
                    "its output layer reads more than the GRU's last state "
                    "(pooling other than 'last', patch_size above 1 or "
                    "conv_filters)"
                )
            raise ValueError(
                f"stream() in sequence layout (window_size=None) carries the "
                f"GRU's state from row to row, which this {type(est).__name__} "
                f"cannot do: {why}. Stream a model fitted in series layout "
                "(window_size set) instead."
            )
        self.reset()

    def reset(self) -> Stream:
        """Forget every row seen: the next row starts a new stream.

        Returns
        -------
        self : Stream
            The emptied stream.
        """
        self.n_rows_ = 0
        # each row is written twice, at i and i + rows, so the window ending
        # at any position is one contiguous slice: no copy, no roll
        self._buffer = (
            np.zeros((2 * self._rows, self._n_channels), np.float32)
            if self._series
            else None
        )
        self._hidden = None
        self._recent = np.zeros(0)
        return self

    def _row(self, x) -> np.ndarray:
        """One row as float32, checked like ``predict`` checks ``X``."""
        est = self.estimator
        names = getattr(est, "feature_names_in_", None)
        if names is not None and isinstance(x, pd.Series):
            if list(x.index) != list(names):
                raise ValueError(
                    f"The row's labels {list(x.index)} differ from the feature "
                    f"names seen in fit, {list(names)}: pass the row with the "
                    "same names in the same order."
                )
        if isinstance(x, Real):
            x = [x]
        row = np.asarray(x)
        if row.dtype.kind not in "biuf":
            if isinstance(x, Mapping):  # numpy makes a dict one object
                order = "" if names is None else f" ({', '.join(map(str, names))})"
                raise TypeError(
                    "The row is a mapping, whose order is not the features': pass "
                    f"its values in the order of fit's columns{order}, e.g. as a "
                    "list, or as a pandas Series labelled with them."
                )
            raise TypeError(
                f"A row of numbers is needed, but the row has dtype {row.dtype}."
            )
        row = row.astype(np.float64).reshape(-1)
        if row.shape[0] != self._n_channels:
            raise ValueError(
                f"The row has {row.shape[0]} value(s), but "
                f"{type(est).__name__} is expecting {self._n_channels} features "
                "as input: pass one row of the series at a time."
            )
        if not np.isfinite(row).all():
            raise ValueError(
                "The row contains NaN or infinity; impute it before streaming."
            )
        if np.abs(row).max(initial=0) > np.finfo(np.float32).max:
            raise ValueError("The row has values beyond float32's range.")
        return row.astype(np.float32)

    def update(self, x):
        """Take one new row and return the estimator's answer for it.

        Parameters
        ----------
        x : array-like of shape (n_features,), or a number
            The next row of the stream (a pandas Series is checked against
            ``feature_names_in_``).

        Returns
        -------
        answer : float, label or ndarray
            What the stream's ``method`` gives for this row: a number or a
            label, or a 1-D array for multi-output regression and for
            probabilities.
        """
        row = self._row(x)
        est = self.estimator
        with torch.inference_mode(), torch_threads(est.n_threads, 1, est.hidden_size):
            if self._series:
                out = est._stream_outputs(self._window(row))
            else:
                out = self._step(row)
        outputs, self._recent = est._stream_rows(
            out.cpu().numpy(), self.n_rows_, self._recent
        )
        self.n_rows_ += 1
        answer = est._answer(self.method, outputs)[0]
        return answer.item() if np.ndim(answer) == 0 else answer

    def _window(self, row: np.ndarray) -> torch.Tensor:
        """The window ending at ``row`` (batch of INFERENCE_ROW_MULTIPLE copies,
        the shape ``predict`` gives a single window, so the numbers match)."""
        rows, buffer = self._rows, self._buffer
        if self.n_rows_ == 0:
            buffer[:] = row  # padding: the first row repeated, as in predict
        end = self.n_rows_ % rows
        buffer[end] = row
        buffer[end + rows] = row
        window = torch.from_numpy(buffer[end + 1 : end + 1 + rows])
        batch = window.expand(INFERENCE_ROW_MULTIPLE, -1, -1).contiguous()
        return batch.to(self._device)

    def _step(self, row: np.ndarray) -> torch.Tensor:
        """One GRU step from the carried hidden state (sequence layout)."""
        module = self.estimator.module_
        x = torch.from_numpy(row).to(self._device)[None, None, :]
        x = x.expand(INFERENCE_ROW_MULTIPLE, -1, -1)
        _, self._hidden = module.gru(module.standardize(x), self._hidden)
        return module.head(self._hidden[-1])

    def get_state(self) -> dict:
        """The stream's own state (not the model), for :meth:`set_state`.

        Returns
        -------
        state : dict
            Plain numpy arrays and numbers.
        """
        hidden = None if self._hidden is None else self._hidden.cpu().numpy().copy()
        buffer = None if self._buffer is None else self._buffer.copy()
        return {
            "n_rows": self.n_rows_,
            "buffer": buffer,
            "hidden": hidden,
            "recent": self._recent.copy(),
        }

    def set_state(self, state: dict) -> Stream:
        """Continue from a state taken with :meth:`get_state`.

        Parameters
        ----------
        state : dict
            From :meth:`get_state` of a stream of the same estimator.

        Returns
        -------
        self : Stream
            The stream, continuing where ``state`` left off.
        """
        if not isinstance(state, Mapping) or not _STATE_KEYS <= state.keys():
            got = (
                f"a dict with the keys {sorted(map(str, state))}"
                if isinstance(state, Mapping)
                else type(state).__name__
            )
            raise TypeError(
                f"state must be the dict that get_state() returns, with the keys "
                f"{sorted(_STATE_KEYS)}; got {got}."
            )
        buffer, hidden = state["buffer"], state["hidden"]
        expected = None if self._buffer is None else self._buffer.shape
        if (None if buffer is None else np.shape(buffer)) != expected:
            raise ValueError(
                "The state is not from a stream of this estimator: its buffer "
                "has another shape."
            )
        if hidden is not None and np.shape(hidden) != self._hidden_shape():
            raise ValueError(
                "The state is not from a stream of this estimator: its GRU "
                f"state has shape {np.shape(hidden)}, this estimator's "
                f"{self._hidden_shape()}."
            )
        self.n_rows_ = int(state["n_rows"])
        self._buffer = None if buffer is None else np.array(buffer, np.float32)
        self._hidden = None if hidden is None else torch.tensor(hidden).to(self._device)
        # a state taken before streams kept recent answers has none
        self._recent = np.array(state.get("recent", ()), np.float64)
        return self

    def _hidden_shape(self) -> tuple[int, ...] | None:
        """Shape of the GRU state a sequence-layout stream carries (None in
        series layout, which carries rows, not a state)."""
        if self._series:
            return None
        gru = self.estimator.module_.gru
        return (gru.num_layers, INFERENCE_ROW_MULTIPLE, gru.hidden_size)

    def __getstate__(self) -> dict:
        return {
            "estimator": self.estimator,
            "method": self.method,
            "state": self.get_state(),
        }

    def __setstate__(self, saved: dict) -> None:
        self.__init__(saved["estimator"], saved["method"])
        self.set_state(saved["state"])

    def __repr__(self) -> str:
        return (
            f"Stream({type(self.estimator).__name__}, method={self.method!r}, "
            f"n_rows_={self.n_rows_})"
        )
