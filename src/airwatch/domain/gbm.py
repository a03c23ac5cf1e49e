"""LightGBM, imported without its scikit-learn wrappers where the process asks for it (the command line).

`import lightgbm` imports its scikit-learn estimators (LGBMRegressor and the rest), and with them
scikit-learn and most of SciPy when they are installed, as MLflow installs them: about 1,000 modules, 1 s
of CPU and 50 MB of a national training's peak (docs/core.md, "The national run under 1.5 GB"), for
classes AirWatch never calls: it trains with `lightgbm.train` on Datasets of its own, and the models it
reads back are predicted by the core (train.StoredTrees). After `airwatch.imports.lean()` (the command
line calls it first), `lightgbm()` imports LightGBM with scikit-learn hidden from that one import, and
LightGBM's wrappers fall back to its own stand-ins; elsewhere LightGBM is imported as usual
(airwatch/imports.py).

And LightGBM's calls that run on more than one thread, all made from one thread of their own
(`on_thread`). LightGBM's threads are OpenMP's (GCC's libgomp), which keeps a pool of threads for each
thread that has started a parallel region, for as long as that thread lives. Once its pools hold more
threads than the process has cores, libgomp has every team's threads stop spinning after 100 turns
and sleep at each of the barriers that end a parallel region: a national fit then ran on 1.5 of two
cores, a third slower. Fits, predictions and a model's text made from the flows' task threads (a
fit in one, the refit in the other, the scores and the model's text in the flow's own) gave the
process three pools; from one thread, there is one (docs/core.md, "LightGBM on one thread of its own").
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import ModuleType
from typing import Any, TypeVar

from airwatch import imports

T = TypeVar("T")

_calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_starting = threading.Lock()


def lightgbm() -> ModuleType:
    """The lightgbm module, imported on first use (without scikit-learn after `imports.lean()`)."""
    if "lightgbm" in sys.modules:
        return importlib.import_module("lightgbm")  # waits for another thread's import to end
    with imports.without("sklearn"):
        return importlib.import_module("lightgbm")


def on_thread(call: Callable[[], T]) -> T:
    """The result of call, made on the one thread that makes LightGBM's multi-threaded calls in this process.

    For every LightGBM call that may use more than one OpenMP thread (binning, training, predicting, a
    model's text, reading one back); a fit on one thread (num_threads 1, small inputs, fits side by side)
    starts no pool and runs where it is. The calls wait their turn: a process runs one such call at a
    time, each on every core. A call made on that thread runs at once.
    """
    global _thread
    if threading.current_thread() is _thread:
        return call()
    with _starting:
        if _thread is None:
            _thread = threading.Thread(target=_serve, args=(_calls,), name="lightgbm", daemon=True)
            _thread.start()
        future: Future[T] = Future()
        _calls.put((future, call))
    return future.result()


def _forget_the_thread() -> None:
    # A forked child (a process pool's worker) has the parent's queue and lock but not its threads.
    global _calls, _thread, _starting
    _calls, _thread, _starting = queue.SimpleQueue(), None, threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_the_thread)


def _serve(calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]]) -> None:
    _name_this_thread("lightgbm")
    while True:
        future, call = calls.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to the caller, which raises it
            future.set_exception(exc)
        del future, call  # not held until the next call arrives


def _name_this_thread(name: str) -> None:
    """The thread's name as the system shows it (top -H, py-spy), and of the threads it starts (OpenMP's)."""
    if sys.platform.startswith("linux"):
        import ctypes

        # No prctl in this C library: the name is only for people looking.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(15, name.encode()[:15])  # PR_SET_NAME
