"""Article languages identified from the text (py3langid), whatever the page declares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.extract.language import page_language
from flows.records import FetchedPage
from flows.store.articles import ts_config_for

TEXTS = {
    "de": "Die Stadtwerke erhöhen die Preise für Fernwärme ab März, teilte der Versorger mit. "
    "Betroffen sind vor allem Mieter in den älteren Vierteln im Norden der Stadt.",
    "fr": "La mairie a annoncé mardi la fermeture de la piscine municipale pour travaux. "
    "Les habitants devront se rendre dans la commune voisine pendant au moins six mois.",
    "ru": "Городские власти объявили о закрытии моста на ремонт до конца года. "
    "Жителям придется пользоваться объездной дорогой, что увеличит время в пути.",
    "es": "El ayuntamiento aprobó el martes un nuevo plan de transporte para el centro. "
    "Los autobuses nocturnos volverán a circular los fines de semana a partir de enero.",
    "ar": "أعلنت البلدية عن خطة جديدة لتحسين شبكة المياه في الأحياء القديمة خلال العام المقبل، "
    "وقالت إن الأنابيب الحالية تعود إلى أكثر من أربعين عاما.",
    "en": "The council approved a new ferry for the northern crossing on Monday, ending three "
    "years of arguments about the cost of replacing the old diesel boat.",
}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_language_is_identified_from_the_text(code: str) -> None:
    assert page_language(None, TEXTS[code]) == code


def test_the_text_outweighs_a_template_lang() -> None:
    assert page_language("en", TEXTS["de"]) == "de"


def test_declared_lang_decides_when_the_text_cannot() -> None:
    assert page_language("pt-BR", "12:30") == "pt"
    assert page_language(None, "12:30") == "und"


@pytest.mark.parametrize("code", ["de", "fr", "ru", "es"])
def test_undeclared_article_is_stemmed_in_its_language(code: str) -> None:
    body = f"<html><body><h1>Nachricht</h1><p>{TEXTS[code]}</p></body></html>"
    page = FetchedPage(
        "news",
        "https://news.example/a",
        200,
        datetime(2026, 11, 28, tzinfo=UTC),
        body.encode(),
        None,
        "text/html; charset=utf-8",
    )
    source = Source(name="news", feeds=["https://news.example/rss"], min_body_chars=50)
    article = extract_article(page, source)
    assert article.language == code
    assert ts_config_for(article.language) != "simple"
