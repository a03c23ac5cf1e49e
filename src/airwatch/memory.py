"""Handing freed memory back to the system (glibc's malloc), for the stages' large steps; the collector's passes.

glibc's malloc keeps what a thread frees in that thread's arena for its next allocations instead of
returning it: after a large step in worker threads (parsing, LightGBM binning a national Dataset in
its OpenMP threads) the process holds hundreds of MB it no longer uses, and the next step's peak
stands on top of them. Two remedies: `trim` after such a step, and, from this module's import on (every
process that runs a stage imports it: the command, a deployment's flow run, a Dask worker), blocks of
4 MB and more each in a mapping of its own, handed back when freed (`map_large_blocks`). No effect where
the C library is not glibc (musl, macOS).

And the garbage collector's passes kept off what lives as long as the process: paused through a
command's imports, then what is alive collected once and frozen before its flow and at each stage's
start (`pause_collection`, `freeze_live_objects`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from typing import Any

# mallopt's parameter for the size from which malloc maps a block of its own (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 4 << 20


def _libc(name: str) -> Any:
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


_malloc_trim, _mallopt = _libc("malloc_trim"), _libc("mallopt")


def map_large_blocks(size: int = LARGE_BLOCK) -> bool:
    """Have malloc give every block of `size` bytes or more a mapping of its own; whether it could.

    glibc does so from 128 KB, but each time such a block is freed it raises that size to the block's
    (up to 32 MB), so numpy's arrays of a few MB (a national column's rows, LightGBM's sampled inputs)
    then come from the arenas, where what they free stays with the process and the next step's peak
    stands on it: a national training's resident size crept by 0.3-0.5 GB over its three refit horizons.
    Set explicitly, the size stays fixed. 4 MB: the national run's peak as low as with 1 MB, and fewer
    fresh mappings to fault in (transform 1 s slower at 1 MB; docs/core.md).
    """
    return _mallopt is not None and bool(_mallopt(M_MMAP_THRESHOLD, size))


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


_paused = False


def pause_collection() -> None:
    """No collector passes until freeze_live_objects: for a command's imports, before its flow runs.

    Importing Prefect, MLflow and pandas makes about 260,000 objects that live as long as the process,
    and the collector walks all of them each time they have grown by a quarter: five passes, 0.7 s, in
    every command that runs a flow (docs/core.md). What the imports leave as garbage waits for the
    collection of freeze_live_objects, which the command calls before its flow runs.
    """
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """End pause_collection's pause without a freeze (a command that stopped before its flow ran)."""
    global _paused
    if _paused:
        gc.enable()
        _paused = False


def freeze_live_objects() -> None:
    """Collect cyclic garbage, then leave every object alive now out of the collector's later passes.

    A full pass walks every object the collector tracks, and most of a stage's are its imports' (150-300
    ms a pass), which live as long as the process: frozen (`gc.freeze`), they are never walked again,
    and the stage's own objects are collected as before (a test worker spent 9-11 s in such passes).
    The cost: an object alive now that later becomes garbage only through a reference cycle is never
    freed, so this is called where what is alive is the process's own (a command's flow about to run, a
    stage's start), after the collection that frees what is garbage already. Ends pause_collection's pause.
    """
    gc.collect()
    gc.freeze()
    resume_collection()


map_large_blocks()
