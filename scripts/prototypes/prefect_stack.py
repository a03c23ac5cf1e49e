"""Prefect 3 against the stack's server: deployments, a process worker, idempotency, automations.

Run with the stack's env loaded (scripts/stack.sh up; set -a; . build/stack/env; set +a):
    python scripts/prototypes/prefect_stack.py

What it shows, end to end (each step asserts; see docs/production-notes.md):
  (a) deployments from a local source on a `process` work pool: cron schedule, parameters,
      concurrency limit 1 (CANCEL_NEW), job variables (env);
  (b) a worker (`prefect worker start --pool ... --type process`) runs them;
  (c) idempotency: scheduled runs carry "scheduled <deployment> <schedule> <time>"; run_deployment
      with the same idempotency_key returns the same run;
  (d) an automation on flow runs ending Failed/Crashed calls a Webhook block that POSTs
      Slack-style JSON {"text": ...} to a local receiver, once per run even with a retry;
  (e) a proactive watchdog: no Completed run of the deployment within `within` fires the webhook.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from prefect import flow
from prefect.automations import Automation
from prefect.blocks.webhook import Webhook
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, StateType
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments import run_deployment
from prefect.events.actions import CallWebhook
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

HERE = Path(__file__).resolve().parent
TAG = uuid.uuid4().hex[:6]
POOL = f"proto-process-{TAG}"
WATCHDOG_WITHIN = timedelta(seconds=20)  # 26 h in production; >= 10 s is all Prefect accepts
TERMINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


class Receiver(BaseHTTPRequestHandler):
    """A Slack-compatible incoming webhook: records each POST's content type and JSON body."""

    posts: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    times: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.posts.append((self.headers.get("Content-Type", ""), json.loads(body)))
        Receiver.times.append(time.time())
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def run_state(run_id: uuid.UUID) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def main() -> None:
    t0 = time.perf_counter()
    marker_dir = Path(tempfile.mkdtemp(prefix="proto-markers-"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))

    # (a) Deployments from a local folder: the worker's run starts in that folder (pull step
    # set_working_directory) and imports the entrypoint from there. build/push off: nothing to ship.
    daily_id = flow.from_source(source=str(HERE), entrypoint="proto_flows.py:daily").deploy(
        name=f"daily-{TAG}",
        work_pool_name=POOL,
        schedules=[CronSchedule(cron="0 6 * * *", timezone="UTC")],
        parameters={"marker_dir": str(marker_dir)},
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        job_variables={"env": {"PROTO_GREETING": "hello from job_variables"}},
        build=False,
        push=False,
        print_next_steps=False,
        ignore_warnings=True,
    )
    fails_id = flow.from_source(source=str(HERE), entrypoint="proto_flows.py:fails").deploy(
        name=f"fails-{TAG}", work_pool_name=POOL, build=False, push=False, print_next_steps=False, ignore_warnings=True
    )
    print(f"(a) deployments proto-daily/daily-{TAG}={daily_id} proto-fails/fails-{TAG}={fails_id}")

    # (c) The scheduler has already created upcoming runs, each with its own idempotency key.
    with get_client(sync_client=True) as client:
        dep = client.read_deployment(daily_id)
        print(
            f"(a) concurrency_limit={dep.global_concurrency_limit and dep.global_concurrency_limit.limit} "
            f"options={dep.concurrency_options} job_variables={dep.job_variables} pull_steps={dep.pull_steps}"
        )
        scheduled = wait_for(
            "scheduled runs",
            lambda: client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[daily_id]))),
            60,
        )
        keys = sorted(r.idempotency_key or "" for r in scheduled)
        assert all(k.startswith(f"scheduled {daily_id} ") for k in keys), keys
        print(f"(c) {len(scheduled)} scheduled runs; idempotency_key e.g. {keys[0]!r}")

    # (d) The webhook is a Webhook block (the URL is a secret field); the payload is a Jinja
    # template rendered by the server, sent as the raw body, so the block sets the content type.
    block = Webhook(url=hook_url, headers={"Content-Type": "application/json"})
    block_id = block.save(f"proto-hook-{TAG}", overwrite=True)
    on_failure = Automation(
        name=f"proto-flow-run-failed-{TAG}",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            CallWebhook(
                block_document_id=block_id,
                payload='{"text": {{ ("AirWatch: flow run " ~ flow_run.name ~ " of " ~ flow.name ~ " ended "'
                ' ~ flow_run.state.name ~ ": " ~ (flow_run.state.message or "")) | tojson }}}',
            )
        ],
    ).create()
    # (e) Armed at creation and re-armed by each Completed run of the deployment: fires when
    # `within` passes with no Completed run (after and expect both name the Completed event).
    watchdog = Automation(
        name=f"proto-watchdog-{TAG}",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.role": "deployment",
                "prefect.resource.id": f"prefect.deployment.{daily_id}",
            },
            after={"prefect.flow-run.Completed"},
            expect={"prefect.flow-run.Completed"},
            posture=Posture.Proactive,
            threshold=1,
            within=WATCHDOG_WITHIN,
        ),
        actions=[
            CallWebhook(
                block_document_id=block_id,
                payload='{"text": {{ ("AirWatch watchdog: " ~ automation.name ~ ": no completed run") | tojson }}}',
            )
        ],
    ).create()
    print(f"(d,e) automations {on_failure.id} {watchdog.id}")

    # (b) A process worker for the pool; it polls every 2 s here (default 10 s).
    log = open(marker_dir / "worker.log", "wb")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process"],
        env={**os.environ, "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_PREFETCH_SECONDS": "5"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # (c) run_deployment with an idempotency key: the second call returns the first run.
        key = f"proto-daily 2026-01-01 {TAG}"
        first = run_deployment(f"proto-daily/daily-{TAG}", idempotency_key=key, timeout=0)
        again = run_deployment(f"proto-daily/daily-{TAG}", idempotency_key=key, timeout=0)
        assert first.id == again.id, (first.id, again.id)
        state = wait_for("the daily run", lambda: (s := run_state(first.id)).type in TERMINAL and s, 180)
        assert state.type == StateType.COMPLETED, state
        seen = json.loads((marker_dir / f"{first.id}.json").read_text())
        assert seen["greeting"] == "hello from job_variables", seen
        print(f"(b,c) run {first.id} Completed; same id for the same key; the flow saw {seen}")

        # Concurrency limit 1 with CANCEL_NEW: of two overlapping runs, the second is cancelled.
        a = run_deployment(f"proto-daily/daily-{TAG}", parameters={"sleep": 10}, timeout=0)
        wait_for("the first long run to start", lambda: run_state(a.id).type == StateType.RUNNING, 120)
        b = run_deployment(f"proto-daily/daily-{TAG}", parameters={"sleep": 10}, timeout=0)
        states = [wait_for("both runs", lambda r=r: (s := run_state(r.id)).type in TERMINAL and s, 180) for r in (a, b)]
        print(f"(a) concurrency 1 / CANCEL_NEW: {[s.name for s in states]} ({states[1].message!r})")
        assert [s.type for s in states] == [StateType.COMPLETED, StateType.CANCELLED], states

        # (d) A failing flow with one retry: one webhook POST, for the final Failed state.
        bad = run_deployment(f"proto-fails/fails-{TAG}", timeout=0)
        state = wait_for("the failing run", lambda: (s := run_state(bad.id)).type in TERMINAL and s, 180)
        assert state.type == StateType.FAILED, state
        with get_client(sync_client=True) as client:
            history = [s.name for s in client.read_flow_run_states(bad.id)]
        print(f"(d) failing run states: {history}")
        post = wait_for("the failure webhook", lambda: [p for p in Receiver.posts if "ended" in p[1]["text"]], 90)
        time.sleep(5)  # a second POST (for the retried attempt) would have arrived by now
        failures = [p for p in Receiver.posts if "ended" in p[1]["text"]]
        assert len(failures) == 1, failures
        assert post[0][0] == "application/json" and bad.name in post[0][1]["text"], post
        print(f"(d) webhook POST: {post[0]}")

        # (e) The last Completed run was a few seconds ago; WATCHDOG_WITHIN later the watchdog fires.
        dog = wait_for(
            "the watchdog webhook",
            lambda: [p for p in Receiver.posts if "watchdog" in p[1]["text"]],
            WATCHDOG_WITHIN.total_seconds() + 60,
        )
        last_completed = max(run_state(r.id).timestamp.timestamp() for r in (first, a))
        fired = Receiver.times[Receiver.posts.index(dog[0])]
        print(f"(e) watchdog POST {fired - last_completed:.0f}s after the last Completed run: {dog[0]}")
        assert fired - last_completed >= WATCHDOG_WITHIN.total_seconds(), "the watchdog fired early"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        for automation in (on_failure, watchdog):
            automation.delete()
        with get_client(sync_client=True) as client:
            for dep_id in (daily_id, fails_id):
                with contextlib.suppress(ObjectNotFound):
                    client.delete_deployment(dep_id)
            client.delete_work_pool(POOL)
            client.delete_block_document(block_id)
        server.shutdown()
    print(f"prefect prototype OK in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
