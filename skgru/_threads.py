"""How many torch threads skgru's own work runs on, and giving them back.

torch's intra-op thread count is one setting for the whole process. skgru
changes it around its own loops (``n_threads``) and restores the caller's
count afterwards, also when several fits run at once in threads of one
process (joblib's threading backend, Dask's threaded scheduler): the first
loop in records the caller's count, the last one out restores it, so
concurrent loops can never leave one of their temporary settings behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

# n_threads="auto": one torch thread for steps smaller than this many
# (batch rows x hidden units); the caller's thread count for larger ones. On a
# 2-core machine, one thread was as fast or faster below it and a second
# thread gained 7-20% above it (benchmarks/RESULTS.md).
THREADS_AUTO_MIN_WORK = 4096

_lock = threading.Lock()
_active = 0  # skgru loops running in this process
_caller = 0  # the thread count before the first of them started


def wanted_threads(n_threads: int | str, batch_rows: int, hidden_size: int) -> int:
    """The thread count for steps of ``batch_rows`` x ``hidden_size`` units."""
    if n_threads != "auto":
        return int(n_threads)
    if batch_rows * hidden_size < THREADS_AUTO_MIN_WORK:
        return 1
    return _caller if _active else torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n_threads: int | str, batch_rows: int, hidden_size: int) -> Iterator:
    """Run the block on ``wanted_threads(...)`` torch threads, then restore."""
    global _active, _caller
    with _lock:
        if not _active:
            _caller = torch.get_num_threads()
        wanted = wanted_threads(n_threads, batch_rows, hidden_size)
        _active += 1
        if wanted != torch.get_num_threads():
            torch.set_num_threads(wanted)
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if not _active and torch.get_num_threads() != _caller:
                torch.set_num_threads(_caller)
