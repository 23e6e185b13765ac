"""Alert e-mails: both parts, subject, snippets, links, List-Unsubscribe, and escaping."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage

from flows.config.settings import Settings
from flows.match import matcher
from flows.match.watches import add_watch
from flows.notify import outbox
from flows.store import articles, db
from tests.support import alert_fixtures as fx

HOSTILE_TITLE = "<script>alert('x')</script> Ferry vote\r\nBcc: victim@example.com"


def _queued_message(clean_db: str, settings: Settings) -> EmailMessage:
    hostile = replace(fx.FERRY, title=HOSTILE_TITLE, publisher='Harbour "Herald" <b>')
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferry <watch>", "ferry OR harbour", "analyst@example.com")
        run_id = articles.start_run(connection, ["daily8"])
        articles.store_articles(connection, [hostile, fx.FERRY_REWRITE, fx.ORCHARD], run_id)
        # The publisher's own URL, in the column the e-mail reads (no source gives one yet).
        connection.execute(
            "UPDATE articles SET original_url = %s WHERE canonical_url = %s",
            ("https://harbour-herald.example/news/ferry?a=1&b=<2>", hostile.canonical_url),
        )
        matcher.match_new_articles(connection, run_id)
        outbox.queue_emails(connection, run_id, settings.mail_from)
        row = connection.execute("SELECT content FROM emails").fetchone()
    assert row is not None
    message = message_from_bytes(row["content"], policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_parts_headers_and_escaping(clean_db: str, settings: Settings) -> None:
    message = _queued_message(clean_db, settings)
    # Headers: the CR/LF in the title cannot add a header; subject names watch and count.
    assert message["Bcc"] is None
    assert str(message["Subject"]) == "newswatch: 1 new story for ferry <watch>"
    assert "\n" not in str(message["Subject"])
    unsubscribe = str(message["List-Unsubscribe"]).strip()  # folded: long header
    assert unsubscribe == "<mailto:newswatch@localhost?subject=mute%20ferry%20%3Cwatch%3E>"
    assert message.get_content_type() == "multipart/alternative"

    plain_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert plain_part is not None and html_part is not None
    plain = plain_part.get_content()
    page = html_part.get_content()

    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>" not in page and "Harbour &quot;Herald&quot; &lt;b&gt;" in page
    assert "<mark>ferry</mark>" in page.lower() or "<mark>ferries</mark>" in page.lower()
    assert "href='https://harbour-herald.example/news/ferry?a=1&amp;b=&lt;2&gt;'" in page
    assert "href='https://www.daily8.com/en/article/" + "f" * 32 + "'" in page
    assert "Also carried by Coastal Courier" in page
    assert "newswatch watch mute &quot;ferry &lt;watch&gt;&quot;" in page

    assert "*ferry*" in plain.lower()
    assert "Original: https://harbour-herald.example/news/ferry?a=1&b=<2>" in plain
    assert "daily8 copy: https://www.daily8.com/en/article/" in plain
    title_line = next(line for line in plain.splitlines() if "Ferry vote" in line)
    assert title_line == "<script>alert('x')</script> Ferry vote Bcc: victim@example.com"


def test_javascript_urls_never_become_links(clean_db: str, settings: Settings) -> None:
    from flows.notify.render import AlertItem, render_email

    item = AlertItem(
        watch_name="w",
        watch_query="q",
        title="t",
        publisher="p",
        published_at=None,
        url="javascript:alert(1)",
        canonical_url="javascript:alert(1)",
        snippet="s",
        original_url="data:text/html,<script>x</script>",
    )
    message = render_email(
        "a@example.com", settings.mail_from, "<id@newswatch>", fx.FETCHED, [item]
    )
    html_part = message.get_body(("html",))
    assert html_part is not None
    page = html_part.get_content()
    assert "javascript:" not in page and "data:text" not in page and "href" not in page
