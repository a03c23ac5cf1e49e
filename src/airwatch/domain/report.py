"""Diagnostic figures of a candidate's validation forecasts, as PNG files (logged to MLflow by the train stage)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from airwatch import core

# Fixed margins (fractions of the figure) instead of tight_layout, which draws the whole figure once
# more to measure it: with them a candidate's figures are the same bytes whether drawn on new figures or
# on figures another candidate was drawn on. The importance figure's left margin follows its labels.
_MARGINS = {
    "predicted_vs_actual.png": {"left": 0.14, "right": 0.96, "bottom": 0.11, "top": 0.93},
    "error_by_month.png": {"left": 0.11, "right": 0.97, "bottom": 0.16, "top": 0.90},
    "error_by_aqi_category.png": {"left": 0.10, "right": 0.97, "bottom": 0.30, "top": 0.90},
    "feature_importance.png": {"right": 0.96, "bottom": 0.08, "top": 0.94},
}
_SIZES = {
    "predicted_vs_actual.png": (5, 5),
    "error_by_month.png": (6, 3.5),
    "error_by_aqi_category.png": (7, 3.5),
    "feature_importance.png": (6, 6),
}
# One colour, not the next of the cycle each time data is drawn on the same axes.
_COLOR = "C0"
_DPI = 80  # sharp enough in MLflow's viewer, and PNGs a third smaller and faster to make
# Above this many pairs, forecast vs observed is drawn as a 2-D histogram (rows per cell, log shade): a
# scatter of a national window's 400,000 points is one blot, and drawing its markers was 38% of the
# figures' time, 0.12 s a candidate (docs/core.md).
SCATTER_POINTS = 20_000
_CELLS = 100  # the histogram's cells along each axis


class DiagnosticFigures:
    """The diagnostic figures of each candidate scored on one validation window, as PNG files.

    Predicted vs actual, RMSE by month and by observed AQI category, and feature importance. Rendered
    here, by the pipeline, so that the tracking server is only asked to store files. Much of a small
    matplotlib figure's time goes to making the figure, its axes and ticks and laying them out, not to
    the data: the figures are made once per window and each candidate only replaces the data drawn on
    them (docs/core.md, "Diagnostic figures").
    """

    def __init__(self, pollutant: str, dates: pd.Series, observed: np.ndarray) -> None:
        self._pollutant = pollutant
        self._months = pd.to_datetime(dates).dt.month.to_numpy()
        self._observed = np.asarray(observed, dtype=float)
        self._categories = core.aqi_category(core.aqi(pollutant, self._observed))
        self._axes: dict[str, Any] = {}

    def render(self, predicted: np.ndarray, importance: pd.Series | None = None) -> dict[str, bytes]:
        """One candidate's figures (its validation forecasts, its inputs' importance): PNG files by name."""
        pollutant, predicted = self._pollutant, np.asarray(predicted, dtype=float)
        ok = ~(np.isnan(predicted) | np.isnan(self._observed))
        p, o = predicted[ok], self._observed[ok]
        err2 = (p - o) ** 2
        files = {}

        ax = self._clear("predicted_vs_actual.png")
        top = float(max(o.max(initial=0), p.max(initial=0)))
        low = float(min(o.min(initial=0), p.min(initial=0)))
        pad = 0.05 * (top - low) or 1.0
        if len(o) <= SCATTER_POINTS:
            ax.scatter(o, p, s=4, alpha=0.3, color=_COLOR)
        else:
            from matplotlib.colors import LogNorm

            ax.hist2d(o, p, bins=_CELLS, range=[(low - pad, top + pad)] * 2, norm=LogNorm(), cmin=1, cmap="Blues")
        ax.plot([min(low, 0), top], [min(low, 0), top], color="black", linewidth=1)
        ax.set_xlim(low - pad, top + pad)
        ax.set_ylim(low - pad, top + pad)
        ax.set_xlabel("observed")
        ax.set_ylabel("forecast")
        ax.set_title(f"{pollutant}: forecast vs observed (validation)")
        files["predicted_vs_actual.png"] = self._png(ax)

        by_month = np.sqrt(pd.Series(err2).groupby(self._months[ok]).mean())
        ax = self._clear("error_by_month.png")
        ax.bar(by_month.index, by_month.to_numpy(), color=_COLOR)
        ax.set_xticks(range(1, 13))
        ax.set_xlim(0.5, 12.5)
        _rescale(ax)
        ax.set_xlabel("month")
        ax.set_ylabel("RMSE")
        ax.set_title(f"{pollutant}: error by month")
        files["error_by_month.png"] = self._png(ax)

        names = core.category_names()
        by_cat = np.sqrt(pd.Series(err2).groupby(self._categories[ok]).mean())
        ax = self._clear("error_by_aqi_category.png")
        at = np.arange(len(by_cat))
        ax.bar(at, by_cat.to_numpy(), color=_COLOR)
        ax.set_xticks(at, [names[c] if c >= 0 else "missing" for c in by_cat.index])
        _rescale(ax)
        ax.set_ylabel("RMSE")
        ax.set_title(f"{pollutant}: error by observed AQI category")
        ax.tick_params(axis="x", labelrotation=20)
        files["error_by_aqi_category.png"] = self._png(ax)

        if importance is not None and len(importance):
            top_features = importance.sort_values().tail(20)
            ax = self._clear("feature_importance.png")
            at = np.arange(len(top_features))
            ax.barh(at, top_features.to_numpy(), color=_COLOR)
            labels = [str(name) for name in top_features.index]
            ax.set_yticks(at, labels)
            _rescale(ax)
            ax.set_title(f"{pollutant}: feature importance")
            ax.figure.subplots_adjust(left=_label_margin(ax, labels))
            files["feature_importance.png"] = self._png(ax)
        return files

    def _clear(self, name: str) -> Any:
        """The axes of a figure, made on first use, without the data a previous candidate drew."""
        ax = self._axes.get(name)
        if ax is None:
            # Figures are built without pyplot: no global backend or figure registry to set or clean up
            # later, and Figure.savefig renders PNG on its own. Imported here, where a figure is made:
            # a command that draws none (a repeated run) does not import matplotlib (docs/core.md).
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=_SIZES[name], dpi=_DPI)
            FigureCanvasAgg(fig)  # a renderer to measure labels with (_label_margin)
            fig.subplots_adjust(**_MARGINS[name])
            ax = self._axes[name] = fig.subplots()
            return ax
        for container in list(ax.containers):
            container.remove()
        for artist in [*ax.collections, *ax.patches, *ax.lines]:
            artist.remove()
        return ax

    @staticmethod
    def _png(ax: Any) -> bytes:
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def _rescale(ax: Any) -> None:
    # The limits of the bars drawn now, not of every bar drawn on these axes before.
    ax.relim()
    ax.autoscale_view(scalex=ax.get_autoscalex_on(), scaley=ax.get_autoscaley_on())


def _label_margin(ax: Any, labels: list[str]) -> float:
    """The left margin that fits the longest tick label (measured by the renderer, not laid out)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    prop = ax.get_yticklabels()[0].get_fontproperties() if labels else None
    widest = max((renderer.get_text_width_height_descent(s, prop, ismath=False)[0] for s in labels), default=0.0)
    return min(0.6, (widest + 16) / (fig.get_figwidth() * fig.dpi))


def diagnostic_figures(
    pollutant: str,
    dates: pd.Series,
    predicted: np.ndarray,
    observed: np.ndarray,
    importance: pd.Series | None = None,
) -> dict[str, bytes]:
    """One candidate's diagnostic figures on new figures (DiagnosticFigures draws several on the same)."""
    return DiagnosticFigures(pollutant, dates, observed).render(predicted, importance)


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
