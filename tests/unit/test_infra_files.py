"""docker-compose.yml, infra/Dockerfile, infra/.env.example and infra/prefect.yaml agree with the
code: no Docker engine runs here, so what can be checked without one is checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from flows.config.settings import REPO_ROOT, Settings
from flows.config.sources import load_sources
from flows.orchestration.deployments import FLOW_ENTRYPOINT, job_variables, plan_deployments

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "infra" / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / "infra" / ".env.example"
PREFECT_YAML = REPO_ROOT / "infra" / "prefect.yaml"
OURS = re.compile(r"^(NEWSWATCH_[A-Z0-9_]+|DATABASE_URL)$")


def settings_env_names() -> set[str]:
    """Every environment name Settings reads: NEWSWATCH_<FIELD>, plus declared aliases."""
    names = set()
    prefix = Settings.model_config.get("env_prefix", "")
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def test_settings_env_names_include_the_known_ones() -> None:
    names = settings_env_names()
    assert {"DATABASE_URL", "NEWSWATCH_SMTP_HOST", "NEWSWATCH_ADMIN_EMAIL"} <= names
    assert "NEWSWATCH_NO_SUCH_SETTING" not in names


def test_every_service_env_name_is_a_setting(compose: dict[str, Any]) -> None:
    known = settings_env_names()
    seen = set()
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"service {name}: use a mapping for environment"
        for key in environment:
            if OURS.match(key):
                assert key in known, f"service {name}: {key} is not read by flows.config.settings"
                seen.add(key)
    assert "DATABASE_URL" in seen and "NEWSWATCH_ADMIN_EMAIL" in seen


def test_services_have_healthchecks_named_volumes_and_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "prefect-server", "deploy", "worker", "mailpit"} <= set(services)
    for name in ("postgres", "prefect-server", "worker", "mailpit"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"service {name}: volume {source} not declared"
    assert services["worker"]["depends_on"]["deploy"]["condition"] == (
        "service_completed_successfully"
    )
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert "PREFECT_SERVER_API_AUTH_STRING" in server_env
    assert "PREFECT_API_AUTH_STRING" in services["worker"]["environment"]
    assert services["worker"]["environment"]["NEWSWATCH_WORK_POOL"] == Settings().work_pool
    assert services["worker"]["command"][:5] == [
        "prefect",
        "worker",
        "start",
        "--pool",
        "newswatch",
    ]


def test_no_secrets_in_compose_and_every_variable_documented(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|AUTH_STRING|SECRET", key):
                assert "${" in str(value), f"{key} must come from the environment, not the file"
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    documented = set(_env_example())
    assert referenced - documented == set(), "add these to infra/.env.example"
    known = settings_env_names()
    for name in documented:
        if OURS.match(name):
            assert name in known, f"infra/.env.example: {name} is not a setting"


def test_dockerfile_copies_what_exists_and_sets_known_env() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), f"Dockerfile copies missing {source}"
    for name in re.findall(r"\b(NEWSWATCH_[A-Z0-9_]+)=", text):
        assert name in settings_env_names()
    assert f'"--pool", "{Settings().work_pool}"' in text
    assert "pip install --constraint requirements.lock ." in text  # the tested versions


def test_prefect_yaml_matches_the_deployments_code() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    raw = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    project = PrefectYamlModel.model_validate(raw)
    settings = Settings()
    plans = {plan.name: plan for plan in plan_deployments(load_sources(settings.sources_file))}
    assert {d.name for d in project.deployments} == set(plans)
    module, function = FLOW_ENTRYPOINT.rsplit(".", 1)
    for deployment in project.deployments:
        plan = plans[deployment.name or ""]
        path, _, name = (deployment.entrypoint or "").partition(":")
        assert (Path(path).with_suffix("").as_posix().replace("/", "."), name) == (module, function)
        assert deployment.parameters == plan.parameters
        assert deployment.work_pool is not None
        assert deployment.work_pool.name == settings.work_pool
        assert deployment.work_pool.job_variables == job_variables(Settings(run_retries=1))
        limit = deployment.concurrency_limit
        assert not isinstance(limit, int) and limit is not None
        assert (limit.limit, limit.collision_strategy) == (1, "ENQUEUE")
        assert plan.schedule is not None and deployment.schedules is not None
        (schedule,) = deployment.schedules
        dumped = schedule.model_dump() if hasattr(schedule, "model_dump") else dict(schedule)
        if plan.schedule.cron:
            assert dumped.get("cron") == plan.schedule.cron
        else:
            assert plan.schedule.interval_delta is not None
            interval = dumped.get("interval")
            seconds = interval.total_seconds() if hasattr(interval, "total_seconds") else interval
            assert seconds == plan.schedule.interval_delta.total_seconds()
