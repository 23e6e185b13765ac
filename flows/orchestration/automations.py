"""A server-side Automation for monitor runs that end Failed or Crashed.

The flow's `on_crashed` hook is not run for crashed runs on process work pools (an open Prefect
bug: the process that would run it is the one that died), so `newswatch deploy` also registers
a small notice flow and an Automation that runs it when a monitor run enters Failed or Crashed.
The notice is keyed by the flow run (flows.notify.admin), so when the hook did run too the admin
still gets one e-mail. The notice run also marks the run's `runs` row crashed when its process
is gone, on the worker's host.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from uuid import UUID

from prefect import flow

from flows.config.settings import Settings

AUTOMATION_NAME = "newswatch: monitor run failed or crashed"
NOTICE_FLOW_NAME = "newswatch-failure-notice"
NOTICE_DEPLOYMENT = "failure-notice"
MONITOR_FLOW_NAME = "newswatch-monitor"
log = logging.getLogger(__name__)


@flow(name=NOTICE_FLOW_NAME, log_prints=True, retries=2, retry_delay_seconds=30)
def failure_notice(flow_run_id: str) -> str:
    """Tell the admin about one failed or crashed monitor run (once, whoever asks twice)."""
    from prefect.client.orchestration import get_client

    from flows.notify import admin as admin_notices
    from flows.orchestration.hooks import _deployment_name, _ui_link
    from flows.store import articles, db

    settings = Settings()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
    state = run.state
    reason = f"{state.name}: {state.message or ''}".strip() if state else "unknown state"
    notice = admin_notices.run_failed_notice(
        flow_run_id=str(run.id),
        flow_run_name=str(run.name),
        deployment=_deployment_name(run),
        reason=reason,
        link=_ui_link(str(run.id)),
    )
    with db.connect(db.prepare(settings)) as connection:
        articles.close_abandoned_runs(connection, settings.run_scratch_root)
        new = admin_notices.notify(connection, settings, notice)
    return "sent" if new else "already sent (or no admin address)"


def apply_failure_automation(settings: Settings) -> UUID:
    """Deploy the notice flow on the work pool and create (or update) the Automation."""
    from prefect.automations import AutomationCore, EventTrigger, Posture, RunDeployment
    from prefect.client.orchestration import get_client
    from prefect.types.entrypoint import EntrypointType

    from flows.orchestration.deployments import ensure_work_pool

    ensure_work_pool(settings.work_pool)
    deployment = failure_notice.to_deployment(
        name=NOTICE_DEPLOYMENT,
        description="E-mails the admin about a failed or crashed monitor run (run by an "
        "Automation; see flows/orchestration/automations.py).",
        tags=["newswatch"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    deployment_id = cast(UUID, cast(Any, deployment).apply(work_pool_name=settings.work_pool))
    automation = AutomationCore(
        name=AUTOMATION_NAME,
        description="Runs newswatch-failure-notice/failure-notice for every newswatch-monitor "
        "run that ends Failed or Crashed (hooks do not run for crashed process-pool runs).",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match_related={
                "prefect.resource.role": "flow",
                "prefect.resource.name": MONITOR_FLOW_NAME,
            },
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=deployment_id,
                parameters={"flow_run_id": "{{ flow_run.id }}"},
                job_variables=None,
            )
        ],
    )
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(AUTOMATION_NAME)
        if not existing:
            return client.create_automation(automation)
        client.update_automation(existing[0].id, automation)
        return existing[0].id
