"""The whole story through a real browser (Debian's chromium and chromedriver, Selenium):
an editor signs in, types a query and sees the preview, saves with backfill; a run sends the
e-mails to a real SMTP server; a recipient opens "your alerts" from hers and leaves the watch;
the next run sends her nothing (and the other recipient the new story); he unsubscribes with a
bare one-click POST. Every page is saved as a screenshot (NEWSWATCH_SCREENSHOTS_DIR: a copy)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.demo import DEMO_SCRAPY_SETTINGS
from flows.match.watches import get_watch
from flows.store import db
from flows.testsite import TestSite
from flows.testsite.stories import DEFAULT_STORIES_PATH
from flows.web.app import create_app
from flows.web.server import serve_in_thread
from tests.support.smtp import SmtpSink, free_port

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ANN = "ann@example.com"
BOB = "bob@example.com"
PASSWORD = "walk the whole story"
LONG_TITLE = (
    "Solar farm cooperative in the northern valley wins approval after a three-year planning "
    "dispute over grid connections, land leases, wildlife corridors and the height of panels"
)


def _run(site: TestSite) -> dict[str, Any]:
    from flows.flow import monitor

    state = monitor(
        sources_file=str(REPO_ROOT / "sources.toml"),
        source_names=["daily8"],
        origin=site.base_url,
        scrapy_settings=DEMO_SCRAPY_SETTINGS,
        return_state=True,
    )
    assert state.is_completed(), state
    summary: dict[str, Any] = state.result()
    return summary


def _more_stories(path: Path) -> Path:
    """The bundled stories plus a new one the watch matches, with a long title."""
    document = json.loads(DEFAULT_STORIES_PATH.read_text(encoding="utf-8"))
    document["stories"].append(
        {
            "id": "5" * 32,
            "lang": "en",
            "title": LONG_TITLE,
            "publisher": "Valley Courier",
            "published": "2 hours ago",
            "category": "Environment",
            "hashtags": ["Energy"],
            "paragraphs": [
                "A cooperative of farmers won approval on Tuesday for a solar farm on forty "
                "hectares of poor grazing land, ending a planning dispute that lasted three years.",
                "The panels will feed the regional grid from next spring; the council attached "
                "conditions on hedgerows, a wildlife corridor and the height of the frames.",
            ],
        }
    )
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "the browser tests need Debian's chromium and chromium-driver (apt-get install)"
    )
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1100",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


class Screens:
    def __init__(self, driver: Any, folder: Path) -> None:
        self.driver = driver
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        self.count += 1
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(800, min(int(height) + 40, 4000)))
        self.driver.save_screenshot(str(self.folder / f"{self.count:02d}-{name}.png"))

    def copy_out(self) -> None:
        target = os.environ.get("NEWSWATCH_SCREENSHOTS_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            for shot in sorted(self.folder.glob("*.png")):
                shutil.copy2(shot, Path(target) / shot.name)


def _messages_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    found = []
    for _, recipients, raw in sink.messages:
        if address in recipients:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
    return found


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_the_whole_story_in_a_browser(
    prefect_api: None,
    settings: Settings,
    clean_db: str,
    smtp_server: SmtpSink,
    browser: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("NEWSWATCH_PUBLIC_URL", base_url)
    monkeypatch.setenv("NEWSWATCH_MAIL_FROM", "newswatch <alerts@newsroom.example>")
    walk_settings = Settings()
    screens = Screens(browser, tmp_path / "screenshots")
    wait = WebDriverWait(browser, 30)

    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "user",
            "add",
            "editor",
            "--email",
            "editor@newsroom.example",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr

    with TestSite() as site:
        first = _run(site)  # stories are stored before any watch exists
    assert first["articles_new"] > 0 and first["emails_sent"] == 0

    with serve_in_thread(create_app(walk_settings, clean_db), port=port):
        # The editor signs in.
        browser.get(base_url + "/")
        wait.until(EC.presence_of_element_located((By.NAME, "password")))
        screens.take("login")
        browser.find_element(By.NAME, "name").send_keys("editor")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait.until(EC.url_to_be(base_url + "/watches"))
        screens.take("watches-empty")

        # An Arabic query first: the preview reads right to left.
        browser.get(base_url + "/watches/new")
        browser.find_element(By.ID, "query").send_keys("المياه")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#preview .counts")))
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#preview mark")))
        screens.take("preview-arabic")

        # The editor types the query: a parse error while the quote is open, then counts.
        browser.get(base_url + "/watches/new")
        query = browser.find_element(By.ID, "query")
        query.send_keys('"solar')
        wait.until(EC.text_to_be_present_in_element((By.ID, "preview"), "unbalanced quote"))
        screens.take("preview-error")
        query.clear()
        query.send_keys("solar OR photovoltaic")
        wait.until(
            EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#preview .counts"), "in 24 h")
        )
        counts = browser.find_element(By.CSS_SELECTOR, "#preview .counts").text
        found = int(re.search(r"(\d+) in 24 h", counts).group(1))  # type: ignore[union-attr]
        assert found >= 1
        assert browser.find_elements(By.CSS_SELECTOR, "#preview mark")
        screens.take("preview-solar")
        browser.find_element(By.NAME, "name").send_keys("Solar power")
        browser.find_element(By.NAME, "recipients").send_keys(f"{ANN}\n{BOB}")
        Select(browser.find_element(By.ID, "backfill")).select_by_value("30d")
        browser.find_element(By.ID, "save").click()
        wait.until(EC.url_contains("/watches?done="))
        notice = browser.find_element(By.CSS_SELECTOR, ".notice").text
        assert f"backfill: {found} stories alerted" in notice
        screens.take("watch-saved")

        # A run happens: the backfilled stories reach both recipients.
        with TestSite() as site:
            second = _run(site)
        assert second["emails_sent"] == 2
        ann_mail = _messages_to(smtp_server, ANN)
        assert len(ann_mail) == 1 and len(_messages_to(smtp_server, BOB)) == 1
        plain = _plain(ann_mail[0])
        manage = re.search(r"Your alerts \(.*?\): (\S+)", plain)
        assert manage is not None and manage.group(1).startswith(base_url + "/r/")

        # Ann opens "your alerts" from her e-mail and leaves the watch.
        browser.delete_all_cookies()
        browser.get(manage.group(1))
        wait.until(EC.url_to_be(base_url + "/me"))
        assert ANN in browser.page_source and "Solar power" in browser.page_source
        screens.take("your-alerts")
        browser.find_element(By.CSS_SELECTOR, "button[id^=leave-]").click()
        wait.until(EC.url_contains("done=left"))
        assert "You are on no watch" in browser.page_source
        screens.take("your-alerts-left")

        # The next run has a new solar story: Bob gets it, Ann nothing.
        with TestSite(_more_stories(tmp_path / "stories.json")) as site:
            third = _run(site)
        assert third["articles_new"] >= 1
        assert len(_messages_to(smtp_server, ANN)) == 1
        bob_mail = _messages_to(smtp_server, BOB)
        assert len(bob_mail) == 2 and LONG_TITLE in _plain(bob_mail[1])

        # Bob: the one-click page (GET only asks), then the bare POST his mail client sends.
        unsubscribe = str(bob_mail[1]["List-Unsubscribe"]).strip().strip("<>")
        assert bob_mail[1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        browser.delete_all_cookies()
        browser.get(unsubscribe)
        screens.take("unsubscribe-ask")
        response = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200 and "Unsubscribed" in response.text
        with db.connect(clean_db) as connection:
            assert get_watch(connection, "Solar power").recipients == ()

        # The editor's archive and story pages (the long title among them).
        browser.get(base_url + "/login")
        browser.find_element(By.NAME, "name").send_keys("editor")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait.until(EC.url_to_be(base_url + "/watches"))
        screens.take("watches")
        browser.get(base_url + "/archive?q=solar")
        assert LONG_TITLE in browser.page_source
        screens.take("archive-solar")
        browser.find_element(By.CSS_SELECTOR, "ol.hits li a").click()
        wait.until(EC.url_contains("/stories/"))
        headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.list th")]
        assert headers[-2:] == ["First seen", "Last seen"], headers
        screens.take("story")
        browser.get(base_url + "/archive?q=المياه")
        screens.take("archive-arabic")
        browser.get(base_url + f"/watches/{get_watch_id(clean_db)}")
        screens.take("watch-edit")
    screens.copy_out()
    assert screens.count == 14


def get_watch_id(database_url: str) -> int:
    with db.connect(database_url) as connection:
        return get_watch(connection, "Solar power").id
