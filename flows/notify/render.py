"""Alert e-mails: one per recipient, HTML and plain text, every page value escaped.

Values from pages (titles, publishers, snippets, URLs) never reach a header unflattened (a CR/LF
cannot start a header), watch names that are encoded words never reach one at all nor HTML unescaped (a `<script>` title stays text); links are only made
from http(s) URLs.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlsplit

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
    source: str = ""
    story_id: int = 0
    original_url: str | None = None
    also_carried_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailLinks:
    """Where the reader manages their alerts (signed links scoped to their address)."""

    manage_url: str
    unsubscribe_url: str  # RFC 8058 one-click: a bare POST here leaves every watch of the mail
    operator: str
    public_url: str


def _one_line(text: str) -> str:
    """Header-safe: a title holding CR/LF must not start a new header."""
    return " ".join(text.split())


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    url = _one_line(url)
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _plain_snippet(snippet: str) -> str:
    return _one_line(snippet.replace(HIGHLIGHT_START, "*").replace(HIGHLIGHT_STOP, "*"))


def _html_snippet(snippet: str) -> str:
    escaped = html.escape(_one_line(snippet))
    return escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC") if moment else "time unknown"


def _watch_names(items: list[AlertItem]) -> list[str]:
    return sorted({_one_line(item.watch_name) for item in items})


def header_safe(text: str) -> bool:
    """Whether `text` may go into a header as it is. The email package decodes RFC 2047
    encoded words (`=?utf-8?q?...?=`) in header values it is given, so such a name could
    smuggle a CR/LF (a `Bcc:` line) into the message; control characters are no better."""
    return "=?" not in text and not any(unicodedata.category(c) == "Cc" for c in text)


def _header_names(items: list[AlertItem]) -> str:
    """Watch names for headers; those that are not header-safe are counted, not quoted."""
    names = _watch_names(items)
    safe = [name for name in names if header_safe(name)]
    others = len(names) - len(safe)
    if others:
        safe.append(f"{others} more watch" + ("es" if others > 1 else ""))
    return ", ".join(safe)


def subject_for(items: list[AlertItem], digest: bool = False) -> str:
    noun = "story" if len(items) == 1 else "stories"
    names = _header_names(items)
    if digest:
        return _one_line(f"newswatch daily digest: {len(items)} {noun} for {names}")[:200]
    return _one_line(f"newswatch: {len(items)} new {noun} for {names}")[:200]


def mute_command(watch_name: str) -> str:
    return f'newswatch watch mute "{_one_line(watch_name)}"'


def _list_unsubscribe(sender: str, items: list[AlertItem]) -> str:
    """mailto: links to the operator's address asking to mute each watch (RFC 2369)."""
    address = parseaddr(sender)[1] or "newswatch@localhost"
    links = [
        f"<mailto:{address}?subject={quote('mute ' + name, safe='')}>"
        for name in _watch_names(items)
    ]
    return ", ".join(links)


def render_email(
    recipient: str,
    sender: str,
    message_id: str,
    created_at: datetime,
    items: list[AlertItem],
    digest: bool = False,
    links: MailLinks | None = None,
) -> EmailMessage:
    """The same rows always give the same message, so a resend after a crash is identical.

    With `links`, the reader gets a "manage" link and one-click unsubscribe (RFC 8058);
    without, the operator's mailto: and the CLI command to mute a watch (no web app).
    """
    message = EmailMessage()
    message["Subject"] = subject_for(items, digest)
    message["From"] = sender
    # A UTF-8 local part (josé@) cannot be an Address here; it goes out with SMTPUTF8.
    message["To"] = Address(addr_spec=recipient) if recipient.isascii() else recipient
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    if links is not None:
        message["List-Unsubscribe"] = f"<{_one_line(links.unsubscribe_url)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        message["List-Unsubscribe"] = _list_unsubscribe(sender, items)
    message["X-Newswatch-Watches"] = _header_names(items)
    # Story ids (ours, not page values): lets an operator or a test audit who was told what.
    message["X-Newswatch-Stories"] = " ".join(str(i) for i in sorted({i.story_id for i in items}))
    message.set_content(_plain_body(items, digest, recipient, links))
    message.add_alternative(_html_body(items, digest, recipient, links), subtype="html")
    return message


def _grouped(items: list[AlertItem]) -> dict[str, list[AlertItem]]:
    groups: dict[str, list[AlertItem]] = {}
    for item in items:
        groups.setdefault(item.watch_name, []).append(item)
    return groups


def _carriers(item: AlertItem) -> str:
    return ", ".join(_one_line(name) for name in item.also_carried_by)


def _why(recipient: str, items: list[AlertItem], links: MailLinks) -> str:
    names = ", ".join(_watch_names(items))
    noun = "watch" if len(_watch_names(items)) == 1 else "watches"
    return (
        f"You get this e-mail because {_one_line(recipient)} is a recipient of the newswatch "
        f"{noun} {names}, run by {_one_line(links.operator)} at {_one_line(links.public_url)}."
    )


def _plain_body(
    items: list[AlertItem], digest: bool, recipient: str = "", links: MailLinks | None = None
) -> str:
    lines: list[str] = ["newswatch daily digest" if digest else "newswatch alert", ""]
    for watch_name, group in _grouped(items).items():
        lines.append(f"Watch: {_one_line(watch_name)}  ({_one_line(group[0].watch_query)})")
        lines.append("=" * 60)
        for item in group:
            lines.append(_one_line(item.title))
            lines.append(
                f"  {_one_line(item.publisher or 'unknown publisher')} | {_when(item.published_at)}"
            )
            lines.append(f"  {_plain_snippet(item.snippet)}")
            if item.also_carried_by:
                lines.append(f"  Also carried by {_carriers(item)}")
            original = _safe_url(item.original_url)
            if original:
                lines.append(f"  Original: {original}")
            copy = _safe_url(item.canonical_url)
            if copy:
                lines.append(f"  {_one_line(item.source or 'aggregator')} copy: {copy}")
            lines.append("")
        if links is None:
            lines.append(f"To stop this watch: {mute_command(watch_name)}")
            lines.append("")
    if links is not None:
        lines += [
            "--",
            _why(recipient, items, links),
            f"Your alerts (leave a watch, pause, digest): {_one_line(links.manage_url)}",
            f"Unsubscribe from all of these: {_one_line(links.unsubscribe_url)}",
        ]
    return "\n".join(lines) + "\n"


def _link(url: str | None, text: str, style: str = "") -> str:
    safe = _safe_url(url)
    label = html.escape(_one_line(text))
    if not safe:
        return label
    return f"<a href='{html.escape(safe, quote=True)}' style='{style}'>{label}</a>"


def _html_item(item: AlertItem) -> str:
    esc = html.escape
    links = []
    if _safe_url(item.original_url):
        links.append(_link(item.original_url, f"Read at {item.publisher or 'the publisher'}"))
    links.append(_link(item.canonical_url, f"{item.source or 'aggregator'} copy"))
    carried = (
        f"<div style='color:#555;font-size:13px'>Also carried by {esc(_carriers(item))}</div>"
        if item.also_carried_by
        else ""
    )
    title_url = item.original_url if _safe_url(item.original_url) else item.canonical_url
    return (
        "<div dir='auto' style='margin:0 0 20px 0'>"
        + _link(title_url, item.title, "font-size:16px;font-weight:bold;color:#1a4f8b")
        + "<div style='color:#666;font-size:13px'>"
        + esc(_one_line(item.publisher or "unknown publisher"))
        + f" &middot; <span dir='ltr'>{esc(_when(item.published_at))}</span></div>"
        + f"<p style='margin:6px 0;font-size:14px'>{_html_snippet(item.snippet)}</p>"
        + carried
        + "<div style='font-size:13px'>"
        + " &middot; ".join(links)
        + "</div></div>"
    )


def _html_body(
    items: list[AlertItem], digest: bool, recipient: str = "", links: MailLinks | None = None
) -> str:
    esc = html.escape
    heading = "newswatch daily digest" if digest else "newswatch alert"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{esc(subject_for(items, digest))}</title></head>",
        "<body style='font-family:Arial,Helvetica,sans-serif;max-width:680px;margin:auto;color:#222'>",
        f"<h1 style='font-size:20px;border-bottom:3px solid #c0392b'>{heading}</h1>",
    ]
    for watch_name, group in _grouped(items).items():
        parts.append(
            f"<h2 style='font-size:17px'>{esc(_one_line(watch_name))} "
            f"<small style='color:#777'>{esc(_one_line(group[0].watch_query))}</small></h2>"
        )
        parts.extend(_html_item(item) for item in group)
        if links is None:
            parts.append(
                "<p style='color:#999;font-size:12px'>To stop this watch: "
                f"<code>{esc(mute_command(watch_name))}</code></p>"
            )
    if links is not None:
        parts.append(
            "<hr><p style='color:#666;font-size:12px'>"
            + esc(_why(recipient, items, links))
            + "<br>"
            + _link(links.manage_url, "Your alerts: leave a watch, pause, digest")
            + " &middot; "
            + _link(links.unsubscribe_url, "Unsubscribe from all of these")
            + "</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
