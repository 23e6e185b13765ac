"""One settings object for every part of newswatch, read from the environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_sources_file() -> Path:
    """The repository's sources.toml in a checkout, the packaged copy in an installed wheel."""
    in_checkout = REPO_ROOT / "sources.toml"
    if in_checkout.exists():
        return in_checkout
    return Path(__file__).with_name("_default_sources.toml")


class Settings(BaseSettings):
    """Environment-driven configuration; `NEWSWATCH_` prefix, plus the conventional DATABASE_URL."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("newswatch", appauthor=False)),
        description="Where the embedded database, the e-mail outbox and Prefect's home live.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "NEWSWATCH_DATABASE_URL"),
        description="Postgres URL; unset means the embedded server under data_dir.",
    )
    sources_file: Path = Field(default_factory=default_sources_file)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30.0
    max_send_attempts: int = Field(
        default=8, ge=1, description="Runs that try an e-mail the server keeps refusing (4xx)."
    )
    mail_from: str = "newswatch <newswatch@localhost>"

    user_agent: str = "newswatch/0.1 (+{contact_url})"
    contact_url: str = "https://github.com/newswatch/newswatch"
    extract_workers: int = Field(default=0, description="Extraction processes; 0 = one per core.")
    # forkserver: workers forked from one process that imported trafilatura (less CPU, pages
    # shared); spawn: each worker imports it again (a smaller sum of RSS, no shared pages).
    extract_start_method: Literal["forkserver", "spawn"] = "forkserver"

    # Orchestration: the local stack (`newswatch up`), deployments, and notices to the admin.
    admin_email: str | None = Field(
        default=None, description="Gets an e-mail when a run fails or a source stays idle."
    )
    idle_source_runs: int = Field(
        default=6, ge=0, description="E-mail the admin after this many runs storing nothing; 0=off."
    )
    run_retries: int = Field(default=1, ge=0, description="Retries of a failed deployment run.")
    run_retry_delay_seconds: float = Field(default=60.0, ge=0)
    work_pool: str = Field(default="newswatch", description="Prefect process work pool name.")
    prefect_host: str = "127.0.0.1"
    prefect_port: int = Field(default=4287, ge=1, le=65535, description="`newswatch up` API/UI.")
    prefect_database_url: str | None = Field(
        default=None,
        description="Prefect server database (postgresql+asyncpg:// or sqlite+aiosqlite://); "
        "unset: a database beside newswatch's when its server has pg_trgm, else SQLite.",
    )
    stack_workers: int = Field(default=1, ge=1, le=16, description="Workers `newswatch up` runs.")
    stack_start_timeout_seconds: float = Field(default=240.0, gt=0)
    demo_site_port: int = Field(default=8793, ge=0, le=65535, description="`up --demo` test site.")
    # The fleet (flows.orchestration.fleet_flow): shards, ticks, leases, the polling policy.
    fleet_shards: int = Field(default=1, ge=1, le=1024, description="Shards of the fleet.")
    fleet_tick_seconds: float = Field(
        default=75.0, gt=0, description="How long a tick polls, from its scheduled start."
    )
    fleet_probe_threads: int = Field(
        default=8, ge=0, description="Threads asking quiet entry points 'changed since?'; 0: off."
    )
    fleet_drain_seconds: float = Field(
        default=10.0, ge=0, description="How long a tick's last polls may take to finish."
    )
    fleet_pass_limit: int = Field(
        default=200,
        ge=1,
        description="Sources a tick has under way at once (claimed, not yet recorded): a tick "
        "claims no more than it can poll before its end.",
    )
    fleet_lease_seconds: float = Field(
        default=180.0, gt=0, description="A dead tick's sources come back after this long."
    )
    fleet_crawl_concurrency: int = Field(default=64, ge=1, description="Sources crawled at once.")
    poll_policy: Literal["adaptive", "fixed"] = "adaptive"
    poll_fixed_seconds: float = Field(default=900.0, gt=0, description="The fixed policy's.")
    poll_budget: float | None = Field(
        default=25.0,
        gt=0,
        description="Requests per source-hour the adaptive policy shares out over the fleet "
        "(flows.fetch.poll_budget); unset: two polls per expected story, nothing more.",
    )

    # The web app (flows/web): recipients' pages, editors' accounts, archive, feeds.
    public_url: str = Field(
        default="http://127.0.0.1:8790",
        description="Base of every link in e-mails and feeds (https in production: RFC 8058).",
    )
    web_host: str = Field(default="127.0.0.1", description="`newswatch web` binds here.")
    web_port: int = Field(default=8790, ge=0, le=65535)
    web_secret: SecretStr | None = Field(
        default=None,
        description="Signs links and cookies; unset: a random one kept in the data directory.",
    )
    web_previous_secret: SecretStr | None = Field(
        default=None, description="The secret before the last rotation: its links still verify."
    )
    web_secure_cookies: bool | None = Field(
        default=None,
        description="Secure flag on cookies; unset: on when the public URL is https.",
    )
    link_max_age_days: int = Field(default=60, ge=1, description="How long e-mailed links work.")
    operator_name: str = Field(
        default="the newswatch operator", description="Who runs this newswatch (mail footers)."
    )

    @cached_property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @cached_property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @cached_property
    def run_scratch_root(self) -> Path:
        """Per-run spools, <root>/<run id>; a killed run's is removed by the next run."""
        return self.data_dir / "runs"

    @cached_property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @cached_property
    def stack_dir(self) -> Path:
        return self.data_dir / "stack"

    @cached_property
    def web_secret_file(self) -> Path:
        return self.data_dir / "web-secret"

    @property
    def prefect_api_url(self) -> str:
        return f"http://{self.prefect_host}:{self.prefect_port}/api"

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def resolved_user_agent(self) -> str:
        return self.user_agent.format(contact_url=self.contact_url)
