"""Prefect defaults for newswatch, applied before Prefect is imported (it reads env at import)."""

from __future__ import annotations

import os
from pathlib import Path

from flows.config.settings import Settings


def configure_prefect_environment(settings: Settings) -> None:
    """Local state under our data dir; a temporary API that has time to start on slow machines.

    Without PREFECT_API_URL, Prefect starts a temporary local API server for the run; its default
    20 s start-up timeout is too short on small machines.
    """
    os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect"))
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "true")
