"""Hostile and damaged archives among real input: each quarantined with its reason, kept raw, the rest read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airwatch.cli import app
from airwatch.io import quarantine
from airwatch.io.store import LocalStore
from tests.fakes.archives import MIB, gzip_of_zeros, zip_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


def test_hostile_archives_are_quarantined_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_input: Path
) -> None:
    store = tmp_path / "store"
    for name, value in (("STORE", store), ("INPUT_DIR", small_input), ("VALIDATE__MAX_QUARANTINED_FILE_SHARE", 0.9)):
        monkeypatch.setenv(f"AIRWATCH_{name}", str(value))
    csv = gzip.decompress((small_input / "pm25_daily_2011_cook_county_IL.csv.gz").read_bytes())
    hostile = {
        "daily_88101_traversal.zip": (zip_of({"../../../evil.csv": csv}), "member '../../../evil.csv' has an unsafe"),
        "daily_88101_absolute.zip": (zip_of({"/tmp/evil.csv": csv}), "member '/tmp/evil.csv' has an unsafe path"),
        "daily_88101_bomb.zip": (zip_of({"daily.csv": csv[:300] + bytes(200 * MIB)}), "a compression bomb"),
        "daily_88101_nested.zip": (zip_of({"daily.csv": zip_of({"inner.csv": csv})}), "holds another archive"),
        "pm25_bomb.csv.gz": (gzip_of_zeros(200 * MIB), "a compression bomb"),
        "pm25_truncated.csv.gz": (gzip.compress(csv)[:5000], "truncated gzip data"),
        "daily_88101_cut.zip": (zip_of({"daily.csv": csv})[:-100], "not a readable zip"),
    }
    for name, (data, _) in hostile.items():
        (small_input / name).write_bytes(data)

    assert runner.invoke(app, ["ingest", "files"]).exit_code == 0
    validated = runner.invoke(app, ["validate"])
    assert validated.exit_code == 0, validated.output
    assert f"{len(hostile)} files quarantined" in validated.output

    held = quarantine.held(LocalStore(store))
    by_name = {key.rsplit("/", 1)[-1]: record for key, record in held.items()}
    assert sorted(by_name) == sorted(hostile)
    for name, (data, reason) in hostile.items():
        record = by_name[name]
        assert reason in record.reason and record.stage == "validate", (name, record.reason)
        assert (store / record.key).read_bytes() == data  # the payload is kept as received

    # The six real files were read and published; nothing was written outside the store.
    observations = sorted((store / "processed" / "observations").rglob("*.parquet"))
    assert observations
    assert not list(tmp_path.parent.rglob("evil.csv")) and not Path("/tmp/evil.csv").exists()
