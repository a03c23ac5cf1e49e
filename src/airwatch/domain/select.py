"""Selection: explicit gates that a candidate must pass to be chosen, each saying why it failed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airwatch.domain.train import BASELINES, PERSISTENCE, CandidateReport, CandidateResult, TrainingReport


@dataclass(frozen=True)
class GateOutcome:
    """The verdict on one candidate."""

    name: str
    passed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Selection:
    """The chosen candidate and the verdict on every candidate."""

    selected: CandidateResult
    outcomes: tuple[GateOutcome, ...]


def gate(
    result: CandidateResult,
    persistence_rmse: float,
    *,
    min_skill: float,
    max_gap: float,
    persistence_gap: float = 0.0,
) -> GateOutcome:
    """Beat persistence by min_skill on validation; learned models also pass the overfitting check.

    The overfitting check counts only the part of a model's train-to-validation gap that persistence,
    which learns nothing, does not show on the same rows: a validation window harder than the training
    years (a smoke season: national PM2.5, second half of 2017, persistence's own gap 54%) widens every
    forecast's gap and is not overfitting. An easier window is not credited (persistence_gap below 0
    counts as 0), so the check is never stricter than the plain gap.
    """
    name = result.name
    reasons: list[str] = []
    if name == PERSISTENCE:
        return GateOutcome(name, True, ("the reference forecast",))
    skill = result.validation["skill_vs_persistence"]
    if not skill >= min_skill:
        reasons.append(
            f"validation RMSE {result.validation['rmse']:.4g} vs persistence {persistence_rmse:.4g}: "
            f"skill {skill:.1%} < required {min_skill:.1%}"
        )
    harder = max(persistence_gap, 0.0)
    excess = result.overfit_gap - harder
    if name not in BASELINES and excess > max_gap:
        reasons.append(
            f"overfitting: train RMSE {result.train['rmse']:.4g} vs validation {result.validation['rmse']:.4g} "
            f"(gap {result.overfit_gap:.1%} - persistence's {harder:.1%} = {excess:.1%} > {max_gap:.1%})"
        )
    return GateOutcome(name, not reasons, tuple(reasons) or ("passed",))


def select(results: list[CandidateResult], *, min_skill: float, max_gap: float) -> Selection:
    """The passing candidate with the lowest validation RMSE; persistence when no other passes."""
    by_name = {r.name: r for r in results}
    if PERSISTENCE not in by_name:
        raise ValueError("selection needs the persistence baseline among the candidates")
    reference = by_name[PERSISTENCE]
    persistence_rmse = reference.validation["rmse"]
    outcomes = tuple(gate(r, persistence_rmse, min_skill=min_skill, max_gap=max_gap,
                          persistence_gap=reference.overfit_gap) for r in results)  # fmt: skip
    passing = [by_name[o.name] for o in outcomes if o.passed and o.name != PERSISTENCE]
    chosen = min(passing, key=lambda r: r.validation["rmse"]) if passing else by_name[PERSISTENCE]
    return Selection(chosen, outcomes)


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a candidate takes the champion's place, and why."""

    promote: bool
    reason: str


def fold_spread_gate(fold_skills: list[float], *, max_spread: float) -> GateOutcome:
    """The skill must hold across the validation folds: their range stays under max_spread."""
    finite = [s for s in fold_skills if s == s]
    if len(finite) < 2:
        return GateOutcome("fold_spread", True, ("fewer than two folds to compare",))
    spread = max(finite) - min(finite)
    if spread > max_spread:
        return GateOutcome("fold_spread", False, (f"skill varies by {spread:.1%} across folds (> {max_spread:.1%})",))
    return GateOutcome("fold_spread", True, (f"skill range across folds {spread:.1%}",))


def champion_gate(candidate_rmse: float, champion_rmse: float | None, *, margin: float) -> PromotionDecision:
    """Promote only when the candidate beats the current champion, re-scored on the same window."""
    if champion_rmse is None or champion_rmse != champion_rmse:
        return PromotionDecision(True, "no champion that can be scored on this window")
    needed = champion_rmse * (1 - margin)
    if candidate_rmse < needed:
        return PromotionDecision(
            True, f"RMSE {candidate_rmse:.5g} beats champion {champion_rmse:.5g} (margin {margin:.1%})"
        )
    return PromotionDecision(
        False, f"RMSE {candidate_rmse:.5g} does not beat champion {champion_rmse:.5g} (margin {margin:.1%})"
    )


@dataclass(frozen=True)
class Choice:
    """The candidate a training offers for promotion, and every gate's verdict."""

    candidate: CandidateReport
    outcomes: tuple[GateOutcome, ...]


def choose(candidates: list[CandidateReport], *, min_skill: float, max_gap: float, max_spread: float) -> Choice:
    """The best candidate passing the gates; persistence when the best one's skill does not hold across folds."""
    by_name = {c.name: c for c in candidates}
    results = [CandidateResult(c.name, c.train, c.validation) for c in candidates]
    selection = select(results, min_skill=min_skill, max_gap=max_gap)
    chosen = by_name[selection.selected.name]
    spread = fold_spread_gate(chosen.fold_skills, max_spread=max_spread)
    if not spread.passed and chosen.name != PERSISTENCE:
        chosen = by_name[PERSISTENCE]
    return Choice(chosen, (*selection.outcomes, spread))


def already_champion(champion_tags: dict[str, str], report: TrainingReport) -> bool:
    """Whether the champion is this training's model already (a re-run registers nothing new)."""
    return champion_tags.get("training_id") == report.training_id


def configuration(name: str, params: dict[str, Any]) -> str:
    """A candidate's configuration as one comparable string (the registry keeps it as a tag)."""
    return json.dumps({"candidate": name, "params": params}, sort_keys=True)


def promotion(
    choice: Choice, champion_config: str | None, champion_rmse: float | None, *, margin: float
) -> PromotionDecision:
    """Whether the chosen configuration, refitted on all the data, replaces the champion.

    The champion's configuration is scored on this training's window (as one of its candidates, or
    refitted on its training rows): the model is compared with the champion on the same data. The same
    configuration again is a refresh: it knows newer data and cannot score worse on the window.
    """
    c = choice.candidate
    if champion_config is not None and champion_config == configuration(c.name, c.params):
        return PromotionDecision(True, f"the champion's configuration ({c.name}), refitted on newer data")
    return champion_gate(c.validation["rmse"], champion_rmse, margin=margin)


def version_tags(report: TrainingReport, choice: Choice) -> dict[str, str]:
    """The lineage a registered version carries."""
    c = choice.candidate
    return {
        "pollutant": report.pollutant,
        "candidate": c.name,
        "training_id": report.training_id,
        "features_version": report.features_version,
        "observations_version": report.observations_version,
        "code_version": report.code_version,
        "val_rmse": f"{c.validation['rmse']:.6g}",
        "val_skill_vs_persistence": f"{c.validation['skill_vs_persistence']:.4f}",
        "configuration": configuration(c.name, c.params),
        "horizons": ",".join(str(h) for h in report.horizons),
        "refit_rows": str(report.refit_rows),
        "refit_through": report.refit_through,
    }


def promotion_record(
    report: TrainingReport,
    choice: Choice,
    decision: PromotionDecision,
    *,
    model: str,
    version: str,
    champion_version: str | None,
    champion_rmse: float | None,
    at_utc: str,
    by: str,
) -> dict[str, Any]:
    """The append-only record of one promotion decision."""
    return {
        "pollutant": report.pollutant,
        "at_utc": at_utc,
        "by": by,
        "decision": "promoted" if decision.promote else "not promoted",
        "reason": decision.reason,
        "model": model,
        "candidate_version": version,
        "candidate": choice.candidate.name,
        "candidate_rmse": choice.candidate.validation["rmse"],
        "previous_champion_version": champion_version,
        "previous_champion_rmse_same_window": champion_rmse,
        "training_id": report.training_id,
        "features_version": report.features_version,
        "gates": [{"name": o.name, "passed": o.passed, "reasons": list(o.reasons)} for o in choice.outcomes],
    }


def decision_tags(record: dict[str, Any]) -> dict[str, str]:
    """What a registered version's tags say about the decision on it."""
    return {
        "promotion_decision": record["decision"],
        "promotion_reason": record["reason"],
        "promotion_at": record["at_utc"],
        "promotion_by": record["by"],
    }
