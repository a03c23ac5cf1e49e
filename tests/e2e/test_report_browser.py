"""The report and the dashboard in a real browser: Debian's headless Chromium, driven by Selenium.

What a reader sees is checked in the page itself: every plotly figure drawn (its SVG), the map with its
US base map and one marker per site, the buttons and the site selector working, no network request,
and no console error. Screenshots go to build/test-artifacts/.

Two sources of data: GENERATED (tests/fakes/report_data.py) for the page at 60 and at 1,500 sites,
and a real store (the bundled sample: `airwatch run`, then a replayed month) for `airwatch report`
and `airwatch dashboard` themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airwatch.cli import app
from airwatch.domain.report_html import render_report
from airwatch.io.dashboard import make_server
from tests.fakes.http import serving
from tests.fakes.report_data import generated_report

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
# Generous for two busy cores: the 1,500-site page renders in about 3 s on one idle core.
OPEN_SECONDS = 30.0

# The page's state once plotly has drawn: each figure, the map's base layers and markers, the series.
_STATE_JS = """
const out={figures:document.querySelectorAll('.plot').length,
  drawn:[...document.querySelectorAll('.plot.js-plotly-plot')].filter(e=>e.querySelector('.main-svg')).length};
const m=document.getElementById('fig-map');
if(m){out.map_points=m.querySelectorAll('.scattergeo .point').length;
  const land=m.querySelector('.geo .layer.land path'), states=m.querySelector('.geo .layer.subunits path');
  out.land=land?(land.getAttribute('d')||'').length:0; out.states=states?(states.getAttribute('d')||'').length:0;
  out.title=(m.querySelector('.gtitle')||{}).textContent;}
const s=document.getElementById('fig-series');
if(s){out.series_title=(s.querySelector('.gtitle')||{}).textContent;
  out.series_lines=[...s.querySelectorAll('.scatterlayer .trace .js-line')]
    .filter(e=>(e.getAttribute('d')||'').length>20).length;}
out.fetched=performance.getEntriesByType('resource').map(e=>e.name);
return out;
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        reason = "Debian's chromium and chromium-driver are not installed (`make browser-deps` installs them)"
        if os.environ.get("NO_BROWSER_INSTALL"):
            pytest.skip(f"{reason}; NO_BROWSER_INSTALL is set")
        pytest.fail(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1200",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as env:
        # Selenium Manager is never needed (the driver's path is given); should it run, it stays
        # offline and sends no usage statistics.
        env.setenv("SE_OFFLINE", "true")
        env.setenv("SE_AVOID_STATS", "true")
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        driver.set_page_load_timeout(OPEN_SECONDS)
        try:
            yield driver
        finally:
            driver.quit()


def open_page(driver: Any, url: str, figures: int) -> tuple[dict[str, Any], float]:
    """Load url and wait until its figures are drawn; the page's state and the seconds it took."""

    def drawn(state: dict[str, Any]) -> bool:
        return bool(state["figures"] == figures and state["drawn"] == figures and state.get("series_lines", 1))

    driver.get_log("browser")  # what an earlier page logged is not this one's
    start = time.monotonic()
    driver.get(url)
    state = changed(driver, drawn, OPEN_SECONDS - (time.monotonic() - start))
    if not drawn(state):
        raise AssertionError(f"{url}: figures not drawn within {OPEN_SECONDS} s: {state}")
    return state, time.monotonic() - start


def changed(driver: Any, done: Callable[[dict[str, Any]], bool], seconds: float = 10.0) -> dict[str, Any]:
    """The page's state once done(state) holds (or when seconds have passed, for the caller to say)."""
    start = time.monotonic()
    state = driver.execute_script(_STATE_JS)
    while not done(state) and time.monotonic() - start < seconds:
        time.sleep(0.05)
        state = driver.execute_script(_STATE_JS)
    return state


def console_errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height), 6000))  # the whole page in one image
    driver.save_screenshot(str(ARTIFACTS / name))
    driver.set_window_size(1400, 1200)
    assert (ARTIFACTS / name).stat().st_size > 10_000


def check_report(driver: Any, url: str, sites: int, figures: int, shot: str) -> dict[str, Any]:
    state, _ = open_page(driver, url, figures)
    assert state["map_points"] == sites  # one marker per site of the first view (PM2.5, day+1)
    assert state["land"] > 1000 and state["states"] > 1000  # the base map drawn from the embedded TopoJSON
    assert state["fetched"] == []  # nothing loaded from anywhere: plotly.js and the base map are inline
    assert console_errors(driver) == []
    screenshot(driver, shot)
    return state


def test_the_report_file_renders_offline_and_its_controls_work(browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(generated_report(sites=60)), encoding="utf-8")
    state = check_report(browser, page.as_uri(), sites=60, figures=4, shot="report.png")
    assert state["title"].startswith("PM2.5: forecast AQI") and state["series_lines"] == 5

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ozone_day2 = [b for b in browser.find_elements(By.CSS_SELECTOR, "#fig-map .updatemenu-button")
                  if b.text == "Ozone day+2"]  # fmt: skip
    ozone_day2[0].click()
    after = changed(browser, lambda state: "day+2" in state["title"] and state["map_points"] == 60)
    assert after["title"].startswith("Ozone: forecast AQI") and "day+2" in after["title"]
    assert after["map_points"] == 60
    site = Select(browser.find_element(By.ID, "series-site"))
    site.select_by_index(len(site.options) - 1)  # the last option: an ozone site
    Select(browser.find_element(By.ID, "series-horizon")).select_by_value("3")
    after = changed(browser, lambda state: "day+3" in state["series_title"] and state["series_lines"] == 5)
    assert after["series_title"].startswith("Ozone at site ") and "day+3" in after["series_title"]
    assert after["series_lines"] == 5
    assert console_errors(browser) == []


def test_a_1500_site_report_opens_quickly(browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "report-1500.html"
    page.write_text(render_report(generated_report(sites=1500)), encoding="utf-8")
    state, seconds = open_page(browser, page.as_uri(), figures=4)
    print(f"1,500 generated sites: {page.stat().st_size / 1e6:.1f} MB, drawn in {seconds:.1f} s")
    assert state["map_points"] == 1500 and console_errors(browser) == []


def test_the_dashboard_serves_the_page_and_health(browser: Any) -> None:
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        return render_report(generated_report(sites=25, days=30))

    with serving(make_server("127.0.0.1", 0, build, max_age=3600)) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
            assert answer.read() == b"ok\n"
        check_report(browser, f"{base}/", sites=25, figures=4, shot="dashboard-generated.png")
        open_page(browser, f"{base}/", figures=4)
        assert len(builds) == 1  # the second visit got the cached page


@pytest.fixture
def replayed(trained_pm25: Path) -> Path:
    """A store after `airwatch run` (PM2.5) and a replayed month, so every part of the report has data."""
    from airwatch.flows.replay import replay_flow

    replay_flow(pollutants=["pm25"], days=30)
    return trained_pm25


@pytest.mark.usefixtures("prefect_harness")
def test_report_and_dashboard_on_a_real_store(browser: Any, replayed: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--store", str(replayed)])
    assert result.exit_code == 0, result.output
    page = replayed / "reports" / "report.html"
    assert f"report: {page}" in result.output.replace("\n", "")
    text = page.read_text(encoding="utf-8")
    for part in ("Champion lineage", "Promotion log", "promoted", "Latest runs", "Exceedances"):
        assert part in text
    state = check_report(browser, page.as_uri(), sites=_forecast_sites(replayed), figures=3, shot="report-store.png")
    assert state["series_lines"] == 5

    # The dashboard as a user starts it: its own process, a free port, the page built per request. Its
    # output goes to a file, not a pipe that nobody drains once the address is read.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRWATCH_")}
    command = [sys.executable, "-m", "airwatch.cli", "dashboard", "--store", str(replayed), "--port", "0",
               "--max-age", "0"]  # fmt: skip
    log = tmp_path / "dashboard.log"
    with log.open("w") as out, subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT) as proc:
        try:
            url = _served_at(proc, log)
            with urllib.request.urlopen(f"{url}healthz", timeout=30) as answer:
                assert answer.read() == b"ok\n"
            check_report(browser, url, sites=_forecast_sites(replayed), figures=3, shot="dashboard.png")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _served_at(proc: subprocess.Popen[bytes], log: Path, seconds: float = 90.0) -> str:
    """The address the dashboard printed once it listens."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for line in log.read_text().splitlines():
            if line.startswith("dashboard: http://127.0.0.1:"):
                return line.split()[1]
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"the dashboard did not start (exit code {proc.poll()}):\n{log.read_text()}")


def _forecast_sites(store: Path) -> int:
    """Sites in the store's newest PM2.5 issue (what the map's first view shows)."""
    from airwatch.io import records
    from airwatch.io.store import LocalStore

    s = LocalStore(store)
    day = records.prediction_keys(s, "pm25")[-1].split("/")[-2]
    issue = records.read_predictions(s, "pm25", day, day)
    issue = issue[issue["issued_utc"] == issue["issued_utc"].max()]
    return int(issue[issue["horizon_days"] == 1]["site_id"].nunique())
