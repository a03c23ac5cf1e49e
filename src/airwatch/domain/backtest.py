"""Rolling-origin backtests: honest, time-ordered evaluation of the whole forecasting pipeline.

Layout in time, per horizon h (issue day d, target day d + h):

    | ......... training ......... |gap| selection window |gap| test fold 1 | test fold 2 | ... |

- The model is chosen once, on a selection window that ends before the first test fold: candidates
  are fit on everything before it and gated (beat persistence; overfitting check). The scored period
  never influences the choice.
- Each test fold refits the chosen model (and the baselines) on every row whose target day is at most
  the fold's first issue day (fold start - h): no forecast is trained on an observation from after its
  issue day. Features only look back from the issue day (C++ kernel), and climatology is computed from
  the training rows of the fold.
- Held-out sites: the same folds (day+1), training on all but a random fifth of the sites and
  scoring only those.
- 80% intervals: LightGBM quantile models (10% and 90% of the change from persistence), refitted
  every fold on the fold's training rows, as the point model is and as production refits them.
- Only the site-days production would forecast are scored: the newest observation on or before the
  issue day is at most max_staleness_days old (production's cap), and persistence is that observation.
- Skills carry a 90% interval from a moving-block bootstrap over target days (blocks of consecutive
  days with every site of those days), seeded.
- When the history before the first test fold is shorter than twice the selection window, the
  selection window shrinks to half of it, down to min_selection_days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.predict import exceedance_probability, usg_threshold
from airwatch.domain.select import select
from airwatch.domain.train import (
    CLIMATOLOGY,
    PERSISTENCE,
    QUANTILES,
    Blend,
    CandidateResult,
    Forecaster,
    Rows,
    fit_all,
    make_candidates,
    make_quantile,
    score,
    usable_rows,
)
from airwatch.domain.transform import feature_columns


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest runs.

    The training parameters have no defaults here: they come from the same settings as production
    training (airwatch.settings.TrainSettings), so the backtest measures what runs.
    """

    seed: int
    lightgbm_rounds: int
    lightgbm_learning_rate: float
    lightgbm_max_rows: int
    lightgbm_sample_rows: int
    quantile_rounds: int
    quantile_learning_rate: float
    quantile_max_rows: int
    quantile_sample_rows: int
    half_life_years: float
    min_skill: float
    max_overfit_gap: float
    folds: int = 3
    fold_days: int = 91
    selection_days: int = 182
    horizons: tuple[int, ...] = (1, 2, 3)
    test_start: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None  # the last target day scored (default: the last one in the data)
    held_out_share: float = 0.2
    max_staleness_days: int = 3  # production's AIRWATCH_PREDICT__MAX_STALENESS_DAYS
    min_selection_days: int = 30  # the shortest selection window a short history may shrink it to
    bootstrap_resamples: int = 1000
    bootstrap_block_days: int = 7
    daily_share: float = 0.9  # a site observed on at least this share of its scored span is a daily sampler
    warning_probability: float | None = None  # production's AQI > 100 warning (AIRWATCH_PREDICT__WARNING_...)


@dataclass
class HorizonResult:
    metrics: dict[str, float]
    predictions: pd.DataFrame


@dataclass
class BacktestResult:
    pollutant: str
    model: str
    selection: dict[str, Any]
    horizons: dict[int, HorizonResult]
    held_out_sites: dict[int, dict[str, float]] = field(default_factory=dict)
    folds: list[tuple[str, str]] = field(default_factory=list)
    by_sampling: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    exceedance: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_json(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "pollutant": self.pollutant,
            "model": self.model,
            **(extra or {}),
            "folds": [{"start": a, "end": b} for a, b in self.folds],
            "selection": self.selection,
            "horizons": {str(h): r.metrics for h, r in self.horizons.items()},
            "held_out_sites": {str(h): m for h, m in self.held_out_sites.items()},
            "by_sampling": {str(h): m for h, m in self.by_sampling.items()},
            "exceedance_warning": {str(h): m for h, m in self.exceedance.items()},
        }


def target_dates(frame: pd.DataFrame, h: int) -> pd.Series:
    return pd.to_datetime(frame["date"]) + pd.Timedelta(days=h)


def fold_windows(last_target: pd.Timestamp, config: BacktestConfig) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Test windows (first and last target day), oldest first."""
    if config.test_start is not None:
        start = pd.Timestamp(config.test_start)
        total = (last_target - start).days + 1
        if total <= 0:
            raise ValueError(f"--test-start {start.date()} is after the last target day {last_target.date()}")
        size = max(1, int(np.ceil(total / config.folds)))
        edges = [start + pd.Timedelta(days=i * size) for i in range(config.folds)]
        return [(a, min(a + pd.Timedelta(days=size - 1), last_target)) for a in edges if a <= last_target]
    first = last_target - pd.Timedelta(days=config.folds * config.fold_days - 1)
    return [
        (first + pd.Timedelta(days=i * config.fold_days), first + pd.Timedelta(days=(i + 1) * config.fold_days - 1))
        for i in range(config.folds)
    ]


def _usable(frame: pd.DataFrame, h: int) -> pd.DataFrame:
    return frame[usable_rows(frame, h)]


def scored_rows(test: pd.DataFrame, max_staleness_days: int) -> pd.DataFrame:
    """The test rows production would forecast: the newest observation at most max_staleness_days old.

    Persistence (last_value) is then that observation, as in the predict stage (domain.predict.issue_rows).
    """
    age = test["days_since_obs"]
    return test[age.notna() & (age <= max_staleness_days)]


def fold_split(
    usable: pd.DataFrame, h: int, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows (target day at most the fold's first issue day) and test rows (target in the fold)."""
    td = target_dates(usable, h)
    return usable[td <= start - pd.Timedelta(days=h)], usable[(td >= start) & (td <= end)]


def _fit_predict(candidate: Forecaster, train: pd.DataFrame | Rows, test: pd.DataFrame, h: int) -> np.ndarray:
    rows = train if isinstance(train, Rows) else Rows(train, train[f"target_{h}"].to_numpy(dtype=np.float64))
    candidate.fit_rows(rows)
    return np.asarray(candidate.predict(test), dtype=np.float64)


FeatureChooser = Callable[[int], list[str]]


def choose_model(
    frame: pd.DataFrame, first_test: pd.Timestamp, config: BacktestConfig, features_for: FeatureChooser
) -> tuple[str, dict[str, Any]]:
    """Pick the candidate on the selection window before the first test fold, by day+1 RMSE with gates."""
    h = min(config.horizons)
    usable = _usable(frame, h)
    td = target_dates(usable, h)
    sel_end = first_test - pd.Timedelta(days=h + 1)
    # The window counts days with data, not calendar days: before a seasonal monitor's test season
    # (Denver's ozone, May-September) the calendar's last half-year is the winter, with no day to score.
    data_days = np.sort(td[td <= sel_end].unique())
    days = selection_days(len(data_days), config)
    sel_start = pd.Timestamp(data_days[-days])
    train = usable[td <= sel_start - pd.Timedelta(days=h)]
    val = usable[(td >= sel_start) & (td <= sel_end)]
    if train.empty or val.empty:
        raise ValueError("not enough history before the test folds to choose a model; add data or fewer folds")
    features = features_for(h)
    results = []
    candidates = _candidates(features, config, h)
    target = train[f"target_{h}"].to_numpy(dtype=np.float64)
    # The blend is composed from the ridge and LightGBM fits rather than fitting both again.
    fitted = fit_all(candidates, [c.fit(train, target) for c in candidates if not isinstance(c, Blend)])
    for candidate in fitted:
        predicted_val = np.asarray(candidate.predict(val), dtype=np.float64)
        predicted_train = np.asarray(candidate.predict(train), dtype=np.float64)
        y_val, y_train = val[f"target_{h}"].to_numpy(), train[f"target_{h}"].to_numpy()
        results.append(
            CandidateResult(
                candidate.name,
                score(predicted_train, y_train, train["last_value"].to_numpy()),
                score(predicted_val, y_val, val["last_value"].to_numpy()),
            )
        )
    selection = select(results, min_skill=config.min_skill, max_gap=config.max_overfit_gap)
    report = {
        "window": [str(sel_start.date()), str(sel_end.date())],
        "window_days": days,
        "shortened": days < config.selection_days,
        "horizon": h,
        "candidates": {
            r.name: {
                "validation_rmse": r.validation["rmse"],
                "skill": r.validation["skill_vs_persistence"],
                "overfit_gap": r.overfit_gap,
            }
            for r in results
        },
        "gates": {o.name: {"passed": o.passed, "reasons": list(o.reasons)} for o in selection.outcomes},
    }
    return selection.selected.name, report


def selection_days(history_days: int, config: BacktestConfig) -> int:
    """The selection window's length in days with data: the configured one, or half the history when shorter.

    The other half is left to train the candidates. Below config.min_selection_days the history is too
    short to choose a model, and the backtest says so.
    """
    days = min(config.selection_days, history_days // 2)
    if days < config.min_selection_days:
        raise ValueError(
            f"{max(history_days, 0)} days with data before the test folds: a selection window needs at least "
            f"{config.min_selection_days} days and as many to train on; add data, start the test later or use "
            "fewer folds"
        )
    return days


def _candidates(features: list[str], config: BacktestConfig, h: int) -> list[Forecaster]:
    return make_candidates(features, seed=config.seed, lightgbm_rounds=config.lightgbm_rounds,
                           lightgbm_learning_rate=config.lightgbm_learning_rate,
                           lightgbm_max_rows=config.lightgbm_max_rows,
                           lightgbm_sample_rows=config.lightgbm_sample_rows, horizon=h,
                           half_life_years=config.half_life_years)  # fmt: skip


def _candidate(name: str, features: list[str], config: BacktestConfig, h: int) -> Forecaster:
    return next(c for c in _candidates(features, config, h) if c.name == name)


def bootstrap_skill(
    forecast: np.ndarray, reference: np.ndarray, observed: np.ndarray, block: np.ndarray, *, resamples: int,
    seed: int, level: float = 0.9,
) -> tuple[float, float]:  # fmt: skip
    """Interval of the RMSE skill 1 - rmse(forecast) / rmse(reference) by a block bootstrap.

    block: each pair's block (e.g. a week of target days: all sites of those days move together).
    Blocks are drawn with replacement, as many as there are, `resamples` times from a generator
    seeded by `seed`; the interval is the resampled skills' (1 - level) / 2 and (1 + level) / 2
    quantiles. Pairs lacking any of the three values are left out, as in the point estimate.
    """
    ok = np.isfinite(forecast) & np.isfinite(reference) & np.isfinite(observed)
    if not ok.any():
        return float("nan"), float("nan")
    _, ids = np.unique(block[ok], return_inverse=True)
    n_blocks = int(ids.max()) + 1
    sq_f = np.bincount(ids, weights=(forecast[ok] - observed[ok]) ** 2, minlength=n_blocks)
    sq_r = np.bincount(ids, weights=(reference[ok] - observed[ok]) ** 2, minlength=n_blocks)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_blocks, size=(resamples, n_blocks))
    # How often each block is drawn in each resample, counted in one pass.
    offsets = (np.arange(resamples)[:, None] * n_blocks + draws).ravel()
    counts = np.bincount(offsets, minlength=resamples * n_blocks).reshape(resamples, n_blocks).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        skill = 1.0 - np.sqrt((counts @ sq_f) / (counts @ sq_r))
    skill = skill[np.isfinite(skill)]
    if not len(skill):
        return float("nan"), float("nan")
    low, high = np.quantile(skill, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def daily_samplers(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, share: float) -> set[str]:
    """Sites observed on at least `share` of the days from their first to their last observed day in start..end."""
    dates = pd.to_datetime(frame["date"])
    seen = frame[(dates >= start) & (dates <= end) & frame["value"].notna()]
    if seen.empty:
        return set()
    per_site = seen.groupby(seen["site_id"].astype(str))["day"].agg(["count", "min", "max"])
    observed_share = per_site["count"] / (per_site["max"] - per_site["min"] + 1)
    return set(per_site.index[observed_share >= share])


WARNING_PROBABILITIES = tuple(round(0.05 * i, 2) for i in range(1, 20))


def warning_detection(
    pollutant: str, p: pd.DataFrame, probabilities: tuple[float, ...] = WARNING_PROBABILITIES
) -> dict[str, dict[str, float]]:
    """Detection of AQI > 100 when a warning is issued at each probability of exceedance.

    The probability is the one the predict stage publishes (p_aqi_over_100: the split normal through
    the forecast and its 80% interval). A warning at probability t forecasts the event where p >= t;
    hits, misses, false alarms, POD, false-alarm ratio and CSI come from verify_groups (one group per t).
    """
    prob = exceedance_probability(p["forecast"].to_numpy(np.float64), p["lower"].to_numpy(np.float64),
                                  p["upper"].to_numpy(np.float64), usg_threshold(pollutant))  # fmt: skip
    return detection(pollutant, prob, p["observed"].to_numpy(np.float64), probabilities)


def detection(
    pollutant: str, prob: np.ndarray, observed: np.ndarray, probabilities: tuple[float, ...] = WARNING_PROBABILITIES
) -> dict[str, dict[str, float]]:
    """Detection of AQI > 100 by a warning where prob >= t, for each t: hits, misses, false alarms, POD, FAR, CSI."""
    threshold = usg_threshold(pollutant)
    k, n = len(probabilities), len(prob)
    # Each warning becomes a forecast at the threshold (AQI > 100) or none (AQI 0), so the C++ contingency applies.
    warned = np.concatenate([np.where(prob >= t, threshold, 0.0) for t in probabilities])
    group = np.repeat(np.arange(k, dtype=np.int32), n)
    s = core.verify_groups(pollutant, group, k, warned, np.tile(observed, k)).scores
    keys = ("hits", "misses", "false_alarms", "pod", "far", "csi")
    return {f"{t:.2f}": {key: float(s[key][i]) for key in keys} for i, t in enumerate(probabilities)}


def metrics(
    pollutant: str, p: pd.DataFrame, *, seed: int = 0, resamples: int = 1000, block_days: int = 7
) -> dict[str, float]:
    """All the scores of one horizon's pooled test forecasts (C++ kernels), with bootstrap intervals.

    p: site_id, date (issue day), horizon, observed, forecast, persistence, climatology[, lower, upper].
    """
    columns = ("observed", "forecast", "persistence", "climatology")
    y, model, pers, clim = (p[c].to_numpy(dtype=np.float64) for c in columns)
    m = core.error_summary(model, y)
    cat = core.category_scores(pollutant, model, y, 2)
    # AQI > 100 (category 2, "unhealthy for sensitive groups" and worse): the verification set's contingency.
    v = core.verify_groups(pollutant, np.zeros(len(p), dtype=np.int32), 1, model, y).scores
    target_day = pd.to_datetime(p["date"]).to_numpy("datetime64[D]").astype(np.int64)
    if "horizon" in p:
        target_day = target_day + p["horizon"].to_numpy(dtype=np.int64)
    block = target_day // block_days
    boot = {"seed": seed, "resamples": resamples}
    pers_low, pers_high = bootstrap_skill(model, pers, y, block, **boot)
    clim_low, clim_high = bootstrap_skill(model, clim, y, block, **boot)
    out = {
        "rmse": m.rmse,
        "mae": m.mae,
        "bias": m.bias,
        "persistence_rmse": core.error_summary(pers, y).rmse,
        "skill_vs_persistence": core.rmse_skill(model, pers, y),
        "climatology_rmse": core.error_summary(clim, y).rmse,
        "skill_vs_climatology": core.rmse_skill(model, clim, y),
        "category_hit_rate": cat.hit_rate,
        "usg_events": float(cat.events),
        "usg_pod": cat.pod,
        "usg_far": cat.far,
        "skill_vs_persistence_ci90_low": pers_low,
        "skill_vs_persistence_ci90_high": pers_high,
        "skill_vs_climatology_ci90_low": clim_low,
        "skill_vs_climatology_ci90_high": clim_high,
        **{f"aqi100_{k}": v[k][0] for k in ("hits", "misses", "false_alarms", "pod", "far", "csi")},
        "n_sites": float(p["site_id"].nunique()),
        "n_forecasts": float(len(p)),
    }
    if "lower" in p:
        inside = (y >= p["lower"].to_numpy()) & (y <= p["upper"].to_numpy())
        width = p["upper"].to_numpy() - p["lower"].to_numpy()
        out["interval_80_coverage"] = float(np.mean(inside)) if len(p) else float("nan")
        # Coverage alone rewards wide intervals: their mean width is the other half of the story.
        out["interval_80_width"] = float(np.mean(width)) if len(p) else float("nan")
    return {k: float(v) for k, v in out.items()}


def by_label(
    pollutant: str, predictions: pd.DataFrame, labels: pd.Series, scores: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """The scores of the forecasts of each label (rows labelled NaN are in none), in order of the labels' names."""
    return {str(label): metrics(pollutant, predictions[(labels == label).to_numpy()], **scores)
            for label in sorted(labels.dropna().unique())}  # fmt: skip


def backtest(
    frame: pd.DataFrame,
    pollutant: str,
    config: BacktestConfig,
    progress: Callable[[str], None] | None = None,
    features_for: FeatureChooser | None = None,
) -> BacktestResult:
    """Run the rolling-origin backtest of one pollutant on a feature frame (from build_features).

    features_for(h): the columns a model of horizon h may use (default: every feature column).
    """
    say = progress or (lambda _msg: None)
    all_features = feature_columns(frame)
    features_for = features_for or (lambda _h: all_features)
    last = max(target_dates(_usable(frame, h), h).max() for h in config.horizons)
    if config.test_end is not None:
        last = min(last, pd.Timestamp(config.test_end))
    windows = fold_windows(last, config)
    model_name, selection = choose_model(frame, windows[0][0], config, features_for)
    say(f"{pollutant}: selected {model_name} on {selection['window'][0]}..{selection['window'][1]}")
    rng = np.random.default_rng(config.seed)
    sites = np.array(sorted(frame["site_id"].astype(str).unique()))
    held_out = set(rng.choice(sites, size=max(1, int(len(sites) * config.held_out_share)), replace=False))
    result = BacktestResult(
        pollutant, model_name, selection, {}, folds=[(str(a.date()), str(b.date())) for a, b in windows]
    )
    daily = daily_samplers(frame, windows[0][0], windows[-1][1], config.daily_share)
    scores = {"seed": config.seed, "resamples": config.bootstrap_resamples, "block_days": config.bootstrap_block_days}
    for h in config.horizons:
        features = features_for(h)
        usable = _usable(frame, h)
        parts, held_parts = [], []
        for start, end in windows:
            train, test = fold_split(usable, h, start, end)
            test = scored_rows(test, config.max_staleness_days)
            if train.empty or test.empty:
                continue
            say(f"{pollutant} day+{h}: fold {start.date()}..{end.date()} ({len(train):,} train, {len(test):,} test)")
            part = test[["site_id", "date"]].assign(
                horizon=h, observed=test[f"target_{h}"].to_numpy(), persistence=test["last_value"].to_numpy()
            )
            part["climatology"] = _fit_predict(_candidate(CLIMATOLOGY, features, config, h), train, test, h)
            if model_name == PERSISTENCE:
                part["forecast"] = part["persistence"]
            elif model_name == CLIMATOLOGY:
                part["forecast"] = part["climatology"]
            else:
                # The model and the interval's quantiles learn from the same rows (binned once). The
                # quantiles are refitted every fold, as production refits them at every training: fitted
                # once on the first fold's rows, a season before the later folds, AirNow ozone's interval
                # covered 0.67-0.73 (docs/backtest.md, "The interval's models refitted every fold").
                rows = Rows(train, train[f"target_{h}"].to_numpy(dtype=np.float64))
                part["forecast"] = _fit_predict(_candidate(model_name, features, config, h), rows, test, h)
                lower, upper = (
                    make_quantile(features, alpha, seed=config.seed, rounds=config.quantile_rounds,
                                  rate=config.quantile_learning_rate, half_life_years=config.half_life_years,
                                  max_rows=config.quantile_max_rows, sample_rows=config.lightgbm_sample_rows,
                                  subsample_rows=config.quantile_sample_rows).fit_rows(rows)
                    for alpha in QUANTILES
                )  # fmt: skip
                part["lower"] = np.asarray(lower.predict(test), dtype=np.float64)
                part["upper"] = np.asarray(upper.predict(test), dtype=np.float64)
            parts.append(part)
            # Held-out sites (day+1): train without them, score only them.
            train_in = train[~train["site_id"].astype(str).isin(held_out)]
            test_out = test[test["site_id"].astype(str).isin(held_out)]
            learned = model_name not in (PERSISTENCE, CLIMATOLOGY)
            if learned and h == min(config.horizons) and len(test_out) and len(train_in):
                hp = test_out[["site_id", "date"]].assign(
                    observed=test_out[f"target_{h}"].to_numpy(), persistence=test_out["last_value"].to_numpy()
                )
                hp["climatology"] = _fit_predict(_candidate(CLIMATOLOGY, features, config, h), train, test_out, h)
                hp["forecast"] = _fit_predict(_candidate(model_name, features, config, h), train_in, test_out, h)
                held_parts.append(hp)
        if not parts:
            raise ValueError(f"no test fold of day+{h} has both training and test rows")
        predictions = pd.concat(parts, ignore_index=True)
        result.horizons[h] = HorizonResult(metrics(pollutant, predictions, **scores), predictions)
        if "lower" in predictions:
            result.exceedance[h] = warning_detection(pollutant, predictions)
            if (t := config.warning_probability) is not None:  # the warning as the predict stage publishes it
                published = warning_detection(pollutant, predictions, (t,))[f"{t:.2f}"]
                result.horizons[h].metrics.update({f"warning_{k}": v for k, v in published.items()})
                result.horizons[h].metrics["warning_probability"] = t
        is_daily = predictions["site_id"].astype(str).isin(daily)
        result.by_sampling[h] = {
            label: metrics(pollutant, predictions[rows], **scores)
            for label, rows in (("daily", is_daily), ("non_daily", ~is_daily))
            if rows.any()
        }
        if held_parts:
            held = pd.concat(held_parts, ignore_index=True).assign(horizon=h)
            result.held_out_sites[h] = metrics(pollutant, held, **scores)
    return result
