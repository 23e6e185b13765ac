"""Prefect state hooks: when a monitor run ends Failed or Crashed, the admin gets an e-mail.

Prefect calls `on_failure` hooks only once retries are used up, so a run that recovers on a
retry sends nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flows.config.settings import Settings
from flows.notify import admin as admin_notices
from flows.store import db

log = logging.getLogger(__name__)


def _ui_link(flow_run_id: str) -> str | None:
    from prefect.settings import get_current_settings

    ui_url = get_current_settings().ui_url
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui_url else None


def _deployment_name(flow_run: Any) -> str | None:
    deployment_id = getattr(flow_run, "deployment_id", None)
    if deployment_id is None:
        return None
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            return str(client.read_deployment(deployment_id).name)
    except Exception:  # the notice matters more than the deployment's name
        return str(deployment_id)


def notify_admin_of_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Hook for `@flow(on_failure=..., on_crashed=...)`; never raises (it must not mask the
    run's own failure)."""
    try:
        settings = Settings()
        notice = admin_notices.run_failed_notice(
            flow_run_id=str(flow_run.id),
            flow_run_name=str(flow_run.name),
            deployment=_deployment_name(flow_run),
            reason=f"{state.name}: {state.message or ''}".strip(),
            link=_ui_link(str(flow_run.id)),
        )
        try:
            with db.connect(db.prepare(settings)) as connection:
                admin_notices.notify(connection, settings, notice)
        except Exception as exc:  # the database may be what failed: send without the record
            log.warning("recording the failure notice failed (%s); sending it directly", exc)
            admin_notices.send_without_database(settings, notice)
    except Exception:
        log.exception("could not notify the admin of failed flow run %s", flow_run.id)
