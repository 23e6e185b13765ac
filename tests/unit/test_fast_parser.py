"""flows.extract.fast_parser: the C class lookup changes no stored article, only the cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from lxml.html import HtmlElement, HtmlElementClassLookup
from trafilatura.utils import HTML_PARSER, load_html

from flows.config.sources import Source
from flows.extract import fast_parser
from flows.extract.article import extract_article
from flows.records import FetchedPage
from tests.unit.test_fast_selectors import _pages, run_with_switch


@contextmanager
def lxml_html_lookup() -> Iterator[None]:
    """trafilatura's parser with lxml.html's own (Python) class lookup, for the block."""
    HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())
    try:
        yield
    finally:
        HTML_PARSER.set_element_class_lookup(fast_parser.C_LOOKUP)


def test_installed_parser_makes_html_elements_without_python_lookup() -> None:
    fast_parser.install()
    assert fast_parser.active()
    root = load_html("<html><body><form><input name=q></form><p>Text</p></body></html>")
    assert root is not None
    assert all(type(element) is HtmlElement for element in root.iter())  # form, input too
    with lxml_html_lookup():  # proxies are made on access, with the lookup of that moment
        python_root = load_html("<html><body><form><input name=q></form></body></html>")
        assert python_root is not None
        assert type(python_root.find(".//form")).__name__ == "FormElement"  # what it replaces


@pytest.mark.integration  # every fixture page (and the shared corpus, where present)
def test_stored_articles_are_the_same_with_lxml_htmls_own_lookup() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    generic = Source(
        name="any", start_urls=["http://127.0.0.1/"], article_url_patterns=["/a/"], min_body_chars=1
    )
    compared = 0
    for name, html, source in _pages():
        page = FetchedPage(
            source=name, url=f"http://127.0.0.1/a/{name}", status=200, fetched_at=now, body=html
        )
        fast = extract_article(page, source or generic)
        assert fast_parser.active()
        with lxml_html_lookup():
            own = extract_article(page, source or generic)
        assert fast == own, name
        compared += 1
    assert compared >= 3


def test_scrub_pre_check_knows_every_character_trafilaturas_pattern_deletes() -> None:
    from trafilatura import utils

    fast_parser.install()
    scrub = utils.INVALID_XML_CHARS
    assert isinstance(scrub, fast_parser.ScrubWhenNeeded)
    deleted = {chr(c) for c in range(0x110000) if scrub.pattern.fullmatch(chr(c))}
    assert deleted == set(scrub.characters)
    assert len(deleted) == 31  # C0 controls but tab, newline, return; U+FFFE, U+FFFF


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>Plain text, nothing to delete.</p></body></html>",
        "<html><body><p>Bell\x07 and\x0b tab\t kept\ufffe, \uffffend</p></body></html>",
        "<html><body><p>Only a form feed\x0c here</p></body></html>",
    ],
)
def test_scrub_deletes_what_trafilaturas_pattern_deletes(html: str) -> None:
    from trafilatura import utils

    fast_parser.install()
    scrub = utils.INVALID_XML_CHARS
    assert isinstance(scrub, fast_parser.ScrubWhenNeeded)
    assert scrub.sub("", html) == scrub.pattern.sub("", html)
    root = load_html(html)
    assert root is not None
    assert not any(character in root.text_content() for character in scrub.characters)


def test_switch_keeps_lxml_htmls_own_lookup() -> None:
    script = (
        "from flows.extract import fast_parser; from trafilatura.utils import load_html;"
        "fast_parser.install();"
        "root = load_html('<html><body><form><p>x</p></form></body></html>');"
        "print(fast_parser.active(), type(root.find('.//form')).__name__)"
    )
    assert run_with_switch(script) == ["False", "FormElement"]
