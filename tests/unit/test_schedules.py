"""Schedules in the sources file: cron or interval, validated with errors naming the source."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flows.config.schedules import Schedule, parse_interval
from flows.config.settings import REPO_ROOT
from flows.config.sources import SourcesFileError, load_sources

SOURCE = """
[[source]]
name = "{name}"
start_urls = ["https://news.example.org/"]
article_url_patterns = ['^/story/']
{schedule}
"""


def _file(tmp_path: Path, schedule: str, name: str = "example") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCE.format(name=name, schedule=schedule), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (3600, 3600), ("1.5h", 5400)],
)
def test_parse_interval(value: str | int, seconds: float) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["15 minutes", "m15", "", "30s", 10, True])
def test_parse_interval_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_interval(value)  # type: ignore[arg-type]


def test_cron_and_interval_schedules_load(tmp_path: Path) -> None:
    cron = load_sources(
        _file(tmp_path, 'schedule = { cron = "*/20 6-22 * * 1-5", timezone = "Europe/Berlin" }')
    )
    assert cron[0].schedule == Schedule(cron="*/20 6-22 * * 1-5", timezone="Europe/Berlin")
    assert cron[0].schedule.describe() == "cron */20 6-22 * * 1-5 (Europe/Berlin)"
    interval = load_sources(_file(tmp_path, '[source.schedule]\ninterval = "45m"'))
    assert interval[0].schedule is not None
    assert interval[0].schedule.interval_delta == timedelta(minutes=45)
    assert load_sources(_file(tmp_path, ""))[0].schedule is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ('schedule = { cron = "61 * * * *" }', "invalid cron expression"),
        ('schedule = { cron = "* * * *" }', "five fields"),
        ('schedule = { interval = "5s" }', "at least 60 s"),
        ('schedule = { interval = "often" }', "not seconds or a number with a unit"),
        ('schedule = { cron = "0 * * * *", interval = "1h" }', "exactly one of"),
        ('schedule = { timezone = "UTC" }', "exactly one of"),
        ('schedule = { cron = "0 * * * *", timezone = "Mars/Olympus" }', "unknown time zone"),
        ('schedule = { every = "1h" }', "Extra inputs are not permitted"),
    ],
)
def test_bad_schedules_name_source_and_field(tmp_path: Path, schedule: str, message: str) -> None:
    with pytest.raises(SourcesFileError) as caught:
        load_sources(_file(tmp_path, schedule, name="wire"))
    text = str(caught.value)
    assert "source 'wire', field schedule" in text
    assert message in text


def test_shipped_sources_have_schedules() -> None:
    for source in load_sources(REPO_ROOT / "sources.toml"):
        assert source.schedule is not None, source.name
