"""Validate: read every raw payload, set aside the unreadable ones, check every row, publish the observations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain import validate as rules
from airwatch.domain.parse import concat_observations
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.runners import SettingsTaskRunner
from airwatch.flows.tasks import Lent, compute_task, io_task, stage_flow
from airwatch.io import datasets, files, quarantine, raw
from airwatch.io.datasets import fingerprint

save_rows = io_task(quarantine.save_rows)
hold = io_task(quarantine.hold)
publish = io_task(datasets.publish)


PARSE_BATCHES = 8  # fixed, not per runner: the same batches, and so the same output, on every runner


@io_task
def parse(ctx: Context, keys: list[str]) -> Lent[tuple[pd.DataFrame, list[rules.Rejected]]]:
    return Lent(rules.parse_payloads(raw.read_payloads(ctx.store, keys), ctx.settings.archives.limits()))


@compute_task
def clean(parsed: Lent[pd.DataFrame], sites: pd.DataFrame, *, max_day: int) -> Lent[rules.Cleaned]:
    # The frames cross Prefect Lent (flows/tasks.py): its records of the run would keep them alive.
    return Lent(rules.clean(parsed.take(), sites, max_day=max_day, consume=True))


def parse_all(ctx: Context, keys: list[str]) -> tuple[pd.DataFrame, list[rules.Rejected]]:
    """Every payload parsed, in batches side by side (the settings' task runner), in key order."""
    size = -(-len(keys) // PARSE_BATCHES) or 1
    futures = [parse.submit(ctx, keys[i : i + size]) for i in range(0, len(keys), size)]
    parts = [f.result().take() for f in futures]
    del futures
    frames, rejected = [frame for frame, _ in parts], [r for _, batch in parts for r in batch]
    del parts
    observations = concat_observations(frames, consume=True)  # never the batches and the whole side by side
    del frames
    # The batches come back Lent, so Prefect's records of the parse runs (reached through reference
    # cycles) hold empty Lents, not frames: a full collection here freed nothing. Measured on the
    # national folder plus Queens (2.06 M observations), validate peaked at 980, 981 MB with it and
    # 925, 982 MB without, in 10.6-11.3 s either way (2026-12-05).
    datasets.release_memory()  # and what the parse threads freed, kept by their arenas
    return observations, rejected


@dataclass(frozen=True)
class ValidateSummary:
    version: str
    rows: int
    valid: int
    quarantined: int
    superseded: int
    reasons: dict[str, int]
    published: bool
    quarantined_files: dict[str, str] = field(default_factory=dict)  # raw key -> reason
    pollutants: dict[str, int] = field(default_factory=dict)  # rows of each forecast pollutant

    @classmethod
    def of(cls, manifest: datasets.Manifest, published: bool) -> ValidateSummary:
        e = manifest.extra
        return cls(manifest.version, e["rows"], manifest.rows, e["quarantined"], e["superseded"], e["reasons"],
                   published, e.get("quarantined_files", {}), e.get("pollutants", {}))  # fmt: skip


@stage_flow(name="validate", task_runner=SettingsTaskRunner(), timeout_seconds=3600)
def validate_flow(store: str | None = None) -> ValidateSummary:
    """Validate the newest raw inventories into processed/observations (nothing to do when already published)."""
    ctx, log = Context.build(store), get_run_logger()
    inventories = raw.latest_inventories(ctx.store)
    if not inventories:
        raise NoDataError(f"no raw inventory in {ctx.store.url}; run 'airwatch ingest' first")
    inputs = {"raw_inventories": {m.dataset: m.version for m in inventories}}
    site_list = files.load_site_list(ctx.settings.validate.site_list, ctx.settings.archives.limits())
    held = quarantine.held(ctx.store)
    keys = [k for m in inventories for k in m.parts]
    if held:
        log.warning("validate: %d files in quarantine are skipped (`airwatch quarantine list`)", len(held))

    def version_for(skipped: list[str]) -> str:
        return fingerprint("observations", inputs, site_list.sha256, ctx.code_version("validate"), sorted(skipped))

    if existing := datasets.find_version(ctx.store, catalog.OBSERVATIONS, version_for(list(held))):
        log.info("validate: observations %s already published, nothing to do", existing.version)
        return ValidateSummary.of(existing, published=False)
    parsed, rejected = parse_all(ctx, [k for k in keys if k not in held])
    for r in hold(ctx.store, rejected, stage="validate", code_version=ctx.code_version("validate")):
        log.warning("validate: quarantined %s: %s", r.key, r.reason)
    skipped = {**{k: h.reason for k, h in held.items()}, **{r.key: r.reason for r in rejected}}
    rules.enforce_file_threshold(len(skipped), len(keys), ctx.settings.validate.max_quarantined_file_share)
    if parsed.empty:
        raise NoDataError(f"nothing usable: none of the {len(keys)} raw files holds an observation")
    version = version_for(list(skipped))
    cleaned = clean(Lent(parsed), site_list.sites, max_day=rules.day_number(datetime.now(UTC).date())).take()
    del parsed  # emptied by clean (handed over): its rows are split, never held twice
    datasets.release_memory()
    if cleaned.located:
        log.info("validate: coordinates of %d sites from the site list %s", len(cleaned.located), site_list.source)
    save_rows(ctx.store, version, cleaned)
    result = cleaned.result
    rules.enforce_threshold(result, ctx.settings.validate.max_quarantine_share, source=f"observations {version}")
    extra = {"rows": cleaned.rows, "quarantined": len(result.quarantined), "superseded": len(cleaned.superseded),
             "reasons": result.reason_counts(), "quarantined_files": skipped,
             "pollutants": rules.pollutant_counts(result.valid)}  # fmt: skip
    manifest, published = publish(ctx.store, catalog.OBSERVATIONS, version, result.valid, plain_text=True,
                           inputs={**inputs, "site_list": site_list.sha256},
                           extra={**extra, "coordinates_from_site_list": cleaned.located})  # fmt: skip
    log.info("validate: %d rows, %d valid, %d quarantined %s; %d files quarantined", cleaned.rows,
             len(result.valid), len(result.quarantined), extra["reasons"], len(skipped))  # fmt: skip
    return ValidateSummary.of(manifest, published)
