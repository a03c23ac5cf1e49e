"""airwatch.core: the only importer of _core, its conversions and its error type."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import airwatch
from airwatch import core

PACKAGE = Path(airwatch.__file__).parent


def _imports_core(path: Path) -> bool:
    """Whether a module imports the bindings: airwatch._core, or _core from airwatch or relatively."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [f"{node.module or ''}.{a.name}" for a in node.names] + [node.module or ""]
        else:
            continue
        if any(n == "_core" or n.endswith("._core") or n.startswith("airwatch._core") for n in names):
            return True
    return False


def test_core_is_the_only_importer_of_the_bindings() -> None:
    importers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _imports_core(p))
    assert importers == ["core.py"]


def test_core_error_is_a_value_error_raised_for_bad_input() -> None:
    assert issubclass(core.CoreError, ValueError)
    with pytest.raises(core.CoreError, match="length mismatch"):
        core.error_summary([1.0, 2.0], [1.0])


def test_array_likes_are_converted_without_changing_values() -> None:
    s = core.error_summary(pd.Series([1, 2, 3]), [1.0, 2.0, np.nan])  # ints to float64
    assert (s.n, s.rmse) == (2, 0.0)
    grid = core.daily_grid(np.array([0, 0], dtype=np.int64), pd.Series([3.0, 4.0]), np.array([1, 2]))
    assert grid.site.dtype == np.int32 and list(grid.day) == [3, 4] and grid.value.dtype == np.float64
    sliced = np.arange(10.0)[::2]  # not contiguous
    assert core.aqi("pm25", sliced).shape == (5,)
    with pytest.raises(core.CoreError, match="day"):
        core.daily_grid([0], [np.nan], [1.0])
    with pytest.raises(TypeError, match="value"):
        core.daily_grid([0], [0], np.array(["2020-01-01"]))


def test_source_digest_is_that_of_the_cpp_sources() -> None:
    """The loaded core was compiled from the sources in this checkout (CMakeLists.txt's listing)."""
    root = PACKAGE.parents[1]
    if not (root / "cpp").is_dir():
        pytest.skip("installed without the C++ sources")
    paths = sorted(
        p.relative_to(root).as_posix()
        for d in ("cpp/src", "cpp/include", "cpp/bindings")
        for p in (root / d).rglob("*")
        if p.is_file() and p.suffix in (".cpp", ".hpp")
    )
    listing = "".join(f"{hashlib.sha256((root / p).read_bytes()).hexdigest()}  {p}\n" for p in paths)
    assert hashlib.sha256(listing.encode()).hexdigest() == core.SOURCE_DIGEST
