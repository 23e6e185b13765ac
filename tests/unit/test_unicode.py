"""Stored text is NFC, as trafilatura's own extract() returns it, whatever form the page used."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.records import FetchedPage

PARAGRAPH = (
    "Le café de la gare ferme après soixante ans : la propriétaire, Hélène Müller, "
    "part à la retraite et personne n'a repris le fonds de commerce."
)


def test_decomposed_page_is_stored_precomposed() -> None:
    decomposed = unicodedata.normalize("NFD", PARAGRAPH)
    title = unicodedata.normalize("NFD", "Le café de la gare ferme")
    page = FetchedPage(
        source="news",
        url="https://news.example/a/1",
        status=200,
        fetched_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        body=f"<html lang=fr><body><h1>{title}</h1><p>{decomposed}</p></body></html>".encode(),
        content_type="text/html; charset=utf-8",
    )
    source = Source(name="news", feeds=["https://news.example/rss"], min_body_chars=50)
    article = extract_article(page, source)
    assert article.body == PARAGRAPH
    assert article.title == "Le café de la gare ferme"
