"""Recipients without accounts: the links in their e-mails, "your alerts", one-click unsubscribe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest

from flows.config.settings import Settings
from flows.match import matcher
from flows.match.watches import add_watch, edit_watch, get_watch
from flows.notify import outbox, recipients
from flows.notify.links import LinkMaker
from flows.store import articles, db
from flows.web.tokens import LinkSigner
from tests.support import alert_fixtures as fx
from tests.support.web import csrf_of, serve_web

ANN = "ann@example.com"
BOB = "bob@example.com"


@pytest.fixture
def web_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("NEWSWATCH_PUBLIC_URL", "https://news.example.org/watch")
    monkeypatch.setenv("NEWSWATCH_MAIL_FROM", "newswatch <alerts@news.example.org>")
    monkeypatch.setenv("NEWSWATCH_OPERATOR_NAME", "the Example newsroom")
    # The test server speaks plain HTTP on loopback; a Secure cookie would never come back.
    monkeypatch.setenv("NEWSWATCH_WEB_SECURE_COOKIES", "false")
    return Settings()


@pytest.fixture
def web(web_settings: Settings, clean_db: str) -> Iterator[str]:
    with serve_web(web_settings, clean_db) as base_url:
        yield base_url


def _queue(clean_db: str, settings: Settings) -> dict[str, EmailMessage]:
    """Two watches (ferry: Ann and Bob; orchard: Ann), one run, one e-mail each."""
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferry", "ferry", [ANN, BOB])
        add_watch(connection, "orchard", "orchard", [ANN])
        run_id = articles.start_run(connection, ["daily8"])
        articles.store_articles(connection, fx.FIRST_RUN, run_id)
        matcher.match_new_articles(connection, run_id)
        outbox.queue_emails(
            connection, run_id, settings.mail_from, links=LinkMaker.from_settings(settings)
        )
        rows = connection.execute("SELECT recipient, content FROM emails").fetchall()
    messages = {}
    for row in rows:
        message = message_from_bytes(row["content"], policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages[row["recipient"]] = message
    return messages


def _local(url: str, base_url: str) -> str:
    """The path of a link made for the public URL, to ask the test server."""
    assert url.startswith("https://news.example.org/watch/")
    return base_url + url.removeprefix("https://news.example.org/watch")


def _links(message: EmailMessage) -> tuple[str, str]:
    plain_part = message.get_body(("plain",))
    assert plain_part is not None
    plain = plain_part.get_content()
    manage = re.search(r"Your alerts \(.*?\): (\S+)", plain)
    unsubscribe = re.search(r"Unsubscribe from all of these: (\S+)", plain)
    assert manage and unsubscribe, plain
    return manage.group(1), unsubscribe.group(1)


def test_mail_headers_footer_and_links(clean_db: str, web_settings: Settings) -> None:
    message = _queue(clean_db, web_settings)[ANN]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"]).strip()
    assert re.fullmatch(r"<https://news\.example\.org/watch/u/[\w.-]+>", header), header
    assert str(message["Message-ID"]).endswith("@news.example.org>")
    manage, unsubscribe = _links(message)
    assert header == f"<{unsubscribe}>"
    assert manage.startswith("https://news.example.org/watch/r/")
    html_part = message.get_body(("html",))
    assert html_part is not None
    page = html_part.get_content()
    assert "You get this e-mail because ann@example.com is a recipient" in page
    assert "run by the Example newsroom" in page
    assert "newswatch watch mute" not in page  # the reader is no longer sent to the server's CLI


def test_one_click_unsubscribe_is_a_bare_post_and_acts_once(
    clean_db: str, web_settings: Settings, web: str
) -> None:
    messages = _queue(clean_db, web_settings)
    _, unsubscribe = _links(messages[BOB])
    url = _local(unsubscribe, web)
    # A GET (link checker, preview) changes nothing.
    assert httpx.get(url).status_code == 200
    with db.connect(clean_db) as connection:
        assert BOB in get_watch(connection, "ferry").recipients
    # RFC 8058: POST with the one-click body, no cookie, no CSRF token.
    response = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Unsubscribed" in response.text
    with db.connect(clean_db) as connection:
        assert BOB not in get_watch(connection, "ferry").recipients
        assert ANN in get_watch(connection, "ferry").recipients  # only Bob left
        # An editor adds Bob again: replaying the old link must not take him off.
        edit_watch(connection, "ferry", emails=[ANN, BOB])
    replay = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert replay.status_code == 403
    with db.connect(clean_db) as connection:
        assert BOB in get_watch(connection, "ferry").recipients


def test_your_alerts_page_is_scoped_to_one_address(
    clean_db: str, web_settings: Settings, web: str
) -> None:
    messages = _queue(clean_db, web_settings)
    manage, _ = _links(messages[BOB])
    with db.connect(clean_db) as connection:
        orchard_id = get_watch(connection, "orchard").id  # Ann's only
        ferry_id = get_watch(connection, "ferry").id
    bob = httpx.Client(base_url=web, follow_redirects=True)
    page = bob.get(_local(manage, web))
    assert page.status_code == 200 and "bob@example.com" in page.text
    assert "ferry" in page.text and "orchard" not in page.text and ANN not in page.text
    assert "/r/" not in str(page.url)  # the token left the address bar
    token = csrf_of(page.text)
    # Bob's session names the orchard watch: nothing changes for Ann.
    response = bob.post("/me/leave", data={"csrf": token, "watch_id": str(orchard_id)})
    assert "Nothing changed" in response.text
    with db.connect(clean_db) as connection:
        assert get_watch(connection, "orchard").recipients == (ANN,)
    # A form cannot name another address.
    bob.post("/me/leave", data={"csrf": token, "watch_id": str(ferry_id), "email": ANN})
    with db.connect(clean_db) as connection:
        assert get_watch(connection, "ferry").recipients == (ANN,)


def test_tampered_expired_and_signed_out_links_are_refused(
    clean_db: str, web_settings: Settings, web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _queue(clean_db, web_settings)
    manage, unsubscribe = _links(messages[ANN])
    token = manage.rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    # Another address in the payload, the old signature: refused.
    forged = LinkSigner("not the secret", None, 3600).sign("manage", BOB, 1)
    for bad in (
        forged,
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        payload + "x." + signature,
    ):
        response = httpx.get(f"{web}/r/{bad}")
        assert response.status_code == 403, bad
        assert "not valid" in response.text
    # An unsubscribe link is not a manage link, nor the other way round.
    assert httpx.get(f"{web}/r/{unsubscribe.rsplit('/', 1)[1]}").status_code == 403
    assert httpx.post(f"{web}/u/{token}").status_code == 403
    # Expired: the same link, read after the configured lifetime.
    import itsdangerous.timed

    real_time = itsdangerous.timed.time.time
    later = real_time() + web_settings.link_max_age_days * 86400 + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    expired = httpx.get(_local(manage, web))
    monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    assert expired.status_code == 403 and "expired" in expired.text
    # Signed out: Ann rotates her links; the old one is refused, her session too.
    ann = httpx.Client(base_url=web, follow_redirects=True)
    page = ann.get(_local(manage, web))
    assert page.status_code == 200
    ann.post("/me/rotate", data={"csrf": csrf_of(page.text)})
    assert httpx.get(_local(manage, web)).status_code == 403
    assert ann.get("/me").status_code == 403
    with db.connect(clean_db) as connection:
        generation = recipients.preferences(connection, ANN).token_generation
    fresh = LinkMaker.from_settings(web_settings).manage_url(ANN, generation)
    assert httpx.get(_local(fresh, web), follow_redirects=True).status_code == 200


def test_previous_secret_still_verifies_after_rotation(web_settings: Settings) -> None:
    old = LinkSigner("old secret", None, 3600)
    token = old.sign("manage", ANN, 1)
    rotated = LinkSigner("new secret", "old secret", 3600)
    assert rotated.verify(token, "manage").subject == ANN
    assert LinkSigner("new secret", None, 3600).sign("manage", ANN, 1) != token


def test_leave_pause_and_digest_in_the_recipients_time_zone(
    clean_db: str, web_settings: Settings, web: str
) -> None:
    messages = _queue(clean_db, web_settings)
    manage, _ = _links(messages[ANN])
    ann = httpx.Client(base_url=web, follow_redirects=True)
    page = ann.get(_local(manage, web))
    token = csrf_of(page.text)
    saved = ann.post(
        "/me/preferences",
        data={"csrf": token, "mode": "digest", "digest_hour": "8", "time_zone": "Asia/Tokyo"},
    )
    assert "Saved." in saved.text
    with db.connect(clean_db) as connection:
        prefs = recipients.preferences(connection, ANN)
        assert (prefs.mode, prefs.digest_hour, prefs.time_zone) == ("digest", 8, "Asia/Tokyo")
        run_id = articles.start_run(connection, ["daily8"])
        articles.store_articles(connection, [fx.FERRY_REWRITE, fx.RAIL], run_id)
        add_watch(connection, "rail", "railway", [ANN])
        matcher.match_new_articles(connection, run_id)
        # 22:00 UTC is 07:00 in Tokyo: not yet; 23:30 UTC is 08:30 there: her digest goes.
        early = outbox.queue_emails(
            connection, run_id, web_settings.mail_from, datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
        )
        assert early.digest == 0
        due = outbox.queue_emails(
            connection, run_id, web_settings.mail_from, datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
        )
        assert due.digest == 1
        day = connection.execute(
            "SELECT digest_day FROM emails WHERE kind = 'digest' AND recipient = %s", (ANN,)
        ).fetchone()
        assert day is not None and str(day["digest_day"]) == "2026-11-29"  # her day, not UTC's
    # Pause: new deliveries wait, nothing is queued for her.
    ann.post("/me/preferences", data={"csrf": token, "paused": "on"})
    with db.connect(clean_db) as connection:
        run_id = articles.start_run(connection, ["daily8"])
        pipes = fx.article(
            "2" * 32,
            "Old water pipes to be replaced street by street",
            "The council will replace the old water pipes in the historic quarter next year.",
            "City Desk",
        )
        add_watch(connection, "pipes", "pipes", [ANN])
        articles.store_articles(connection, [pipes], run_id)
        matcher.match_new_articles(connection, run_id)
        queued = outbox.queue_emails(connection, run_id, web_settings.mail_from)
        assert queued.emails == 0
        pending = connection.execute(
            "SELECT count(*) AS n FROM deliveries WHERE recipient = %s AND email_id IS NULL", (ANN,)
        ).fetchone()
        assert pending is not None and pending["n"] == 1


def test_one_click_leaves_the_watches_of_that_email_only(
    clean_db: str, web_settings: Settings, web: str
) -> None:
    with db.connect(clean_db) as connection:
        add_watch(connection, "rail", "railway", [ANN])  # nothing matched: not in the e-mail
    messages = _queue(clean_db, web_settings)
    _, unsubscribe = _links(messages[ANN])
    asked = httpx.get(_local(unsubscribe, web))
    assert "ferry, orchard" in asked.text and "rail" not in asked.text
    done = httpx.post(_local(unsubscribe, web), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "left 2 watches" in done.text
    with db.connect(clean_db) as connection:
        assert [watch.name for watch in recipients.watches_of(connection, ANN)] == ["rail"]
        assert get_watch(connection, "ferry").recipients == (BOB,)
