"""When a source is crawled: a cron expression or a fixed interval, given in the sources file.

Validated here without importing Prefect (the crawl child process loads sources too, and must
start fast); flows.orchestration.deployments turns a schedule into Prefect's own schedule objects.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
MIN_INTERVAL_SECONDS = 60
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def parse_interval(value: str | int | float) -> float:
    """Seconds from a number of seconds or a string like "90s", "15m", "2h", "1d"."""
    if isinstance(value, bool):
        raise ValueError("interval must be seconds or a string like '15m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _INTERVAL_PATTERN.match(value)
        if not match:
            raise ValueError(
                f"interval {value!r} is not seconds or a number with a unit s/m/h/d, e.g. '15m'"
            )
        seconds = float(match.group(1)) * _INTERVAL_UNITS[match.group(2)]
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"interval must be at least {MIN_INTERVAL_SECONDS} s, got {seconds:g} s")
    return seconds


class Schedule(BaseModel):
    """Exactly one of `cron` (five fields, e.g. "*/30 * * * *") or `interval` ("30m", 1800)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str | None = None
    interval: str | int | float | None = None
    timezone: Annotated[str, Field(min_length=1)] = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, expression: str | None) -> str | None:
        if expression is None:
            return None
        from cronsim import CronSim, CronSimError

        if len(expression.split()) != 5:
            raise ValueError(
                f"cron {expression!r} must have five fields (minute hour day month weekday)"
            )
        try:
            CronSim(expression, _EPOCH)
        except CronSimError as exc:
            raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
        return expression

    @field_validator("interval")
    @classmethod
    def _valid_interval(cls, value: str | int | float | None) -> str | int | float | None:
        if value is not None:
            parse_interval(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (use an IANA name like 'Europe/Berlin')"
            ) from None
        return name

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("a schedule needs exactly one of 'cron' or 'interval'")
        return self

    @property
    def interval_delta(self) -> timedelta | None:
        return None if self.interval is None else timedelta(seconds=parse_interval(self.interval))

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        return f"every {self.interval_delta}"
