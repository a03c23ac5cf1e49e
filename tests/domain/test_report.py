from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from airwatch.domain import report
from airwatch.domain.report import DiagnosticFigures, diagnostic_figures


def _window(n: int = 400) -> tuple[pd.Series, np.ndarray, list[np.ndarray], list[pd.Series | None]]:
    rng = np.random.default_rng(3)
    dates = pd.Series(pd.date_range("2011-07-01", periods=n // 2, freq="D").repeat(2))
    observed = rng.gamma(2.0, 5.0, n)
    observed[5] = np.nan
    forecasts = [observed + rng.normal(0, s, n) for s in (1.0, 3.0, 6.0)]
    forecasts[1][:30] = np.nan  # a candidate with no forecast for some rows (a month less)
    importances: list[pd.Series | None] = [
        None,
        pd.Series(rng.random(25), index=[f"f{i}" for i in range(25)]),
        pd.Series(rng.random(8), index=[f"a much longer input name {i}" for i in range(8)]),
    ]
    return dates, observed, forecasts, importances


def test_candidates_drawn_on_shared_figures_are_the_pngs_of_new_figures() -> None:
    """The train stage draws every candidate of a window on one set of figures: what a candidate gets
    must not depend on which candidates were drawn before it (colour cycle, limits, labels, margins)."""
    dates, observed, forecasts, importances = _window()
    shared = DiagnosticFigures("pm25", dates, observed)
    drawn = [shared.render(f, imp) for f, imp in zip(forecasts, importances, strict=True)]
    alone = [diagnostic_figures("pm25", dates, f, observed, imp) for f, imp in zip(forecasts, importances, strict=True)]
    assert drawn == alone
    assert sorted(drawn[0]) == ["error_by_aqi_category.png", "error_by_month.png", "predicted_vs_actual.png"]
    assert "feature_importance.png" in drawn[1] and drawn[1] != drawn[2]
    sizes = {name: Image.open(io.BytesIO(data)).size for name, data in drawn[2].items()}
    assert sizes == {"predicted_vs_actual.png": (400, 400), "error_by_month.png": (480, 280),
                     "error_by_aqi_category.png": (560, 280), "feature_importance.png": (480, 480)}  # fmt: skip


def test_many_pairs_are_a_histogram_drawn_the_same_on_shared_figures(monkeypatch) -> None:
    # Above SCATTER_POINTS pairs (lowered here) forecast vs observed is a 2-D histogram, not a scatter.
    monkeypatch.setattr(report, "SCATTER_POINTS", 100)
    dates, observed, forecasts, importances = _window()
    shared = DiagnosticFigures("pm25", dates, observed)
    drawn = [shared.render(f, imp) for f, imp in zip(forecasts, importances, strict=True)]
    alone = [diagnostic_figures("pm25", dates, f, observed, imp) for f, imp in zip(forecasts, importances, strict=True)]
    assert drawn == alone
    (mesh,) = shared._axes["predicted_vs_actual.png"].collections
    assert type(mesh).__name__ == "QuadMesh" and np.nansum(mesh.get_array()) == np.sum(
        ~np.isnan(forecasts[2]) & ~np.isnan(observed)
    )
    monkeypatch.setattr(report, "SCATTER_POINTS", 20_000)
    scatter = diagnostic_figures("pm25", dates, forecasts[2], observed, importances[2])
    assert scatter["predicted_vs_actual.png"] != drawn[2]["predicted_vs_actual.png"]
    assert scatter["error_by_month.png"] == drawn[2]["error_by_month.png"]


def test_a_longer_label_gets_a_wider_margin_not_a_cut() -> None:
    dates, observed, forecasts, _ = _window()
    short = pd.Series([1.0, 2.0], index=["a", "b"])
    long = pd.Series([1.0, 2.0], index=["a", "an input with a long name that needs room"])
    shared = DiagnosticFigures("ozone", dates, observed)
    shared.render(forecasts[0], short)
    narrow = shared._axes["feature_importance.png"].get_position().x0
    shared.render(forecasts[0], long)
    wide = shared._axes["feature_importance.png"].get_position().x0
    assert 0.03 < narrow < wide < 0.6
