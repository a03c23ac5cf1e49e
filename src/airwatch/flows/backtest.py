"""Backtest: evaluate the pipeline on any folder of EPA daily files, by rolling origin."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger

from airwatch.domain.backtest import BacktestConfig, BacktestResult, backtest
from airwatch.domain.parse import ParseError, parse_daily_path
from airwatch.domain.transform import AUXILIARY, FeatureConfig, auxiliary_daily, build_features, site_daily_values
from airwatch.domain.validate import validate_observations
from airwatch.flows.ingest import find_daily_files

log = logging.getLogger(__name__)


def load_folder(folder: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Valid normalized observations of every EPA daily file below folder; (frame, used, skipped)."""
    frames, used, skipped = [], [], []
    for path in find_daily_files(folder):
        try:
            frames.append(parse_daily_path(path, raw_key=str(path.relative_to(folder))))
            used.append(str(path.relative_to(folder)))
        except ParseError as exc:
            skipped.append(f"{path.relative_to(folder)}: {exc}")
    if not frames:
        raise FileNotFoundError(f"no EPA daily file of a known layout under {folder}")
    observations = pd.concat(frames, ignore_index=True)
    today = (np.datetime64(datetime.now(UTC).date(), "D") - np.datetime64("1970-01-01", "D")).astype(int)
    return validate_observations(observations, max_day=int(today)).valid, used, skipped


@flow(name="backtest")
def backtest_flow(folder: str, pollutant: str, config: BacktestConfig) -> tuple[BacktestResult, dict[str, object]]:
    """Load, transform with the production feature code, and backtest one pollutant."""
    logger = get_run_logger()
    observations, used, skipped = load_folder(Path(folder))
    for s in skipped:
        logger.warning("backtest: skipped %s", s)
    daily = site_daily_values(observations, pollutant)
    if daily.empty:
        raise ValueError(f"no valid {pollutant} observations under {folder}")
    auxiliary = {a.name: auxiliary_daily(observations, a) for a in AUXILIARY if a.name != pollutant}
    auxiliary = {k: v for k, v in auxiliary.items() if not v.empty}
    feature_config = replace(FeatureConfig(), horizons=config.horizons)
    frame = build_features(daily, feature_config, auxiliary)
    logger.info("backtest: %s, %d sites, %d site-days from %d files", pollutant, frame["site_id"].nunique(),
                len(daily), len(used))  # fmt: skip
    result = backtest(frame, pollutant, config, progress=logger.info)
    info: dict[str, object] = {
        "input": str(folder),
        "files": len(used),
        "skipped_files": len(skipped),
        "site_days": len(daily),
        "auxiliary": sorted(auxiliary),
        "weather": "none",
    }
    return result, info
