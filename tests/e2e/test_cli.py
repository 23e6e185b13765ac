"""The `newswatch` command as a user runs it: a fresh data directory, embedded defaults."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from flows.config.settings import REPO_ROOT
from flows.stack.local import free_port, http_ok, stop_embedded_postgres, terminate_tree


@pytest.fixture
def fresh_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Nothing configured: no DATABASE_URL, no SMTP, no Prefect API, an empty data directory."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("NEWSWATCH_", "PREFECT_", "DATABASE_URL"))
    }
    environment["NEWSWATCH_DATA_DIR"] = str(tmp_path / "data")
    yield environment
    stop_embedded_postgres(tmp_path / "data" / "pgdata")


def newswatch(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_demo_twice_on_a_fresh_data_directory(fresh_env: dict[str, str], tmp_path: Path) -> None:
    web_port = free_port("127.0.0.1")
    fresh_env["NEWSWATCH_PUBLIC_URL"] = f"http://127.0.0.1:{web_port}"
    fresh_env["NEWSWATCH_WEB_PORT"] = str(web_port)
    first = newswatch("demo", "--json", str(tmp_path / "first.json"), environment=fresh_env)
    assert first.returncode == 0, first.stderr[-3000:]
    # A quiet console: stage lines and the summary, the logs in the file it names.
    printed_lines = (first.stdout + first.stderr).splitlines()
    assert len(printed_lines) <= 25, printed_lines
    (log_line,) = [line for line in printed_lines if "full log: " in line]
    log_file = Path(log_line.split("full log: ", 1)[1])
    assert log_file.parent == Path(fresh_env["NEWSWATCH_DATA_DIR"]) / "logs"
    assert "[scrapy.core.engine] Spider opened" in log_file.read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "first.json").read_text())
    assert summary["articles_new"] > 30 and summary["emails_sent"] >= 3
    assert summary["pages_fetched"] > summary["articles_new"]
    assert summary["errors"] == []
    printed = {
        "pages fetched": summary["pages_fetched"],
        "articles stored": summary["articles_new"],
        "duplicates skipped": summary["articles_duplicate"],
        "watches matched": summary["watches_matched"],
        "e-mails sent": summary["emails_sent"],
    }
    for label, value in printed.items():
        assert re.search(rf"{label}\s+{value}\b", first.stdout), label
    outbox = Path(fresh_env["NEWSWATCH_DATA_DIR"]) / "outbox"
    assert len(list(outbox.glob("*.eml"))) == summary["emails_sent"]
    assert str(outbox) in first.stdout

    second = newswatch("demo", "--json", str(tmp_path / "second.json"), environment=fresh_env)
    assert second.returncode == 0, second.stderr[-3000:]
    again = json.loads((tmp_path / "second.json").read_text())
    assert (again["articles_new"], again["emails_sent"], again["alerts_new"]) == (0, 0, 0)
    assert len(list(outbox.glob("*.eml"))) == summary["emails_sent"]
    _demo_mail_links_work(sorted(outbox.glob("*.eml"))[0], fresh_env)


def _demo_mail_links_work(eml: Path, environment: dict[str, str]) -> None:
    """A demo e-mail's "your alerts" link opens that reader's page under `newswatch web`, and its
    List-Unsubscribe link, POSTed bare as a mail client does (RFC 8058), leaves its watches."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    body = message.get_body(("plain",))
    assert body is not None
    manage = re.search(r"Your alerts \(leave a watch, pause, digest\): (\S+)", body.get_content())
    assert manage is not None
    base = environment["NEWSWATCH_PUBLIC_URL"]
    assert unsubscribe.startswith(base) and manage.group(1).startswith(base)
    server = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "web"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not http_ok(base + "/login"):
            assert server.poll() is None, "newswatch web exited"
            assert time.monotonic() < deadline, "newswatch web did not answer within 60 s"
            time.sleep(0.2)
        with httpx.Client(follow_redirects=True, timeout=30) as reader:
            page = reader.get(manage.group(1))
            assert page.status_code == 200 and str(message["To"]) in page.text
            watches_before = page.text.count('id="leave-')
            assert watches_before > 0
            left = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=30)
            assert left.status_code == 200 and "Unsubscribed" in left.text
            watches_after = reader.get(manage.group(1)).text.count('id="leave-')
        assert watches_after < watches_before
    finally:
        terminate_tree(psutil.Process(server.pid), timeout=10)
        server.wait(timeout=10)


def test_watch_commands_and_their_errors(fresh_env: dict[str, str]) -> None:
    added = newswatch(
        "watch",
        "add",
        "nk",
        '"north korea" -sport',
        "--email",
        "desk@example.com",
        environment=fresh_env,
    )
    assert added.returncode == 0, added.stderr
    listed = newswatch("watch", "list", environment=fresh_env)
    assert "nk" in listed.stdout and '"north korea" -sport' in listed.stdout

    bad_query = newswatch(
        "watch",
        "add",
        "bad",
        '"north korea -sport',
        "--email",
        "desk@example.com",
        environment=fresh_env,
    )
    assert bad_query.returncode == 2
    assert "unbalanced quote" in bad_query.stderr

    bad_address = newswatch("watch", "add", "x", "Kursk", "--email", "desk", environment=fresh_env)
    assert bad_address.returncode == 2 and "not an e-mail address" in bad_address.stderr

    duplicate = newswatch(
        "watch", "add", "nk", "Kursk", "--email", "desk@example.com", environment=fresh_env
    )
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr

    assert newswatch("watch", "remove", "nk", environment=fresh_env).returncode == 0
    missing = newswatch("watch", "remove", "nk", environment=fresh_env)
    assert missing.returncode == 2 and "no watch named 'nk'" in missing.stderr


def test_malformed_sources_file_is_a_clear_error(fresh_env: dict[str, str], tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "site"\nstart_urls = ["ftp://x"]\n', encoding="utf-8")
    result = newswatch("run", "--sources", str(sources), environment=fresh_env)
    assert result.returncode == 2
    assert str(sources) in result.stderr
    assert "source 'site', field start_urls" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains_every_command(fresh_env: dict[str, str]) -> None:
    result = newswatch("--help", environment=fresh_env)
    assert result.returncode == 0
    for command in ("demo", "run", "watch", "DATABASE_URL", "NEWSWATCH_DATA_DIR"):
        assert command in result.stdout


@pytest.mark.slow
def test_run_with_one_failing_source_exits_with_errors(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.testsite import TestSite
    from tests.e2e.test_run_states import SLOW_SOURCE
    from tests.support.drip import DripSite

    with TestSite() as site, DripSite(seconds=60) as slow:
        shipped = (REPO_ROOT / "sources.toml").read_text(encoding="utf-8")
        text = shipped.replace("https://www.daily8.com", site.base_url).replace(
            '"www.daily8.com"', f'"{site.host}"'
        )
        sources = tmp_path / "sources.toml"
        sources.write_text(text + SLOW_SOURCE.format(origin=slow.base_url), encoding="utf-8")
        result = newswatch(
            "run",
            "--sources",
            str(sources),
            "--source",
            "daily8",
            "--source",
            "slow",
            environment=fresh_env,
        )
    assert result.returncode == 3, result.stderr[-3000:]  # completed with errors
    printed = result.stdout + result.stderr
    assert re.search(r"failed sources\s+slow", result.stdout)
    assert "run completed with errors; full log: " in result.stdout
    assert "Traceback" not in printed and len(printed.splitlines()) <= 25, printed
