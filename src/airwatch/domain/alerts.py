"""What the monitor tells people: findings, the incidents they open and close, and the messages sent.

A finding is a condition that holds now (drift over its threshold, skill below persistence, interval
coverage outside its band, sites gone quiet, a forecast of AQI above 150). Its key names the incident
it belongs to, so the same condition found on the next run is the same incident: one message when it
opens, none while it stays open (a reminder after `renotify_hours`, if set), one when it clears. A key
that reopens within `throttle_hours` of its last message is recorded but not sent again, so a flapping
condition does not page anyone twice an hour. Each run says which key prefixes it evaluated: an open
incident under an evaluated prefix without a finding has cleared; one under a prefix that was not
evaluated (no pairs to score, no drift computed) stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

OPS = "ops"
HEALTH = "public-health"
State = Literal["open", "resolved"]


@dataclass(frozen=True)
class Finding:
    key: str  # the incident: "<kind>:<pollutant>[:<subject>]"
    kind: str  # drift, skill, coverage, stale, health
    severity: str  # ops or public-health
    text: str  # one line with the numbers
    evidence: str  # the store key of the dataset that holds them
    retrain: bool = False  # drift and degradation start the training flow


@dataclass(frozen=True)
class Incident:
    key: str
    kind: str
    severity: str
    state: State
    opened_utc: str
    updated_utc: str
    text: str
    evidence: str
    last_sent_utc: str | None = None
    resolved_utc: str | None = None
    messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    key: str
    kind: str
    severity: str
    event: Literal["opened", "reminder", "resolved"]
    text: str
    evidence: str

    def render(self) -> str:
        """The Slack-compatible text: severity first, so a public-health alert stands out from ops."""
        label = "PUBLIC HEALTH" if self.severity == HEALTH else "ops"
        verb = {"opened": "", "reminder": "still: ", "resolved": "resolved: "}[self.event]
        return f"AirWatch [{label}] {verb}{self.text} (evidence: {self.evidence})"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str | None) -> datetime | None:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if stamp else None


def reconcile(
    findings: Iterable[Finding],
    evaluated: Iterable[str],
    incidents: dict[str, Incident],
    now: datetime,
    *,
    renotify_hours: float = 24.0,
    throttle_hours: float = 6.0,
) -> tuple[list[Message], dict[str, Incident]]:
    """The messages to send now and the incidents after this run's findings.

    evaluated: key prefixes this run looked at ("drift:pm25", "health:pm25:"); an open incident under
    one of them with no finding is resolved.
    """
    stamp = _stamp(now)
    out = dict(incidents)
    messages: list[Message] = []
    found = {f.key: f for f in findings}

    def may_send(incident: Incident | None) -> bool:
        last = _parse(incident.last_sent_utc) if incident else None
        return last is None or now - last >= timedelta(hours=throttle_hours)

    for key, f in found.items():
        old = out.get(key)
        if old is not None and old.state == "open":
            updated = replace(old, text=f.text, evidence=f.evidence, updated_utc=stamp)
            last = _parse(old.last_sent_utc)
            due = renotify_hours > 0 and last is not None and now - last >= timedelta(hours=renotify_hours)
            if due or last is None:  # a reminder, or a message that could not be sent before
                event: Literal["opened", "reminder"] = "reminder" if last is not None else "opened"
                messages.append(Message(key, f.kind, f.severity, event, f.text, f.evidence))
            out[key] = updated
            continue
        opened = Incident(
            key,
            f.kind,
            f.severity,
            "open",
            stamp,
            stamp,
            f.text,
            f.evidence,
            last_sent_utc=old.last_sent_utc if old else None,
            messages=old.messages if old else 0,
        )
        if may_send(old):
            messages.append(Message(key, f.kind, f.severity, "opened", f.text, f.evidence))
        out[key] = opened
    prefixes = tuple(evaluated)
    for key, incident in incidents.items():
        if incident.state == "open" and key not in found and key.startswith(prefixes):
            text = f"{incident.text.split(':', 1)[0]}: cleared"
            out[key] = replace(incident, state="resolved", resolved_utc=stamp, updated_utc=stamp)
            if incident.last_sent_utc is not None:  # nobody was told it opened: nothing to close
                messages.append(Message(key, incident.kind, incident.severity, "resolved", text, incident.evidence))
    return messages, out


def sent(incidents: dict[str, Incident], delivered: Iterable[Message], now: datetime) -> dict[str, Incident]:
    """The incidents with the messages that reached the webhook counted (an undelivered one is retried)."""
    out = dict(incidents)
    for m in delivered:
        if m.key in out:
            out[m.key] = replace(out[m.key], last_sent_utc=_stamp(now), messages=out[m.key].messages + 1)
    return out


def cooled_down(last_utc: str | None, now: datetime, cooldown_hours: float) -> bool:
    """Whether a retraining may start: none started within the cool-down."""
    last = _parse(last_utc)
    return last is None or now - last >= timedelta(hours=cooldown_hours)


# --- Findings ------------------------------------------------------------------------------------


def drift_finding(pollutant: str, drifted: list[tuple[str, float, float]], evidence: str) -> Finding | None:
    """drifted: (feature, PSI, KS) of each feature over its threshold."""
    if not drifted:
        return None
    worst = sorted(drifted, key=lambda d: -d[1])[:5]
    listed = ", ".join(f"{name} (PSI {psi:.2f}, KS {ks:.2f})" for name, psi, ks in worst)
    more = f" and {len(drifted) - len(worst)} more" if len(drifted) > len(worst) else ""
    text = f"drift {pollutant}: {len(drifted)} feature(s) drifted from the champion's training season: {listed}{more}"
    return Finding(f"drift:{pollutant}", "drift", OPS, text, evidence, retrain=True)


def skill_finding(
    pollutant: str, daily: pd.DataFrame, *, days: int, min_skill: float, min_pairs: int, evidence: str
) -> tuple[Finding | None, bool]:
    """Day+1 skill against persistence over the last `days` verified forecast dates below min_skill.

    daily: daily_scores rows. Returns (finding, evaluated); not evaluated with fewer than min_pairs
    pairs. Pooled from each day's RMSEs (sum of squared errors), so busy days weigh more.
    """
    rows = daily[(daily["pollutant"] == pollutant) & (daily["horizon_days"] == 1) & (daily["n"] > 0)]
    rows = rows.sort_values("forecast_date").tail(days)
    pairs = int(rows["n"].sum()) if len(rows) else 0
    if pairs < min_pairs:
        return None, False
    # skill = 1 - rmse / rmse_persistence per day; recover each day's persistence MSE to pool them.
    sse = (rows["rmse"] ** 2 * rows["n"]).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = rows["rmse"] / (1 - rows["skill_vs_persistence"])
    sse_ref = (ref**2 * rows["n"]).where(np.isfinite(ref)).sum()
    if sse_ref <= 0:
        return None, False
    skill = 1 - float(np.sqrt(sse / sse_ref))
    if skill >= min_skill:
        return None, True
    first, last = rows["forecast_date"].iloc[0], rows["forecast_date"].iloc[-1]
    text = (
        f"skill {pollutant}: day+1 forecasts {100 * skill:+.1f}% vs persistence over {len(rows)} days "
        f"{first}..{last} ({pairs} pairs; floor {100 * min_skill:+.1f}%)"
    )
    return Finding(f"skill:{pollutant}", "skill", OPS, text, evidence, retrain=True), True


def coverage_findings(
    pollutant: str, scores: pd.DataFrame, *, band: tuple[float, float], min_pairs: int, evidence: str
) -> list[Finding]:
    """Each horizon whose 80% interval covered a share outside band over the last 30 days (all sites)."""
    rows = scores[(scores["pollutant"] == pollutant) & (scores["window"] == "30d") & (scores["scope"] == "all")]
    out = []
    for _, r in rows.iterrows():
        cover, n = float(r["interval_coverage"]), int(r["n_interval"])
        if n >= min_pairs and not band[0] <= cover <= band[1]:
            h = int(r["horizon_days"])
            text = (
                f"coverage {pollutant} day+{h}: the 80% interval held {100 * cover:.1f}% of {n} observations "
                f"over {r['window_start']}..{r['window_end']} (band {100 * band[0]:.0f}-{100 * band[1]:.0f}%)"
            )
            out.append(Finding(f"coverage:{pollutant}:day+{h}", "coverage", OPS, text, evidence))
    return out


def stale_sites(
    actuals: pd.DataFrame, as_of: pd.Timestamp, *, stale_days: int, lookback_days: int = 60
) -> pd.DataFrame:
    """Sites that reported within lookback_days but not since: site_id, last_date, days_quiet, usual_gap.

    A site sampling every third or sixth day (many PM2.5 filter samplers) is quiet for days by design,
    so each site's allowance is the larger of stale_days and twice its usual (median) gap.
    """
    when = pd.to_datetime(actuals["date"])
    recent = actuals[(when >= as_of - pd.Timedelta(days=lookback_days)) & (when < as_of) & actuals["value"].notna()]
    if recent.empty:
        return pd.DataFrame(columns=["site_id", "last_date", "days_quiet", "usual_gap"])
    days = pd.to_datetime(recent["date"]).sort_values()
    by_site = days.groupby(recent.loc[days.index, "site_id"].astype(str))
    last = by_site.max()
    gap = by_site.apply(lambda d: d.diff().dt.days.median()).fillna(1.0)
    quiet = (as_of - pd.Timedelta(days=1) - last).dt.days
    allowance = np.maximum(stale_days, 2 * gap)
    out = pd.DataFrame(
        {
            "site_id": last.index,
            "last_date": last.dt.strftime("%Y-%m-%d").to_numpy(),
            "days_quiet": quiet.to_numpy(),
            "usual_gap": gap.to_numpy(),
        }
    )
    return out[quiet.to_numpy() > allowance.to_numpy()].reset_index(drop=True)


def stale_finding(pollutant: str, quiet: pd.DataFrame, reporting: int, evidence: str) -> Finding | None:
    if quiet.empty:
        return None
    listed = ", ".join(f"{r.site_id} (last {r.last_date})" for r in quiet.head(5).itertuples())
    more = f" and {len(quiet) - 5} more" if len(quiet) > 5 else ""
    text = f"stale {pollutant}: {len(quiet)} of {reporting} sites sent no new observation: {listed}{more}"
    return Finding(f"stale:{pollutant}", "stale", OPS, text, evidence)


def health_findings(pollutant: str, forecasts: pd.DataFrame, evidence: str, threshold: int = 150) -> list[Finding]:
    """One public-health finding per forecast date of the newest issue with an AQI above threshold anywhere."""
    over = forecasts[forecasts["aqi"] > threshold]
    out = []
    for day, rows in over.groupby("forecast_date", sort=True):
        top = rows.sort_values("aqi", ascending=False)
        listed = ", ".join(f"{r.site_id} AQI {int(r.aqi)}" for r in top.head(5).itertuples())
        text = (
            f"health {pollutant}: AQI above {threshold} (Unhealthy or worse) forecast for {day} at "
            f"{len(rows)} site(s): {listed}"
        )
        out.append(Finding(f"health:{pollutant}:{day}", "health", HEALTH, text, evidence))
    return out
