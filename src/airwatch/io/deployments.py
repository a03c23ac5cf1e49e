"""Prefect deployments, the failure alert and the watchdogs, installed from deploy/deployments.yaml.

Every deployment runs a flow of the installed package from a local source on a `process` work pool,
with a concurrency limit of one (a second run waits for the first). Scheduled runs carry Prefect's
idempotency key (deployment, schedule, slot time), so the scheduler never creates a slot twice;
`trigger(..., day)` adds one key per deployment and day for runs started by hand. The failure alert
is an automation on AirWatch flow runs ending Failed or Crashed (a run that will be retried is
AwaitingRetry, not Failed, so a run alerts once); each daily deployment has a watchdog that calls
the same webhook when it has had no completed run for the watchdog's hours.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

import airwatch
from airwatch.errors import AirWatchError
from airwatch.io import audit
from airwatch.io.store import Store

TAG = "airwatch"
WEBHOOK_BLOCK = "airwatch-alerts"
FAILURE_AUTOMATION = "airwatch-flow-run-failed"
WATCHDOG_PREFIX = "airwatch-watchdog-"
# Slack's incoming webhooks take {"text": ...}; the server renders this Jinja template per event.
FAILURE_TEXT = (
    '{"text": {{ ("AirWatch: flow run " ~ flow_run.name ~ " of " ~ flow.name ~ " ended " ~ flow_run.state.name'
    ' ~ ": " ~ (flow_run.state.message or "")) | tojson }}}'
)


class DeploymentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: str  # module:function
    cron: str | None = None
    after: str | None = None
    parameters: dict[str, Any] = {}
    timeout_minutes: int | None = None  # documented in the spec; the flows carry their own timeouts
    daily: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _one_start(self) -> DeploymentSpec:
        if (self.cron is None) == (self.after is None):
            raise ValueError("give either cron or after")
        return self


class DeploySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    work_pool: str
    deployments: dict[str, DeploymentSpec]


def load_spec(path: Path) -> DeploySpec:
    try:
        spec = DeploySpec.model_validate(yaml.safe_load(path.read_text()))
    except FileNotFoundError:
        raise AirWatchError(f"deployment spec {path} does not exist") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise AirWatchError(f"deployment spec {path}: {exc}") from None
    names = set(spec.deployments)
    for name, d in spec.deployments.items():
        if d.after is not None and d.after not in names:
            raise AirWatchError(f"deployment spec {path}: {name} runs after {d.after!r}, which it does not define")
    return spec


def source_dir() -> Path:
    """The folder holding the installed airwatch package: the deployments' local source."""
    return Path(airwatch.__file__).resolve().parent.parent


def entrypoint(flow: str) -> str:
    """module:function as Prefect's file entrypoint relative to the source folder."""
    module, function = flow.split(":")
    return f"{module.replace('.', '/')}.py:{function}"


@dataclass
class Installed:
    work_pool: str
    deployments: dict[str, str] = field(default_factory=dict)  # name -> "flow/deployment"
    schedules: dict[str, str] = field(default_factory=dict)  # name -> cron or "after <name>"
    automations: list[str] = field(default_factory=list)


def _ordered(spec: DeploySpec) -> list[tuple[str, DeploymentSpec]]:
    """Enabled deployments, each after the one it waits for."""
    enabled = {n: d for n, d in spec.deployments.items() if d.enabled}
    done: list[tuple[str, DeploymentSpec]] = []
    while len(done) < len(enabled):
        for name, d in enabled.items():
            if (name, d) not in done and (d.after is None or d.after in dict(done) or d.after not in enabled):
                done.append((name, d))
    return done


def install(spec: DeploySpec, *, webhook_url: str | None, watchdog_hours: float) -> Installed:
    """Create or update the work pool, the deployments and the automations on the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.events import DeploymentEventTrigger
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.flows import Flow
    from prefect.schedules import Cron

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=spec.work_pool, type="process"))
    installed = Installed(spec.work_pool)
    ids: dict[str, Any] = {}
    for name, d in _ordered(spec):
        flow: Any = Flow.from_source(source=str(source_dir()), entrypoint=entrypoint(d.flow))
        triggers = []
        if d.after is not None and d.after in ids:
            upstream = {"prefect.resource.id": f"prefect.deployment.{ids[d.after]}"}
            triggers = [DeploymentEventTrigger(expect={"prefect.flow-run.Completed"}, match_related=upstream)]
        ids[name] = flow.deploy(
            name=name,
            work_pool_name=spec.work_pool,
            schedules=[Cron(d.cron, timezone="UTC")] if d.cron else None,
            triggers=triggers or None,
            parameters=d.parameters,
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            tags=[TAG],
            build=False,
            push=False,
            print_next_steps=False,
            ignore_warnings=True,
        )
        installed.deployments[name] = f"{flow.name}/{name}"
        installed.schedules[name] = d.cron or f"after {d.after}"
    if webhook_url:
        daily = {name: ids[name] for name, d in _ordered(spec) if d.daily}
        installed.automations = _install_automations(webhook_url, daily, timedelta(hours=watchdog_hours))
    return installed


def _install_automations(webhook_url: str, daily: dict[str, Any], within: timedelta) -> list[str]:
    from prefect.automations import Automation
    from prefect.blocks.webhook import Webhook
    from prefect.events.actions import CallWebhook
    from prefect.events.schemas.automations import EventTrigger, Posture

    block_id = Webhook(url=webhook_url, headers={"Content-Type": "application/json"}).save(
        WEBHOOK_BLOCK, overwrite=True
    )
    _delete_automations()  # replaced, not duplicated, when deploy runs again
    failure: Any = Automation(
        name=FAILURE_AUTOMATION,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.id": f"prefect.tag.{TAG}", "prefect.resource.role": "tag"},
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[CallWebhook(block_document_id=block_id, payload=FAILURE_TEXT)],
    ).create()
    names = [failure.name]
    for name, deployment_id in daily.items():
        text = f"AirWatch watchdog: {name} has had no completed run for {within.total_seconds() / 3600:g} hours"
        watchdog: Any = Automation(
            name=f"{WATCHDOG_PREFIX}{name}",
            trigger=EventTrigger(
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={
                    "prefect.resource.role": "deployment",
                    "prefect.resource.id": f"prefect.deployment.{deployment_id}",
                },
                after={"prefect.flow-run.Completed"},
                expect={"prefect.flow-run.Completed"},
                posture=Posture.Proactive,
                threshold=1,
                within=within,
            ),
            actions=[CallWebhook(block_document_id=block_id, payload=f'{{"text": "{text}"}}')],
        ).create()
        names.append(watchdog.name)
    return names


def _delete_automations() -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            if automation.name == FAILURE_AUTOMATION or automation.name.startswith(WATCHDOG_PREFIX):
                client.delete_automation(automation.id)


def audit_installed(store: Store, installed: Installed, spec: Path) -> str:
    """Record in the audit log what `airwatch deploy` created or updated; the record's key."""
    what = {"work_pool": installed.work_pool, "deployments": installed.deployments, "schedules": installed.schedules,
            "automations": installed.automations, "spec": str(spec),
            "spec_sha256": hashlib.sha256(spec.read_bytes()).hexdigest()}  # fmt: skip
    return audit.record(store, "deployment_change", what)


def trigger(deployment: str, day: date, parameters: dict[str, Any] | None = None, *, key: str = "") -> str:
    """Start a deployment's run for a day, once: a second call for the same day (and key) returns the same run."""
    from prefect.deployments import run_deployment

    idempotency = f"{deployment} {day}" + (f" {key}" if key else "")
    run: Any = run_deployment(deployment, parameters=parameters or {}, idempotency_key=idempotency, timeout=0)
    return str(run.id)


def deployed(deployment: str) -> bool:
    """Whether the Prefect server in use has this deployment ("flow/deployment")."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            return False
    return True
