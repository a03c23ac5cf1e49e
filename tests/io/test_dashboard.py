"""The dashboard's HTTP server (io/dashboard.py) and the report commands on a store with nothing in it."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from airwatch.cli import app
from airwatch.io.dashboard import DashboardServer, make_server
from tests.fakes import http as fakes


@contextmanager
def serving(build: Callable[[], str], max_age: float) -> Iterator[str]:
    with fakes.serving(make_server("127.0.0.1", 0, build, max_age)) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_health_page_and_not_found() -> None:
    with serving(lambda: "<html>report</html>", max_age=60) as base:
        assert get(f"{base}/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        assert get(f"{base}/") == (200, "text/html; charset=utf-8", "<html>report</html>")
        assert get(f"{base}/index.html?x=1")[2] == "<html>report</html>"
        assert get(f"{base}/etc/passwd")[0] == 404


def test_the_page_is_kept_for_max_age_then_built_again() -> None:
    count = iter(range(1, 100))
    with serving(lambda: f"build {next(count)}", max_age=3600) as base:
        assert [get(f"{base}/")[2] for _ in range(3)] == ["build 1"] * 3
    count = iter(range(1, 100))
    with serving(lambda: f"build {next(count)}", max_age=0) as base:
        assert [get(f"{base}/")[2] for _ in range(3)] == ["build 1", "build 2", "build 3"]


def test_a_failed_build_is_a_500_with_the_reason_and_the_server_stays_up() -> None:
    calls: list[int] = []

    def build() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("store <unreachable>")
        return "recovered"

    with serving(build, max_age=60) as base:
        status, _, body = get(f"{base}/")
        assert status == 500 and "RuntimeError: store &lt;unreachable&gt;" in body
        assert get(f"{base}/healthz")[0] == 200
        assert get(f"{base}/") == (200, "text/html; charset=utf-8", "recovered")


def test_report_on_an_empty_store_writes_a_page_that_says_why_it_is_empty(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["report", "--store", str(store)])
    assert result.exit_code == 0, result.output
    page = store / "reports" / "report.html"
    assert f"report: {page}" in result.output.replace("\n", "")
    text = page.read_text(encoding="utf-8")
    assert "run `airwatch run` first" in text and "No forecast issued yet" in text
    assert "no MLflow database in this store yet" in text
    assert not (store / "mlflow").exists()  # the report does not create MLflow's database

    out = tmp_path / "elsewhere" / "r.html"
    result = CliRunner().invoke(app, ["report", "--store", str(store), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_dashboard_on_a_busy_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["dashboard", "--store", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in result.output


def test_make_server_picks_a_free_port() -> None:
    server = make_server("127.0.0.1", 0, lambda: "", 1.0)
    try:
        assert isinstance(server, DashboardServer) and server.server_port > 0
    finally:
        server.server_close()
