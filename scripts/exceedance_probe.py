"""A development probe: the AQI > 100 warning from a classifier of the event, beside the published probability.

The rule and the windows are declared in docs/backtest.md ("An exceedance classifier for the ozone
warning"). For one input folder, pollutant, window and weather mode, the backtest runs as
`airwatch backtest` does (day+1); in each of its test folds a LightGBM binary classifier of "the
target day's value is at or above predict.usg_threshold" is fitted on the fold's training rows, with
the point models' parameters, and scored on the same rows. Printed: the warning table (POD, false-alarm
ratio, CSI at p >= t) of the published probability (split normal through the 80% interval) and of the
classifier's. Development windows only.

    python scripts/exceedance_probe.py --input DIR --pollutant ozone --test-start D --test-end D
        [--weather DIR --weather-mode MODE] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from airwatch.domain.backtest import (
    BacktestConfig,
    backtest,
    detection,
    fold_split,
    fold_windows,
    scored_rows,
    target_dates,
    usable_rows,
)
from airwatch.domain.predict import exceedance_probability, usg_threshold
from airwatch.domain.train import lightgbm_params
from airwatch.domain.weather import NONE
from airwatch.flows.backtest import backtest_config, backtest_frames, feature_chooser
from airwatch.settings import load_settings

HORIZON = 1


def classifier_probability(
    frame: pd.DataFrame, pollutant: str, config: BacktestConfig, features: list[str]
) -> pd.DataFrame:
    """site_id, date, p_classifier of every scored day+1 row, each fold's classifier fitted on its training rows."""
    import lightgbm as lgb

    usable = frame[usable_rows(frame, HORIZON)]
    last = target_dates(usable, HORIZON).max()
    if config.test_end is not None:
        last = min(last, pd.Timestamp(config.test_end))
    threshold = usg_threshold(pollutant)
    params = {**lightgbm_params(config.lightgbm_rounds, config.lightgbm_learning_rate), "objective": "binary",
              "random_state": config.seed, "n_jobs": 2, "deterministic": True, "verbose": -1}  # fmt: skip
    parts = []
    for start, end in fold_windows(last, config):
        train, test = fold_split(usable, HORIZON, start, end)
        test = scored_rows(test, config.max_staleness_days)
        if train.empty or test.empty:
            continue
        label = (train[f"target_{HORIZON}"].to_numpy() >= threshold).astype(np.int8)
        if label.min() == label.max():  # one class only: the probability is that class
            p = np.full(len(test), float(label[0]))
        else:
            model = lgb.LGBMClassifier(**params).fit(train[features], label)
            p = model.predict_proba(test[features])[:, 1]
        print(f"  fold {start.date()}..{end.date()}: {len(train):,} train ({int(label.sum()):,} events), "
              f"{len(test):,} scored")  # fmt: skip
        parts.append(test[["site_id", "date"]].assign(p_classifier=p))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--pollutant", default="ozone")
    ap.add_argument("--test-start", required=True)
    ap.add_argument("--test-end", required=True)
    ap.add_argument("--weather")
    ap.add_argument("--weather-mode", default=NONE)
    ap.add_argument("--json")
    args = ap.parse_args()
    began = time.time()
    settings = load_settings()
    config = backtest_config(settings, horizons=(HORIZON,), test_start=pd.Timestamp(args.test_start),
                             test_end=pd.Timestamp(args.test_end))  # fmt: skip
    mode = args.weather_mode
    frames, _, _ = backtest_frames(args.input, args.pollutant, config.horizons, args.weather, (mode,),
                                   settings=settings)  # fmt: skip
    frame = frames[mode]
    chooser = feature_chooser(frame, mode)
    result = backtest(frame, args.pollutant, config, None, chooser)
    published = result.horizons[HORIZON].predictions
    published = published.assign(p_published=exceedance_probability(
        published["forecast"].to_numpy(np.float64), published["lower"].to_numpy(np.float64),
        published["upper"].to_numpy(np.float64), usg_threshold(args.pollutant)))  # fmt: skip
    print(f"{args.input} {args.pollutant} {args.test_start}..{args.test_end} weather {mode}: {result.model} selected")
    clf = classifier_probability(frame, args.pollutant, config, chooser(HORIZON))
    both = published.merge(clf, on=["site_id", "date"], how="inner", validate="one_to_one")
    assert len(both) == len(published) == len(clf), (len(both), len(published), len(clf))
    observed = both["observed"].to_numpy(np.float64)
    out = {"input": args.input, "pollutant": args.pollutant, "window": [args.test_start, args.test_end],
           "weather_mode": mode, "model": result.model, "forecasts": len(both),
           "events": int((observed >= usg_threshold(args.pollutant)).sum())}  # fmt: skip
    print(f"day+1: {len(both):,} forecasts, {out['events']:,} at AQI > 100")
    print(f"{'t':>5} | {'published POD':>13} {'FAR':>5} {'CSI':>6} | {'classifier POD':>14} {'FAR':>5} {'CSI':>6}")
    for name in ("p_published", "p_classifier"):
        out[name] = detection(args.pollutant, both[name].to_numpy(np.float64), observed)
    for t in out["p_published"]:
        a, b = out["p_published"][t], out["p_classifier"][t]
        print(f"{t:>5} | {a['pod']:13.2f} {a['far']:5.2f} {a['csi']:6.3f} | {b['pod']:14.2f} {b['far']:5.2f} "
              f"{b['csi']:6.3f}")  # fmt: skip
    for name in ("p_published", "p_classifier"):
        rows = out[name]
        met = [t for t, s in rows.items() if s["pod"] >= 0.5 and s["far"] <= 0.5]
        best = max(rows, key=lambda t: rows[t]["csi"])
        print(f"{name}: best CSI {rows[best]['csi']:.3f} at t = {best}; POD >= 0.5 with FAR <= 0.5 at: "
              f"{', '.join(met) or 'none'}")  # fmt: skip
    print(f"{time.time() - began:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
