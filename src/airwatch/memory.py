"""Handing freed memory back to the system (glibc's malloc_trim), for the stages' large steps.

glibc's malloc keeps what a thread frees in that thread's arena for its next allocations instead of
returning it: after a large step in worker threads (parsing, LightGBM binning a national Dataset in
its OpenMP threads) the process holds hundreds of MB it no longer uses, and the next step's peak
stands on top of them. No effect where the C library has no malloc_trim (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any


def _libc_malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def trim() -> None:
    """Return the memory malloc holds free in every arena to the system."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def release() -> None:
    """trim, after Arrow's memory pool has handed back what it keeps free (when pyarrow is in use).

    A frame read from Parquet lives in Arrow's pool (pyarrow builds pandas' blocks there), and the pool
    keeps what is freed for its next Arrow allocations, which numpy's never are: a GB frame dropped
    would stay with the process.
    """
    if (arrow := sys.modules.get("pyarrow")) is not None:
        arrow.default_memory_pool().release_unused()
    trim()
