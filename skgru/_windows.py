"""Windows, batches and datasets: pure numpy and torch, no scikit-learn.

Series layout. A series of ``n`` rows is held once, as a float32 tensor that
shares memory with the caller's float32 array (a float64 series is converted
once). The window of row ``i`` is rows ``i - pad .. i - pad + window - 1``,
with row indices below 0 clamped to 0: the missing history of the first rows
is the call's first row repeated (edge padding), without a padded copy. A
batch of windows is copied out of a strided view of the series with one
``index_select`` (the few windows of the first rows by clamped row index), so
memory stays O(n * f) and nothing is materialised beyond the batch in hand.

* ``pad = window - 1``: the window of row ``t`` ends at ``t`` (regressor,
  classifier, reconstruction detector).
* ``pad = window``: the window of row ``t`` ends at ``t - 1`` (forecast detector,
  which predicts row ``t`` from the rows before it).

Sequence layout. Samples are whole sequences ``(n, T, f)``. Variable-length
sequences are zero-padded to the longest and carry their ``lengths``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ._memory import HeapTrimmer

# Inference batches are padded to a multiple of this many rows. Float32 GRU
# kernels on x86 CPUs take another code path for a remainder of rows, which
# changes the last bits of a row's output with the batch it happens to be in.
# Measured on this project's machines: unpadded single rows differ, while
# batches padded to a multiple of 4 (or 8, 16, ...) give every row the same
# output in any batch (tests/test_windows.py checks it), so predictions on a
# subset of rows equal those on the whole set. 4 keeps a single-window
# predict cheap (4 rows through the GRU, not 8).
INFERENCE_ROW_MULTIPLE = 4


def edge_pad(series: np.ndarray, pad: int) -> np.ndarray:
    """Prepend ``pad`` copies of the first row of a 2-D series."""
    if pad == 0:
        return series
    return np.concatenate([np.repeat(series[:1], pad, axis=0), series], axis=0)


def sliding_windows(padded: np.ndarray, window: int) -> np.ndarray:
    """Read-only view ``(n, window, f)`` of every window of an edge-padded series.

    Row ``i`` of the view is ``padded[i : i + window]``. No data is copied.
    """
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    return view.transpose(0, 2, 1)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """Contiguous float32 tensor sharing memory with ``array`` where possible.

    A read-only array (e.g. a memory map) is copied, so torch never holds a
    writable alias of memory the caller marked read-only.
    """
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array)


def pad_ragged(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad a list of ``(T_i, f)`` arrays to ``(n, max T_i, f)``."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    out = np.zeros(
        (len(sequences), lengths.max(), sequences[0].shape[1]), dtype=np.float32
    )
    for i, seq in enumerate(sequences):
        out[i, : len(seq)] = seq
    return out, lengths


class GroupIndex:
    """Where each row's series starts, so a window never crosses into another.

    Rows of several series (``groups``, one id per row) are in time order
    within each series, which may be interleaved. ``order`` lists the rows
    series by series (a stable sort), ``position`` is each row's place in
    ``order`` and ``first`` the place of its series' first row: the window of
    a row is ``order[max(position - pad + j, first)]``, its series' first row
    repeated before it, as the first rows of a call are padded.
    """

    def __init__(self, groups: np.ndarray) -> None:
        _, series = np.unique(groups, return_inverse=True)
        order = np.argsort(series.ravel(), kind="stable")
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        sorted_series = series.ravel()[order]
        starts = np.flatnonzero(np.r_[True, sorted_series[1:] != sorted_series[:-1]])
        first_of_series = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        lengths = np.diff(np.r_[starts, len(order)])
        self.contiguous = bool((order == np.arange(len(order))).all())
        self.order = torch.from_numpy(order)
        self.position = torch.from_numpy(position)
        self.first = torch.from_numpy(first_of_series[position])
        # each row's place in its series, and its series' length
        self.rank = (self.position - self.first).numpy()
        self.length = np.repeat(lengths, lengths)[position]

    def __len__(self) -> int:
        return len(self.order)


def latest_last(groups: GroupIndex, rows: np.ndarray) -> np.ndarray:
    """Positions of ``rows`` ordered by how near each is to the end of its
    series, as a share of the series' length, the latest last: the last
    ``k`` positions hold the last rows of every series, each series in
    proportion to its length."""
    rank, length = groups.rank[rows], groups.length[rows]
    share = (length - rank) / length  # 1 / length for a series' last row
    return np.lexsort((-rank, share))[::-1]


def complete_windows(n: int, pad: int, groups: GroupIndex | None) -> np.ndarray:
    """The rows of ``n`` (in series ``groups``) with no padding in their
    window: each series' rows from its ``pad``-th on, or all rows of a
    series no longer than ``pad``, so that every series keeps some."""
    if groups is None:
        return np.arange(pad if n > pad else 0, n)
    return np.flatnonzero((groups.rank >= pad) | (groups.length <= pad))


class WindowDataset(torch.utils.data.Dataset):
    """Samples of either layout, gathered a batch at a time.

    Parameters
    ----------
    x : tensor
        Series layout: the series ``(n, f)`` itself, never copied or padded.
        Sequence layout: ``(n, T, f)``.
    y : tensor, optional
        Targets indexed by sample, or (``y_window=True``) a second series
        whose window is the target.
    window : int, optional
        Window length; ``None`` for sequence layout.
    pad : int
        Series layout: the window of sample ``i`` is rows
        ``i - pad .. i - pad + window - 1``; rows before the first are the
        first row (edge padding, done by clamping the row index).
    lengths : tensor, optional
        Real length of each sequence (variable-length sequence layout).
    index : tensor, optional
        The samples this dataset holds (a split holds a subset); all when None.
    y_scaling : pair of tensors, optional
        ``(mean, scale)``: targets are standardised a batch at a time, so a
        long target (or, for the detector, the series itself) is not copied.
    groups : GroupIndex, optional
        Series layout with several series: each window stays in its row's
        series, padded with that series' first row.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        *,
        window: int | None = None,
        pad: int = 0,
        lengths: torch.Tensor | None = None,
        index: torch.Tensor | None = None,
        y_window: bool = False,
        y_scaling: tuple[torch.Tensor, torch.Tensor] | None = None,
        groups: GroupIndex | None = None,
    ) -> None:
        self.x = x
        self.groups = groups
        self.y = y
        self.window = window
        self.pad = pad
        self.lengths = lengths
        self.index = index
        self.y_window = y_window
        self.y_scaling = y_scaling
        if window is not None:
            self._offsets = torch.arange(window) - pad

    def __len__(self) -> int:
        return len(self.x) if self.index is None else len(self.index)

    def subset(self, positions: np.ndarray | torch.Tensor) -> WindowDataset:
        """The dataset restricted to the samples at ``positions``."""
        return WindowDataset(
            self.x,
            self.y,
            window=self.window,
            pad=self.pad,
            lengths=self.lengths,
            index=self._ids(torch.as_tensor(positions, dtype=torch.long)),
            y_window=self.y_window,
            y_scaling=self.y_scaling,
            groups=self.groups,
        )

    def _ids(self, positions: torch.Tensor) -> torch.Tensor:
        return positions if self.index is None else self.index[positions]

    def _take(self, source: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        if self.window is None:
            return source[ids]
        n, window = len(source), self.window
        groups = self.groups
        if groups is not None and not groups.contiguous:
            # interleaved series: every window gathered row by row
            ids = ids.long()
            steps = groups.position[ids, None] + self._offsets
            return source[groups.order[torch.maximum(steps, groups.first[ids, None])]]
        starts = ids.long() - self.pad
        # the first row each window may hold: its series' first row
        floor = torch.zeros_like(starts) if groups is None else groups.first[ids.long()]
        steps = self._offsets + self.pad
        if n < window:  # every window is edge-padded
            return source[torch.maximum(starts[:, None] + steps, floor[:, None])]
        # Whole windows are rows of a strided view of the series (no copy),
        # copied out by one index_select; only the windows of the first rows
        # (of the series, or of each series in it), which start before them,
        # are gathered row by row, clamped.
        step, width = source.stride()
        view = source.as_strided(
            (n - window + 1, window, source.shape[1]), (step, step, width)
        )
        out = view.index_select(0, starts.clamp(0, n - window))
        early = starts < floor
        if early.any():
            rows = torch.maximum(starts[early, None] + steps, floor[early, None])
            out[early] = source[rows]
        return out

    def inputs(self, positions: torch.Tensor) -> torch.Tensor | dict:
        """Model inputs of the samples at ``positions`` (one index operation)."""
        ids = self._ids(positions)
        xb = self._take(self.x, ids)
        if self.lengths is None:
            return xb
        return {"x": xb, "lengths": self.lengths[ids]}

    def targets(self, positions: torch.Tensor) -> torch.Tensor | None:
        """Targets of the samples at ``positions``."""
        if self.y is None:
            return None
        ids = self._ids(positions)
        yb = self._take(self.y, ids) if self.y_window else self.y[ids]
        if self.y_scaling is not None:
            mean, scale = self.y_scaling
            yb = (yb - mean) / scale
        # window or sequence targets (reconstruction) are flattened per sample
        return yb.flatten(1) if yb.ndim > 2 else yb

    def batch(self, positions: torch.Tensor) -> tuple:
        return self.inputs(positions), self.targets(positions)

    def __getitem__(self, i: int) -> tuple:
        xb, yb = self.batch(torch.tensor([i]))
        if isinstance(xb, dict):
            xb = {k: v[0] for k, v in xb.items()}
        else:
            xb = xb[0]
        return xb, (yb[0] if yb is not None else torch.zeros(()))


class BatchIterator:
    """Iterate over a :class:`WindowDataset` in batches gathered by index.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid``: no
    per-sample ``__getitem__``, no ``default_collate``. Shuffling draws from a
    private generator seeded with ``seed``, so the global torch RNG is untouched.
    """

    def __init__(
        self,
        dataset: WindowDataset,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        **_: object,
    ) -> None:
        self.dataset = dataset
        self.batch_size = len(dataset) if batch_size in (-1, None) else batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator[tuple]:
        n = len(self.dataset)
        # int32 order: half the memory of int64 on a long series
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, dtype=torch.int32)
        else:
            order = torch.arange(n, dtype=torch.int32)
        trimmer = HeapTrimmer()
        for start in range(0, n, self.batch_size):
            trimmer.step()
            yield self.dataset.batch(order[start : start + self.batch_size])


def inference_batches(n: int, batch_size: int) -> Iterator[tuple[torch.Tensor, int]]:
    """Yield ``(positions, n_real)`` covering ``range(n)`` in fixed-shape batches.

    Each batch holds ``batch_size`` positions (a multiple of
    :data:`INFERENCE_ROW_MULTIPLE`) except the last, which is padded up to the
    next multiple by repeating its last position; ``n_real`` says how many of
    the positions are real.
    """
    step = INFERENCE_ROW_MULTIPLE
    batch_size = max(step, batch_size // step * step)
    trimmer = HeapTrimmer()
    for start in range(0, n, batch_size):
        trimmer.step()
        stop = min(start + batch_size, n)
        real = stop - start
        size = -(-real // step) * step
        positions = torch.arange(start, start + size).clamp_(max=stop - 1)
        yield positions, real
