"""LightGBM, imported without its scikit-learn wrappers where the process asks for it (the command line).

`import lightgbm` imports its scikit-learn estimators (LGBMRegressor and the rest), and with them
scikit-learn and most of SciPy when they are installed, as MLflow installs them: about 1,000 modules, 1 s
of CPU and 50 MB of a national training's peak (docs/core.md, "The national run under 1.5 GB"), for
classes AirWatch never calls: it trains with `lightgbm.train` on Datasets of its own and reads models
back as Boosters.

The command line calls `lean()` before anything else; from then on `lightgbm()` imports LightGBM with
scikit-learn hidden from that one import (None in sys.modules: `import sklearn` raises ImportError, which
LightGBM takes as scikit-learn absent), and LightGBM's wrappers fall back to its own stand-ins.
scikit-learn itself stays importable afterwards. Elsewhere (tests, a deployment's flow runs, a notebook)
LightGBM is imported as usual, with its wrappers: a process that imports it before `lean()` or has
scikit-learn imported already gets the usual module too.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

_lean = False
_importing = threading.Lock()  # fits run in task threads: one of them imports, the others wait


def lean() -> None:
    """Import LightGBM without scikit-learn from now on in this process (unless either is imported already)."""
    global _lean
    _lean = True


def lightgbm() -> ModuleType:
    """The lightgbm module, imported on first use (without scikit-learn after `lean()`)."""
    if "lightgbm" in sys.modules or not _lean:
        return importlib.import_module("lightgbm")
    with _importing:
        if "lightgbm" in sys.modules or "sklearn" in sys.modules:
            return importlib.import_module("lightgbm")
        sys.modules["sklearn"] = None  # type: ignore[assignment]
        try:
            return importlib.import_module("lightgbm")
        finally:
            if "sklearn" in sys.modules and sys.modules["sklearn"] is None:
                del sys.modules["sklearn"]
