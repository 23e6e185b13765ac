"""Alert e-mails: one per recipient, HTML and plain text, every page value escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

# ts_headline marks matches with these; they cannot occur in stored text (control characters are
# removed at extraction), so they are safe to swap for markup after escaping.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_STOP = "\x03"


@dataclass(frozen=True)
class AlertItem:
    watch_name: str
    watch_query: str
    title: str
    publisher: str | None
    published_at: datetime | None
    url: str
    canonical_url: str
    snippet: str


def _one_line(text: str) -> str:
    """Header-safe: a title holding CR/LF must not start a new header."""
    return " ".join(text.split())


def _plain_snippet(snippet: str) -> str:
    return _one_line(snippet.replace(HIGHLIGHT_START, "*").replace(HIGHLIGHT_STOP, "*"))


def _html_snippet(snippet: str) -> str:
    escaped = html.escape(_one_line(snippet))
    return escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC") if moment else "time unknown"


def subject_for(items: list[AlertItem]) -> str:
    watch_names = sorted({item.watch_name for item in items})
    noun = "story" if len(items) == 1 else "stories"
    return _one_line(f"newswatch: {len(items)} new {noun} for {', '.join(watch_names)}")[:200]


def render_email(
    recipient: str, sender: str, message_id: str, created_at: datetime, items: list[AlertItem]
) -> EmailMessage:
    """The same rows always give the same message, so a resend after a crash is identical."""
    message = EmailMessage()
    message["Subject"] = subject_for(items)
    message["From"] = sender
    message["To"] = Address(addr_spec=recipient)
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = "<mailto:newswatch@localhost?subject=mute>"
    message["X-Newswatch-Watches"] = _one_line(", ".join(sorted({i.watch_name for i in items})))
    message.set_content(_plain_body(items))
    message.add_alternative(_html_body(items), subtype="html")
    return message


def _grouped(items: list[AlertItem]) -> dict[str, list[AlertItem]]:
    groups: dict[str, list[AlertItem]] = {}
    for item in items:
        groups.setdefault(item.watch_name, []).append(item)
    return groups


def _plain_body(items: list[AlertItem]) -> str:
    lines: list[str] = []
    for watch_name, group in _grouped(items).items():
        lines.append(f"Watch: {_one_line(watch_name)}  ({_one_line(group[0].watch_query)})")
        lines.append("=" * 60)
        for item in group:
            lines.append(_one_line(item.title))
            lines.append(
                f"  {_one_line(item.publisher or 'unknown publisher')} | {_when(item.published_at)}"
            )
            lines.append(f"  {_plain_snippet(item.snippet)}")
            lines.append(f"  {item.canonical_url}")
            lines.append("")
    lines.append("To stop these alerts: newswatch watch remove NAME")
    return "\n".join(lines) + "\n"


def _html_body(items: list[AlertItem]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>newswatch alert</title></head>",
        "<body style='font-family:Arial,Helvetica,sans-serif;max-width:680px;margin:auto;color:#222'>",
        "<h1 style='font-size:20px;border-bottom:3px solid #c0392b'>newswatch</h1>",
    ]
    for watch_name, group in _grouped(items).items():
        parts.append(
            f"<h2 style='font-size:17px'>{esc(_one_line(watch_name))} "
            f"<small style='color:#777'>{esc(_one_line(group[0].watch_query))}</small></h2>"
        )
        for item in group:
            parts.append(
                "<div style='margin:0 0 18px 0'>"
                f"<a href='{esc(item.canonical_url, quote=True)}' "
                f"style='font-size:16px;font-weight:bold;color:#1a4f8b'>{esc(_one_line(item.title))}</a>"
                f"<div style='color:#666;font-size:13px'>{esc(_one_line(item.publisher or 'unknown publisher'))}"
                f" &middot; {esc(_when(item.published_at))}</div>"
                f"<p style='margin:6px 0;font-size:14px'>{_html_snippet(item.snippet)}</p>"
                "</div>"
            )
    parts.append(
        "<p style='color:#999;font-size:12px'>To stop these alerts: "
        "<code>newswatch watch remove NAME</code></p></body></html>"
    )
    return "\n".join(parts)
