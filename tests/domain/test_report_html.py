"""The report page (domain/report_html.py), checked as text: no browser here (tests/e2e opens it in one).

The data is GENERATED (tests/fakes/report_data.py), random numbers shaped like collect_report's output.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from airwatch.domain.dashboard import (
    ALERT_COLUMNS,
    CONTINGENCY_COLUMNS,
    DRIFT_COLUMNS,
    FORECAST_COLUMNS,
    PAIR_COLUMNS,
    RUN_COLUMNS,
    SCORE_COLUMNS,
    ReportData,
)
from airwatch.domain.report_html import AQI_COLORS, MAX_SERIES_SITES, render_report
from tests.fakes.report_data import generated_report

PLOTLY_JS = get_plotlyjs()
SECTIONS = ("map", "series", "scores", "contingency", "drift", "lineage", "runs", "alerts")
# plotly.js alone is about 4.8 MB (plotly.py 7.1); what the page adds must stay well under it. At
# 1,500 sites it is about 1.5 MB: the map (every site, each pollutant and day ahead) about 0.5 MB, the
# forecast-vs-actual series of 100 sites per pollutant about 0.9 MB, the rest small. The bounds leave
# room for longer names and a third pollutant, and fail if the page starts to grow with the data.
MAX_PAGE_BYTES = 7_000_000
MAX_DATA_BYTES = 2_000_000


def script_value(page: str, name: str) -> Any:
    found = re.search(rf"const {name}=(.*?);(?:const |</script>)", page)
    assert found, name
    return json.loads(found.group(1))


def without_plotly(page: str) -> str:
    assert page.count(PLOTLY_JS) == 1
    return page.replace(PLOTLY_JS, "")


class Fetches(HTMLParser):
    """Every attribute that would make the browser load something, and the scripts' text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "data", "poster", "srcset", "action") and value is not None:
                self.urls.append((tag, name, value))


@pytest.fixture(scope="module")
def small() -> ReportData:
    return generated_report(sites=40)


@pytest.fixture(scope="module")
def page(small: ReportData) -> str:
    return render_report(small)


def test_every_section_with_its_figures(page: str, small: ReportData) -> None:
    for section in SECTIONS:
        assert f'<section id="{section}">' in page and f'href="#{section}"' in page
    figures = script_value(page, "FIGURES")
    assert set(figures) == {"fig-map", "fig-series", "fig-scores-pm25", "fig-scores-ozone"}
    for fig_id in figures:
        assert f'<div id="{fig_id}" class="plot">' in page
    geo = figures["fig-map"]
    assert {t["type"] for t in geo["data"]} == {"scattergeo"} and geo["layout"]["geo"]["scope"] == "usa"
    assert {t["marker"]["color"] for t in geo["data"]} <= set(AQI_COLORS.values()) | {"#9e9e9e"}
    assert "Generated 2024-07-01 06:30 UTC" in page and "file:///generated/store" in page
    assert "generated data for tests, not measurements" in page
    # Lineage: the champion's version and id, the data and code versions, the promotion log.
    for text in ("m-0123456789abcdef", "20240630T0600Z-abc", "20240630T0500Z", "git:1234567", "beats champion"):
        assert text in page
    assert page.count("<h3>Promotion log, newest first</h3>") == 2


def test_map_buttons_show_each_pollutant_and_day_with_every_site(page: str) -> None:
    fig = script_value(page, "FIGURES")["fig-map"]
    traces = fig["data"]
    (menu,) = fig["layout"]["updatemenus"]
    labels = [b["label"] for b in menu["buttons"]]
    assert labels == [f"{p} day+{h}" for p in ("PM2.5", "Ozone") for h in (1, 2, 3)]
    for button in menu["buttons"]:
        shown = [t for t, visible in zip(traces, button["args"][0]["visible"], strict=True) if visible]
        assert sum(len(t["lat"]) for t in shown) == 40  # every site once, coloured by its category
        assert len({t["name"] for t in shown}) == len(shown)
    first = [t.get("visible", True) for t in traces]
    assert first == menu["buttons"][0]["args"][0]["visible"]


def test_plotly_is_inlined_once_and_nothing_is_fetched(page: str) -> None:
    rest = without_plotly(page)
    assert "cdn.plot.ly" not in rest and "http://" not in rest and "https://" not in rest
    parser = Fetches()
    parser.feed(page)
    # In-page anchors and the empty data: favicon (which stops the browser asking the server for one).
    assert {u for _, _, u in parser.urls} == {f"#{s}" for s in SECTIONS} | {"data:,"}
    # The base map is in the page, under the name plotly.js would fetch for scope usa at 1:110m.
    assert "window.PlotlyGeoAssets={topojson:{usa_110m:{" in rest


def test_strings_from_the_data_are_escaped() -> None:
    data = generated_report(sites=5)
    evil = '<script>alert("x")</script>'
    forecasts = data.forecasts.assign(
        site_id=data.forecasts["site_id"].where(data.forecasts["site_id"] != "000000000", evil)
    )
    pairs = data.pairs.assign(site_id=data.pairs["site_id"].where(data.pairs["site_id"] != "000000000", evil))
    alerts = data.alerts.assign(text='<img src=x onerror="alert(1)">', evidence=[{"note": "</script>"}])
    lineage = [
        type(x)(**{**x.__dict__, "model_id": "<b>m-1</b>", "promotions": [{"reason": "<i>better</i> & cheaper"}]})
        for x in data.lineage
    ]
    hostile = ReportData(
        **{**data.__dict__, "forecasts": forecasts, "pairs": pairs, "alerts": alerts, "lineage": lineage,
           "notes": ["<u>note</u>"], "store": "s3://bucket/<x>"},
    )  # fmt: skip
    rest = without_plotly(render_report(hostile))
    for raw in (evil, "<img src=x", "<b>m-1</b>", "<i>better</i>", "<u>note</u>", '</script>"', "<x>"):
        assert raw not in rest
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in rest and "&lt;b&gt;m-1&lt;/b&gt;" in rest
    assert "&lt;i&gt;better&lt;/i&gt; &amp; cheaper" in rest and "&lt;u&gt;note&lt;/u&gt;" in rest
    # Inside the scripts' JSON, '<' is written \\u003c, so no string can end the script element; plotly
    # shows hover labels as HTML, so the site ids in them are entity-escaped as well.
    assert rest.count("</script>") == rest.count("<script>") + rest.count("<script ")
    figures = script_value(rest, "FIGURES")
    hover_sites = {c[0] for t in figures["fig-map"]["data"] for c in t["customdata"]}
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hover_sites
    assert evil in script_value(rest, "SERIES")["pm25"]["sites"]  # a data key, set only as a chart's y values
    assert f'value="pm25|{evil}"' not in rest and 'value="pm25|&lt;script&gt;' in rest


def test_empty_frames_say_so_instead_of_drawing_empty_charts() -> None:
    def empty(columns: tuple[str, ...]) -> pd.DataFrame:
        return pd.DataFrame(columns=list(columns))

    data = ReportData(
        generated_utc="2024-07-01 06:30 UTC",
        store="file:///empty",
        forecasts=empty(FORECAST_COLUMNS),
        pairs=empty(PAIR_COLUMNS),
        scores_over_time=empty(SCORE_COLUMNS),
        contingency=empty(CONTINGENCY_COLUMNS),
        drift=empty(DRIFT_COLUMNS),
        lineage=[],
        runs=empty(RUN_COLUMNS),
        alerts=empty(ALERT_COLUMNS),
        notes=["pm25: not monitored yet (airwatch monitor)"],
    )
    page = render_report(data)
    assert script_value(page, "FIGURES") == {} and script_value(page, "SERIES") is None
    assert 'class="plot"' not in page
    for sentence in ("No forecast issued yet", "Nothing verified yet: no published forecast has its day observed",
                     "Nothing verified yet: scores appear", "Nothing verified yet: no contingency table",
                     "No drift table: not evaluated yet", "No champion model yet", "No run recorded yet",
                     "No alert sent", "pm25: not monitored yet"):  # fmt: skip
        assert sentence in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page


def test_a_1500_site_report_stays_small() -> None:
    """1,500 GENERATED sites × 3 days ahead × 2 pollutants, with 60 days of verified pairs (540,000)."""
    data = generated_report(sites=1500, days=60)
    assert len(data.forecasts) == 9000 and len(data.pairs) == 540_000
    page = render_report(data)
    size = len(page.encode())
    data_bytes = len(without_plotly(page).encode())
    assert size < MAX_PAGE_BYTES, f"{size:,} bytes"
    assert data_bytes < MAX_DATA_BYTES, f"{data_bytes:,} bytes besides plotly.js"
    series = script_value(page, "SERIES")
    assert {p: len(s["sites"]) for p, s in series.items()} == {"pm25": MAX_SERIES_SITES, "ozone": MAX_SERIES_SITES}
    assert all(len(s["dates"]) == 60 for s in series.values())
    fig = script_value(page, "FIGURES")["fig-map"]
    assert sum(len(t["lat"]) for t in fig["data"]) == 9000  # the map still has every site
    # Numbers are rounded to what their units resolve: no long float tails in the charts' data.
    traces = [t for f in script_value(page, "FIGURES").values() for t in f["data"]]
    assert not re.search(r"\d\.\d{6,}", json.dumps([traces, series]))


def test_series_sites_are_the_worst_by_day1_rmse() -> None:
    data = generated_report(sites=120, days=20)
    series = script_value(render_report(data), "SERIES")["pm25"]
    day1 = data.pairs[(data.pairs["pollutant"] == "pm25") & (data.pairs["horizon_days"] == 1)]
    rmse = ((day1["forecast"] - day1["observed"]) ** 2).groupby(day1["site_id"]).mean() ** 0.5
    assert set(series["sites"]) == set(rmse.sort_values(ascending=False).index[:MAX_SERIES_SITES])
    site = next(iter(series["sites"].values()))
    assert sorted(site["h"]) == ["1", "2", "3"] and all(len(v) == 20 for v in site["h"]["1"])
