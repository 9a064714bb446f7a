"""Hand freed heap memory back to the operating system during long loops.

glibc's allocator raises its mmap threshold after a large block is freed, so
the per-batch tensors of a long training or inference loop (a few MB each, of
several sizes) end up on the heap, where fragmentation keeps freed pages
resident: predicting 5,000,000 windows grew the peak RSS by 820 MB for 20 MB of
output. ``malloc_trim(0)`` every few dozen batches returns the free pages and
brought that peak to 100 MB at no measurable cost. It changes no allocator
setting. Elsewhere than glibc it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# Batches between two trims: rare enough to cost nothing, and never within
# the first batches, so short calls never pay for it.
TRIM_EVERY_BATCHES = 16


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)  # absent in musl


_MALLOC_TRIM = _malloc_trim()


def trim_heap(batch_number: int) -> None:
    """Release freed heap pages after every ``TRIM_EVERY_BATCHES`` batches."""
    if _MALLOC_TRIM is not None and batch_number % TRIM_EVERY_BATCHES == (
        TRIM_EVERY_BATCHES - 1
    ):
        _MALLOC_TRIM(0)
