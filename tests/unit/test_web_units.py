"""Plain functions of the web app: signed links, CSV cells, snippet pieces, backfill spans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.match.backfill import parse_span
from flows.match.search import HIGHLIGHT_START as START
from flows.match.search import HIGHLIGHT_STOP as STOP
from flows.match.watches import WatchError
from flows.web.archive import safe_cell
from flows.web.editor_pages import _pieces
from flows.web.tokens import LinkError, LinkSigner


def test_links_carry_scope_subject_generation_and_nonce() -> None:
    signer = LinkSigner("secret", None, 3600)
    token = signer.sign("unsubscribe", "a@example.com", 3, "n1")
    claims = signer.verify(token, "unsubscribe")
    assert (claims.subject, claims.generation, claims.nonce) == ("a@example.com", 3, "n1")
    with pytest.raises(LinkError, match="not valid here"):
        signer.verify(token, "manage")
    with pytest.raises(LinkError, match="not valid"):
        LinkSigner("other secret", None, 3600).verify(token, "unsubscribe")
    with pytest.raises(LinkError, match="expired"):
        LinkSigner("secret", None, -1).verify(token, "unsubscribe")
    with pytest.raises(ValueError):
        signer.sign("admin", "a@example.com", 1)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain title", "plain title"),
        (None, ""),
        (42, "42"),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_snippet_pieces_mark_only_the_matches() -> None:
    snippet = f"a {START}ferry{STOP} crosses <b> {START}ferries{STOP}"
    assert _pieces(snippet) == [
        ("a ", False),
        ("ferry", True),
        (" crosses <b> ", False),
        ("ferries", True),
    ]


def test_backfill_spans() -> None:
    assert parse_span("7d") == timedelta(days=7)
    assert parse_span(" 24H ") == timedelta(hours=24)
    assert parse_span("2w") == timedelta(weeks=2)
    for bad in ("", "7", "7 days", "-1d", "400d"):
        with pytest.raises(WatchError):
            parse_span(bad)


def test_access_log_never_shows_link_tokens() -> None:
    import logging

    from flows.web.server import RedactLinkTokens

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/r/eyJzIjoibWFuYWdlIn0.abc.def?x=1", "1.1", 303),
        None,
    )
    assert RedactLinkTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /r/…?x=1 HTTP/1.1" 303'
    for path, shown in (("/u/tok.en", "/u/…"), ("/feed/abc", "/feed/…"), ("/me", "/me")):
        record.args = ("c", "POST", path, "1.1", 200)
        RedactLinkTokens().filter(record)
        assert record.args[2] == shown
