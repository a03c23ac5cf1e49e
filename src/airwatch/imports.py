"""Libraries imported without the optional integrations AirWatch never calls, in the command line's process.

Two libraries load a large optional integration merely because another package is installed:
- `import lightgbm` imports its scikit-learn estimators, and with them scikit-learn and most of SciPy
  (about 1,000 modules, 1 s of CPU, 50 MB of a national training's peak), for classes AirWatch never
  calls: it trains with `lightgbm.train`, and the core predicts the models it reads back (domain/gbm.py);
- `import mlflow` imports Polars when it is installed (23 MB resident, held through a national
  training's peak), to register a Polars dataset type AirWatch never logs. Polars is one of the
  benchmarks' peers (the `dev` extra), not a dependency of the package: a user's install has no Polars,
  and the command's footprint should not depend on what else the environment holds.

The command line calls `lean()` before anything else; from then on `without(...)` hides the named
packages from the one import it wraps (None in sys.modules: `import polars` raises ImportError, which
both libraries take as the package absent, behind their own guards), and they stay importable
afterwards. A package imported already is not hidden. Elsewhere (tests, a deployment's flow runs, a
notebook) the libraries are imported as usual, with their integrations.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

_lean = False
# Imports run in the flows' task threads too: one hiding at a time, and a nested one (an import inside
# an import) is not undone by the inner one's end.
_hiding = threading.RLock()


def lean() -> None:
    """Import the wrapped libraries without their optional integrations from now on in this process."""
    global _lean
    _lean = True


@contextlib.contextmanager
def without(*packages: str) -> Iterator[None]:
    """Within: the packages absent to an import, after `lean()`, unless imported already."""
    if not _lean:
        yield
        return
    with _hiding:
        hidden = [p for p in packages if p not in sys.modules]
        for p in hidden:
            sys.modules[p] = None  # type: ignore[assignment]
        try:
            yield
        finally:
            for p in hidden:
                if p in sys.modules and sys.modules[p] is None:
                    del sys.modules[p]
