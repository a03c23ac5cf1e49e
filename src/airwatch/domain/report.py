"""Diagnostic figures of a candidate's validation forecasts, as PNG files (logged to MLflow by the train stage)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

# Figures are built without pyplot: no global backend or figure registry to set at import or clean
# up later, and Figure.savefig renders PNG on its own.
from matplotlib.figure import Figure

from airwatch import core


def _axes(width: float, height: float) -> tuple[Figure, Any]:
    # 80 dots per inch: sharp enough in MLflow's viewer, and PNGs a third smaller and faster to make.
    fig = Figure(figsize=(width, height), dpi=80)
    return fig, fig.subplots()


def diagnostic_figures(
    pollutant: str,
    dates: pd.Series,
    predicted: np.ndarray,
    observed: np.ndarray,
    importance: pd.Series | None = None,
) -> dict[str, bytes]:
    """Predicted vs actual, RMSE by month and by observed AQI category, and feature importance: PNG files by name.

    Rendered here, by the pipeline, so that the tracking server is only asked to store files.
    """
    figures: dict[str, Figure] = {}
    ok = ~(np.isnan(predicted) | np.isnan(observed))
    p, o = predicted[ok], observed[ok]
    fig, ax = _axes(5, 5)
    ax.scatter(o, p, s=4, alpha=0.3)
    top = float(np.nanmax([o.max(initial=0), p.max(initial=0)]))
    ax.plot([0, top], [0, top], color="black", linewidth=1)
    ax.set_xlabel("observed")
    ax.set_ylabel("forecast")
    ax.set_title(f"{pollutant}: forecast vs observed (validation)")
    figures["predicted_vs_actual.png"] = fig

    frame = pd.DataFrame({"month": pd.to_datetime(dates[ok]).dt.month.to_numpy(), "err2": (p - o) ** 2})
    by_month = np.sqrt(frame.groupby("month")["err2"].mean())
    fig, ax = _axes(6, 3.5)
    ax.bar(by_month.index, by_month.to_numpy())
    ax.set_xlabel("month")
    ax.set_ylabel("RMSE")
    ax.set_title(f"{pollutant}: error by month")
    figures["error_by_month.png"] = fig

    names = core.category_names()
    categories = core.aqi_category(core.aqi(pollutant, o))
    frame = pd.DataFrame({"category": categories, "err2": (p - o) ** 2})
    by_cat = np.sqrt(frame.groupby("category")["err2"].mean())
    fig, ax = _axes(7, 3.5)
    ax.bar([names[c] if c >= 0 else "missing" for c in by_cat.index], by_cat.to_numpy())
    ax.set_ylabel("RMSE")
    ax.set_title(f"{pollutant}: error by observed AQI category")
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    figures["error_by_aqi_category.png"] = fig

    if importance is not None and len(importance):
        top_features = importance.sort_values().tail(20)
        fig, ax = _axes(6, 6)
        ax.barh(top_features.index, top_features.to_numpy())
        ax.set_title(f"{pollutant}: feature importance")
        fig.tight_layout()
        figures["feature_importance.png"] = fig
    return {name: _png(fig) for name, fig in figures.items()}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def feature_importance(candidate: object) -> pd.Series | None:
    """Importance of each input of a fitted learned candidate (gain for LightGBM, |coefficient| for ridge)."""
    members = getattr(candidate, "members_", None)
    if members:  # a blend: its LightGBM member's gains
        trees = [m for m in members if hasattr(getattr(m, "form_", None), "feature_importance")]
        return feature_importance(trees[0]) if trees else None
    form, features = getattr(candidate, "form_", None), getattr(candidate, "features", None)
    if form is None or features is None:
        return None
    if hasattr(form, "feature_importance"):  # a LightGBM Booster
        return pd.Series(form.feature_importance(importance_type="gain"), index=features)
    names = [*features, *(f"missing {features[i]}" for i in form.flagged)]  # a RidgeForm
    return pd.Series(np.abs(form.coef), index=names)
