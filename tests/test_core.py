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


def _booster(x: np.ndarray, y: np.ndarray, **params: object):  # type: ignore[no-untyped-def]
    import lightgbm as lgb

    base = {"objective": "regression", "num_leaves": 15, "min_child_samples": 20, "learning_rate": 0.1,
            "num_threads": 2, "verbose": -1, "deterministic": True, "seed": 1}  # fmt: skip
    data = lgb.Dataset(x, y, feature_name=[f"x{j}" for j in range(x.shape[1])])
    return lgb.train(base | params, data, num_boost_round=40)


def _rows(n: int, seed: int) -> np.ndarray:
    """Inputs with what LightGBM reads specially: NaN, exact zeros, values within 1e-35 of zero, -0.0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[rng.random(x.shape) < 0.15] = np.nan
    x[rng.random(x.shape) < 0.1] = 0.0
    x[rng.random(x.shape) < 0.02] = 1e-36
    x[rng.random(x.shape) < 0.02] = -0.0
    x[:, 5] = np.abs(x[:, 5])  # one input never missing in training: its splits send NaN where 0 goes
    return x


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"use_missing": False},
                                    {"objective": "quantile", "alpha": 0.9}])  # fmt: skip
def test_a_forest_predicts_what_lightgbm_predicts_to_the_bit(params: dict[str, object]) -> None:
    x = _rows(4000, 1)
    x[:, 5] = np.nan_to_num(x[:, 5])
    y = np.nan_to_num(x[:, 0]) * 2 + (x[:, 1] > 0) + np.where(np.isnan(x[:, 2]), 3.0, 0.0)
    booster = _booster(x, y, **params)
    forest = core.Forest.from_lightgbm(booster.model_to_string())
    assert forest.features == tuple(f"x{j}" for j in range(6))
    new = _rows(5000, 2)  # NaN now also in the input that had none in training
    expected = booster.predict(new)
    columns = [new[:, j] for j in range(6)]  # strided views: converted to contiguous columns
    for threads in (1, 2):
        np.testing.assert_array_equal(forest.predict(columns, threads=threads), expected)


def test_a_forest_of_trees_without_a_split_predicts_their_values() -> None:
    x = _rows(200, 3)
    booster = _booster(x, np.arange(200.0), min_child_samples=1000)  # too few rows to split: one leaf each
    assert "num_leaves=1" in booster.model_to_string()
    forest = core.Forest.from_lightgbm(booster.model_to_string())
    np.testing.assert_array_equal(forest.predict([x[:, j] for j in range(6)]), booster.predict(x))


def test_a_forest_refuses_models_it_would_not_predict_as_lightgbm_does() -> None:
    x = _rows(500, 4)
    y = (np.nan_to_num(x[:, 0]) > 0).astype(float)
    with pytest.raises(core.CoreError, match="objective 'binary"):
        core.Forest.from_lightgbm(_booster(x, y, objective="binary").model_to_string())
    forest = core.Forest.from_lightgbm(_booster(x, y).model_to_string())
    with pytest.raises(core.CoreError, match="5 columns for 6 features"):
        forest.predict([x[:, j] for j in range(5)])
    with pytest.raises(core.CoreError, match="length mismatch"):
        forest.predict([x[:, j] for j in range(5)] + [x[:10, 5]])
