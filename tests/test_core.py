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


def _ridge_columns(rng: np.random.Generator) -> list[np.ndarray]:
    columns = [rng.normal(size=5_001) for _ in range(4)]
    columns[1][rng.random(5_001) < 0.3] = np.nan  # a third missing, as inputs without weather are
    columns[3][:] = np.nan  # never present: imputed with 0
    return columns


def test_ridge_rows_give_numpys_medians_and_the_designs_sums() -> None:
    rng = np.random.default_rng(7)
    columns = _ridge_columns(rng)
    index = np.sort(rng.choice(5_001, size=3_000, replace=False))
    weights = rng.random(3_000)
    rows = core.RidgeRows(columns, index, weights)
    imputation = rows.imputation(threads=2)
    picked = [c[index] for c in columns]
    expected_fill = [float(np.median(v[~np.isnan(v)])) if (~np.isnan(v)).any() else 0.0 for v in picked]
    np.testing.assert_array_equal(imputation.fill, expected_fill)
    np.testing.assert_array_equal(imputation.flagged, [1, 3])
    design = np.column_stack([np.where(np.isnan(v), f, v) for v, f in zip(picked, expected_fill, strict=True)]
                             + [np.isnan(picked[1]), np.isnan(picked[3])]).astype(float)  # fmt: skip
    np.testing.assert_allclose(imputation.sums, design.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(imputation.weighted_sums, weights @ design, rtol=1e-12)
    mean = design.mean(axis=0)
    weighted_mean = (weights @ design) / weights.sum()
    z = np.full((1_500, 6), np.nan, order="F")
    squares = rows.block(imputation.fill, imputation.flagged, mean, weighted_mean, 1_000, z)
    part = design[1_000:2_500]
    np.testing.assert_allclose(z, (part - weighted_mean) * np.sqrt(weights[1_000:2_500])[:, None], rtol=1e-12,
                               atol=1e-15)  # fmt: skip
    np.testing.assert_allclose(squares, ((part - mean) ** 2).sum(axis=0), rtol=1e-12)


def test_ridge_rows_name_what_is_wrong() -> None:
    columns = _ridge_columns(np.random.default_rng(8))
    with pytest.raises(core.CoreError, match="index 5001 at position 1 is outside the columns"):
        core.RidgeRows(columns, np.array([0, 5_001])).imputation()
    with pytest.raises(core.CoreError, match="weight -1"):
        core.RidgeRows(columns, np.array([0, 1]), np.array([1.0, -1.0])).imputation()
    with pytest.raises(core.CoreError, match="length mismatch: 'column 2'"):
        core.RidgeRows([columns[0], columns[1], columns[2][:10]]).imputation()
    rows = core.RidgeRows(columns, np.array([0, 1]))
    imputation = rows.imputation()
    width = len(columns) + len(imputation.flagged)
    with pytest.raises(core.CoreError, match=r"rows 1\.\.3 outside 2 rows"):
        rows.block(
            imputation.fill, imputation.flagged, np.zeros(width), np.zeros(width), 1, np.empty((2, width), order="F")
        )
    with pytest.raises(core.CoreError, match="length mismatch: 'mean'"):
        rows.block(
            imputation.fill,
            imputation.flagged,
            np.zeros(width + 1),
            np.zeros(width),
            0,
            np.empty((2, width), order="F"),
        )
    with pytest.raises(core.CoreError, match="length mismatch: 'z's columns'"):
        rows.block(
            imputation.fill,
            imputation.flagged,
            np.zeros(width),
            np.zeros(width),
            0,
            np.empty((2, width + 1), order="F"),
        )
    with pytest.raises(TypeError):  # a row-major block is refused, not copied (the result would be lost)
        rows.block(imputation.fill, imputation.flagged, np.zeros(width), np.zeros(width), 0, np.empty((2, width)))
