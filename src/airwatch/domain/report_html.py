"""The monitoring report as one self-contained HTML page (``airwatch report``, ``airwatch dashboard``).

Everything the page needs is inside it: plotly.js once, the US base map, the data of every chart. It
opens from a file with no network. Strings from the data are escaped wherever they land (HTML text,
attributes, plotly's hover labels, which read a subset of HTML), and the JSON in the page's scripts
cannot close its script element.

Size: plotly.js is most of the page (about 4.8 MB for plotly.py 7.1). The charts' data is bounded by
what is embedded, not by the store: every site on the map (newest issue only), the verified series of
at most ``MAX_SERIES_SITES`` sites per pollutant, and numbers rounded to what their units resolve.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from airwatch.domain.dashboard import Lineage, ReportData
from airwatch.domain.schemas import POLLUTANTS

# EPA's AQI category colours (Technical Assistance Document for the Reporting of Daily Air Quality).
AQI_COLORS: dict[str, str] = {
    "Good": "#00e400",
    "Moderate": "#ffff00",
    "Unhealthy for Sensitive Groups": "#ff7e00",
    "Unhealthy": "#ff0000",
    "Very Unhealthy": "#8f3f97",
    "Hazardous": "#7e0023",
}
MISSING_COLOR = "#9e9e9e"
# Sites in the forecast-vs-actual selector, per pollutant: the ones with the largest day+1 error.
# A hundred keeps that part of the page near 0.6 MB at 60 days; every site is still on the map and
# in the scores.
MAX_SERIES_SITES = 100
HORIZON_COLORS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#2ca02c"}
# Decimals kept per pollutant, finer than the monitors report (0.1 ug/m3, 0.001 ppm), so rounding
# never shows in a chart; coordinates to 3 decimals (about 100 m).
_DECIMALS = {"pm25": 1, "ozone": 4}
# The forecast-vs-actual data travels with the figures while sections are built, then goes to its own
# script variable (SERIES): it is not a figure.
_SERIES_KEY = "series-data"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
# A small template instead of plotly's default: that one is 6 KB of JSON repeated in every figure.
_TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#e5e5e5", "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": "#e5e5e5", "zeroline": False, "automargin": True},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "hovermode": "closest",
    }
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1d3557;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0}header ul{margin:8px 0 0;padding-left:20px}
nav{padding:8px 24px;background:#eef2f7;position:sticky;top:0;z-index:10}nav a{margin-right:14px}
main{padding:0 24px 40px}section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:18px 0;
padding:12px 16px}h2{font-size:18px;margin:4px 0 10px}h3{font-size:15px;margin:14px 0 6px}
.plot{width:100%}.empty{color:#666;font-style:italic}.hint{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flag td{background:#fff1e6}.scroll{max-height:420px;overflow:auto}label{margin-right:12px}
"""

# Switches the forecast-vs-actual chart to another site and horizon: the figure is plotly's, drawn
# once from Python's spec; only its traces' x and y change.
_SERIES_JS = """
function showSeries(){
  const div=document.getElementById('fig-series'); if(!div||!SERIES)return;
  const pick=document.getElementById('series-site').value, h=document.getElementById('series-horizon').value;
  const cut=pick.indexOf('|'), p=pick.slice(0,cut), site=pick.slice(cut+1);
  const block=SERIES[p], s=block.sites[site], f=s.h[h]||[[],[],[],[]], d=block.dates;
  const esc=t=>t.replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;');
  Plotly.update(div,{x:[d,d,d,d,d],y:[f[1],f[2],f[0],s.obs,f[3]]},
    {'title.text':block.label+' at site '+esc(site)+', day+'+h+' forecast with its 80% interval',
     'yaxis.title.text':block.units});
}
for(const id of ['series-site','series-horizon']){
  const el=document.getElementById(id); if(el)el.addEventListener('change',showSeries);
}
"""

_DRAW_JS = """
for(const [id,fig] of Object.entries(FIGURES)){
  Plotly.newPlot(id,fig.data,fig.layout,CONFIG).then(()=>{if(id==='fig-series')showSeries();})
    .catch(e=>console.error('plot '+id+': '+e));
}
"""


def render_report(data: ReportData) -> str:
    """The report page: header, map, forecast vs actual, scores, contingency, drift, lineage, runs, alerts."""
    figures: dict[str, dict[str, Any]] = {}
    sections = [
        _map_section(data.forecasts, figures),
        _series_section(data.pairs, data.forecasts, figures),
        _scores_section(data.scores_over_time, data.forecasts, figures),
        _contingency_section(data.contingency),
        _drift_section(data.drift),
        _lineage_section(data.lineage),
        _runs_section(data.runs),
        _alerts_section(data.alerts),
    ]
    series = figures.pop(_SERIES_KEY, None)
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"><h2>{_e(title)}</h2>\n{content}</section>' for sid, title, content in sections
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in data.notes)
    scripts = (
        f"<script>const CONFIG={_json(_PLOT_CONFIG)};const FIGURES={_json(figures)};"
        f"const SERIES={_json(series)};</script>\n<script>{_SERIES_JS}{_DRAW_JS}</script>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AirWatch report {_e(data.generated_utc)}</title>
<link rel="icon" href="data:,">
<style>{_CSS}</style>
<script>window.PlotlyGeoAssets={{topojson:{{usa_110m:{_usa_topojson()}}}}};</script>
<script>{_plotlyjs()}</script>
</head><body>
<header><h1>AirWatch monitoring report</h1>
<p>Generated {_e(data.generated_utc)} from the store <code>{_e(data.store)}</code></p>
{f"<ul class='notes'>{notes}</ul>" if notes else ""}</header>
<nav>{nav}</nav>
<main>
{body}
</main>
{scripts}
</body></html>
"""


# --- sections -------------------------------------------------------------------------------------


def _map_section(forecasts: pd.DataFrame, figures: dict[str, Any]) -> tuple[str, str, str]:
    title = "Forecast AQI by site"
    if forecasts.empty:
        return "map", title, _empty("No forecast issued yet: the map fills in after `airwatch run`.")
    frame = forecasts.sort_values(["pollutant", "horizon_days", "site_id"])
    traces: list[go.Scattergeo] = []
    views: list[tuple[str, str, list[int]]] = []  # (button label, title, trace indices)
    blocks = [(p, h, b) for p, one in _by_pollutant(frame) for h, b in one.groupby("horizon_days", sort=True)]
    for pollutant, horizon, block in blocks:
        label, units = _label(pollutant), _units(block)
        first = len(traces)
        for category, rows in _by_category(block):
            custom = list(
                zip(
                    (_e(s) for s in rows["site_id"].astype(str)),
                    _values(rows["forecast"], _decimals(pollutant)),
                    _values(rows["lower"], _decimals(pollutant)),
                    _values(rows["upper"], _decimals(pollutant)),
                    _values(rows["aqi"], 0),
                    _values(100 * rows["p_aqi_over_100"].astype(float), 0),
                    strict=True,
                )
            )
            traces.append(
                go.Scattergeo(
                    lat=_values(rows["latitude"], 3),
                    lon=_values(rows["longitude"], 3),
                    mode="markers",
                    name=_e(category),
                    marker={
                        "color": AQI_COLORS.get(category, MISSING_COLOR),
                        "size": 8,
                        "line": {"color": "#444", "width": 0.5},
                    },
                    customdata=custom,
                    hovertemplate=(
                        "site %{customdata[0]}<br>%{customdata[1]} " + _e(units) + " (80%: %{customdata[2]}"
                        "–%{customdata[3]})<br>AQI %{customdata[4]}, " + _e(category) + "<br>"
                        "P(AQI > 100) %{customdata[5]}%<extra></extra>"
                    ),
                    visible=not views,
                )
            )
        day = str(block["forecast_date"].iloc[0])
        issued = str(block["issue_date"].iloc[0])
        views.append(
            (
                f"{label} day+{horizon}",
                f"{label}: forecast AQI for {day} (day+{horizon}, issued {issued})",
                list(range(first, len(traces))),
            )
        )
    buttons = [
        {
            "label": _e(label),
            "method": "update",
            "args": [{"visible": [i in shown for i in range(len(traces))]}, {"title.text": _e(text)}],
        }
        for label, text, shown in views
    ]
    fig = go.Figure(traces)
    fig.update_layout(
        template=_TEMPLATE,
        height=560,
        title={"text": _e(views[0][1]), "y": 0.97},
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        legend={"title": {"text": "AQI category"}, "x": 1.0, "y": 0.5},
        geo={
            "scope": "usa",
            "projection": {"type": "albers usa"},
            "showland": True,
            "landcolor": "#f2f2f2",
            "showsubunits": True,
            "subunitcolor": "#b0b0b0",
            "showlakes": True,
            "lakecolor": "#dbe9f6",
            "showcoastlines": True,
            "coastlinecolor": "#909090",
        },
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "buttons": buttons,
                "showactive": True,
                "x": 0,
                "xanchor": "left",
                "y": 1.1,
                "yanchor": "top",
                "pad": {"r": 4, "t": 0},
            }
        ],
    )
    figures["fig-map"] = _spec(fig)
    sites = forecasts["site_id"].nunique()
    hint = (
        f"{sites:,} sites; the buttons pick the pollutant and the day ahead. Colours are EPA's AQI "
        "categories of the point forecast; hover for the 80% interval and the chance that the AQI exceeds 100."
    )
    return "map", title, f'<p class="hint">{_e(hint)}</p><div id="fig-map" class="plot"></div>'


def _series_section(pairs: pd.DataFrame, forecasts: pd.DataFrame, figures: dict[str, Any]) -> tuple[str, str, str]:
    title = "Forecast vs actual"
    if pairs.empty:
        return "series", title, _empty("Nothing verified yet: no published forecast has its day observed.")
    series: dict[str, Any] = {}
    options: list[str] = []
    total: list[str] = []
    for p, block in _by_pollutant(pairs):
        d = _decimals(p)
        block = block.assign(
            site_id=block["site_id"].astype(str),
            forecast_date=pd.to_datetime(block["forecast_date"]).dt.strftime("%Y-%m-%d"),
        )
        dates = sorted(block["forecast_date"].unique())
        position = {day: i for i, day in enumerate(dates)}
        chosen = _worst_sites(block, MAX_SERIES_SITES)
        total.append(f"{_label(p)}: {len(chosen)} of {block['site_id'].nunique():,} sites")
        sites: dict[str, Any] = {}
        rows = block[block["site_id"].isin(chosen)]
        for site, one in rows.groupby("site_id", sort=False):
            obs = one.drop_duplicates("forecast_date")
            entry: dict[str, Any] = {
                "obs": _aligned(obs["forecast_date"], obs["observed"], position, d),
                "h": {},
            }
            for horizon, h in one.groupby("horizon_days", sort=True):
                entry["h"][str(int(horizon))] = [
                    _aligned(h["forecast_date"], h[c], position, d)
                    for c in ("forecast", "lower", "upper", "persistence")
                ]
            sites[str(site)] = entry
        units = _units(forecasts[forecasts["pollutant"] == p]) if len(forecasts) else ""
        series[p] = {"label": _label(p), "units": units, "dates": dates, "sites": sites}
        for site, rmse in chosen.items():
            text = f"{_label(p)} · {site} (day+1 RMSE {rmse:.3g})" if rmse == rmse else f"{_label(p)} · {site}"
            options.append(f'<option value="{_e(p)}|{_e(site)}">{_e(text)}</option>')
    horizons = sorted(int(h) for h in pairs["horizon_days"].unique())
    figures[_SERIES_KEY] = series
    figures["fig-series"] = _spec(_series_figure())
    hint = (
        "The sites with the largest day+1 RMSE over the report's window, worst first ("
        + "; ".join(total)
        + "). The band is the published 80% interval; persistence is the baseline to beat."
    )
    controls = (
        f'<label>Site <select id="series-site">{"".join(options)}</select></label>'
        f'<label>Forecast <select id="series-horizon">'
        + "".join(f'<option value="{h}">day+{h}</option>' for h in horizons)
        + "</select></label>"
    )
    return "series", title, f'<p class="hint">{_e(hint)}</p>{controls}<div id="fig-series" class="plot"></div>'


def _series_figure() -> go.Figure:
    """The forecast-vs-actual chart, empty: the page's script puts the selected site's series in."""
    fig = go.Figure(
        [
            go.Scatter(name="80% lower", mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(
                name="80% interval", mode="lines", line={"width": 0}, fill="tonexty", fillcolor="rgba(31,119,180,0.18)"
            ),
            go.Scatter(name="forecast", mode="lines+markers", line={"color": "#1f77b4"}, marker={"size": 4}),
            go.Scatter(name="observed", mode="lines+markers", line={"color": "#111"}, marker={"size": 4}),
            go.Scatter(name="persistence", mode="lines", line={"color": "#999", "dash": "dot"}),
        ]
    )
    fig.update_layout(
        template=_TEMPLATE,
        height=420,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.15, "traceorder": "normal"},
    )
    return fig


def _scores_section(scores: pd.DataFrame, forecasts: pd.DataFrame, figures: dict[str, Any]) -> tuple[str, str, str]:
    title = "Verification scores over time"
    if scores.empty:
        return "scores", title, _empty("Nothing verified yet: scores appear once forecast days have been observed.")
    parts = []
    for p, block in _by_pollutant(scores):
        units = _units(forecasts[forecasts["pollutant"] == p]) if len(forecasts) else ""
        fig = make_subplots(
            rows=3,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.07,
            subplot_titles=(
                f"RMSE ({_e(units)})" if units else "RMSE",
                "skill vs persistence (%)",
                "80% interval coverage (%)",
            ),
        )
        block = block.assign(day=pd.to_datetime(block["forecast_date"]).dt.strftime("%Y-%m-%d")).sort_values("day")
        for horizon, h in block.groupby("horizon_days", sort=True):
            color = HORIZON_COLORS.get(int(horizon), "#555")
            verified = _values(h["verified"], 0)
            for row, (column, scale, digits) in enumerate(
                (("rmse", 1.0, _decimals(p) + 1), ("skill_vs_persistence", 100.0, 1), ("interval_coverage", 100.0, 1)),
                start=1,
            ):
                fig.add_trace(
                    go.Scatter(
                        x=list(h["day"]),
                        y=_values(h[column].astype(float) * scale, digits),
                        customdata=verified,
                        mode="lines+markers",
                        marker={"size": 4},
                        line={"color": color},
                        name=f"day+{int(horizon)}",
                        legendgroup=f"h{int(horizon)}",
                        showlegend=row == 1,
                        hovertemplate="%{y} (%{customdata} verified)",
                    ),
                    row=row,
                    col=1,
                )
        fig.add_hline(y=0, line={"color": "#888", "dash": "dash", "width": 1}, row=2, col=1)
        fig.add_hline(y=80, line={"color": "#888", "dash": "dash", "width": 1}, row=3, col=1)
        # One day's skill over a few sites can be -400%: the axis stops at -100% so that the days around
        # it stay readable (the value is in the hover text).
        fig.update_yaxes(autorangeoptions={"minallowed": -100}, row=2, col=1)
        fig.update_layout(
            template=_TEMPLATE,
            height=660,
            title={"text": f"{_label(p)}: each day's forecasts verified"},
            margin={"t": 90},
            hovermode="x unified",
            legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"},
        )
        fig_id = f"fig-scores-{_slug(p)}"
        figures[fig_id] = _spec(fig)
        parts.append(f'<div id="{fig_id}" class="plot"></div>')
    hint = (
        "Skill vs persistence: 1 − RMSE / RMSE of persistence (today's value for every day ahead); above 0 "
        "beats it. Coverage: the share of observations inside the 80% interval; 80 is calibrated."
    )
    return "scores", title, f'<p class="hint">{_e(hint)}</p>' + "".join(parts)


def _contingency_section(table: pd.DataFrame) -> tuple[str, str, str]:
    title = "Exceedances (AQI > 100)"
    if table.empty:
        return "contingency", title, _empty("Nothing verified yet: no contingency table.")
    frame = table.sort_values(["pollutant", "horizon_days"], key=_pollutant_order).assign(
        pollutant=lambda f: f["pollutant"].map(_label), horizon_days=lambda f: "day+" + f["horizon_days"].astype(str)
    )
    hint = (
        "Over the report's window. POD: hits / (hits + misses); FAR: false alarms / (hits + false alarms); "
        "CSI: hits / (hits + misses + false alarms). A dash: no case to divide by."
    )
    columns = [
        ("pollutant", "pollutant"),
        ("horizon_days", "forecast"),
        ("hits", "hits"),
        ("misses", "misses"),
        ("false_alarms", "false alarms"),
        ("correct_negatives", "correct negatives"),
        ("pod", "POD"),
        ("far", "FAR"),
        ("csi", "CSI"),
    ]
    return "contingency", title, f'<p class="hint">{_e(hint)}</p>' + _table(frame, columns)


def _drift_section(drift: pd.DataFrame) -> tuple[str, str, str]:
    title = "Drift"
    if drift.empty:
        return "drift", title, _empty("No drift table: not evaluated yet (the notes say why) or no monitor run.")
    frame = drift.assign(order=~drift["drifted"].fillna(False).astype(bool)).sort_values(
        ["order", "pollutant", "psi"], ascending=[True, True, False], key=_pollutant_order
    )
    frame = frame.assign(pollutant=frame["pollutant"].map(_label))
    columns = [
        ("pollutant", "pollutant"),
        ("feature", "feature"),
        ("psi", "PSI"),
        ("ks", "KS"),
        ("wasserstein", "Wasserstein"),
        ("drifted", "drifted"),
        ("evaluated", "evaluated"),
        ("reason", "reason"),
    ]
    hint = "The newest monitor run's features against the champion's training rows of the same season; drifted first."
    flags = frame["drifted"].fillna(False).astype(bool).tolist()
    return "drift", title, f'<p class="hint">{_e(hint)}</p><div class="scroll">{_table(frame, columns, flags)}</div>'


def _lineage_section(lineage: list[Lineage]) -> tuple[str, str, str]:
    title = "Champion lineage"
    if not lineage:
        return "lineage", title, _empty("No champion model yet.")
    parts = []
    fields = [
        ("model_name", "model"),
        ("model_version", "version"),
        ("model_id", "model id"),
        ("candidate", "candidate"),
        ("features_version", "features version"),
        ("observations_version", "observations version"),
        ("code_version", "code version"),
        ("refit_through", "refit through"),
    ]
    for item in sorted(lineage, key=lambda x: _RANK.get(x.pollutant, len(_RANK))):
        rows = "".join(
            f"<tr><th>{_e(label)}</th><td><code>{_e(getattr(item, name))}</code></td></tr>" for name, label in fields
        )
        parts.append(f"<h3>{_e(_label(item.pollutant))}</h3><table>{rows}</table>")
        if item.promotions:
            keys = list(dict.fromkeys(k for row in item.promotions for k in row))
            log = pd.DataFrame(item.promotions, columns=keys)
            parts.append(
                "<h3>Promotion log, newest first</h3>"
                f'<div class="scroll">{_table(log, [(k, k.replace("_", " ")) for k in keys])}</div>'
            )
        else:
            parts.append(_empty("No promotion recorded."))
    return "lineage", title, "".join(parts)


def _runs_section(runs: pd.DataFrame) -> tuple[str, str, str]:
    title = "Latest runs"
    if runs.empty:
        return "runs", title, _empty("No run recorded yet.")
    failed = runs["state"].astype(str).str.upper().isin(["FAILED", "CRASHED", "KILLED"]).tolist()
    columns = [
        ("flow", "run"),
        ("started_utc", "started (UTC)"),
        ("ended_utc", "ended (UTC)"),
        ("state", "state"),
        ("message", "message"),
    ]
    return "runs", title, f'<div class="scroll">{_table(runs, columns, failed)}</div>'


def _alerts_section(alerts: pd.DataFrame) -> tuple[str, str, str]:
    title = "Latest alerts"
    if alerts.empty:
        return "alerts", title, _empty("No alert sent.")
    frame = alerts.assign(evidence=alerts["evidence"].map(_plain_text))
    open_ = frame["state"].astype(str).str.lower().isin(["opened", "open", "renotified", "firing"]).tolist()
    columns = [
        ("at_utc", "at (UTC)"),
        ("kind", "kind"),
        ("severity", "severity"),
        ("state", "state"),
        ("text", "text"),
        ("evidence", "evidence"),
    ]
    return "alerts", title, f'<div class="scroll">{_table(frame, columns, open_)}</div>'


# --- helpers ----------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _empty(sentence: str) -> str:
    return f'<p class="empty">{_e(sentence)}</p>'


def _label(pollutant: str) -> str:
    spec = POLLUTANTS.get(pollutant)
    return spec.label if spec else pollutant


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def _decimals(pollutant: Any) -> int:
    return _DECIMALS.get(str(pollutant), 3)


def _units(frame: pd.DataFrame) -> str:
    if "units" not in frame or frame["units"].dropna().empty:
        return ""
    return str(frame["units"].dropna().iloc[0])


def _number(value: Any, digits: int) -> float | int | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    r = round(v, digits)
    return int(r) if digits == 0 else r


def _values(column: Iterable[Any], digits: int) -> list[float | int | None]:
    """Numbers rounded for the page's JSON (NaN as null): a fraction of the bytes of full floats."""
    return [_number(v, digits) for v in column]


def _aligned(days: pd.Series, values: pd.Series, position: dict[str, int], digits: int) -> list[float | None]:
    out: list[float | None] = [None] * len(position)
    for day, value in zip(days, values, strict=True):
        out[position[day]] = _number(value, digits)
    return out


def _worst_sites(pairs: pd.DataFrame, limit: int) -> dict[str, float]:
    """Up to `limit` sites by day+1 RMSE over the pairs, worst first (ties by site id)."""
    day1 = pairs[pairs["horizon_days"] == pairs["horizon_days"].min()]
    err = (day1["forecast"].astype(float) - day1["observed"].astype(float)) ** 2
    rmse = np.sqrt(err.groupby(day1["site_id"].astype(str)).mean())
    ranked = rmse.rename("rmse").reset_index().sort_values(["rmse", "site_id"], ascending=[False, True])
    top = ranked.head(limit)
    return dict(zip(top["site_id"].astype(str), top["rmse"].astype(float), strict=True))


_RANK = {p: i for i, p in enumerate(POLLUTANTS)}


def _pollutant_order(column: pd.Series) -> pd.Series:
    """A sort key that puts pollutants in the order of schemas.POLLUTANTS; other columns sort as they are."""
    return column.map(lambda p: (_RANK.get(p, len(_RANK)), p)) if column.name == "pollutant" else column


def _by_pollutant(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows by pollutant, in the order of schemas.POLLUTANTS (others after, by name)."""
    names = frame["pollutant"].astype(str)
    order = [p for p in POLLUTANTS if (names == p).any()] + sorted(set(names) - set(POLLUTANTS))
    return [(p, frame[names == p]) for p in order]


def _by_category(block: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows by AQI category in EPA's order (unknown names last), so the legend reads Good → Hazardous."""
    names = block["aqi_category"].fillna("Missing").astype(str)
    order = list(AQI_COLORS) + sorted(set(names) - set(AQI_COLORS))
    return [(c, block[names == c]) for c in order if (names == c).any()]


def _plain_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _cell(value: Any) -> tuple[str, bool]:
    """A table cell's text and whether it is a number (numbers align right, NaN shows as a dash)."""
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", True
    if isinstance(value, float | np.floating):
        v = float(value)
        return ("-" if not math.isfinite(v) else f"{v:.4g}"), True
    if value is None or value is pd.NA or value is pd.NaT:
        return "", False
    return _plain_text(value), False


def _table(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], flagged: Sequence[bool] | None = None) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for _, label in columns)
    body = []
    for i, record in enumerate(frame.reindex(columns=[c for c, _ in columns]).itertuples(index=False)):
        cells = []
        for value in record:
            text, numeric = _cell(value)
            cells.append(f'<td class="num">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>")
        flag = ' class="flag"' if flagged is not None and flagged[i] else ""
        body.append(f"<tr{flag}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _spec(fig: go.Figure) -> dict[str, Any]:
    spec = fig.to_plotly_json()
    return {"data": spec["data"], "layout": spec["layout"]}


def _json(value: Any) -> str:
    """Compact JSON that is safe inside a script element: no '<', '>' or '&' survives literally."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=_json_default)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _number(value, 6)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


@cache
def _plotlyjs() -> str:
    return get_plotlyjs()


@cache
def _usa_topojson() -> str:
    # plotly.js fetches a geo subplot's base map from its CDN unless window.PlotlyGeoAssets already
    # holds it under the name it would fetch (scope "usa", resolution 110 -> usa_110m).
    text = (resources.files("airwatch") / "reference" / "usa_110m.json").read_text(encoding="utf-8")
    return _json(json.loads(text))
