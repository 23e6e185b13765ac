"""Page bytes decoded as browsers would show them, whatever the server says about the charset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.extract.charset import decode_html
from flows.records import FetchedPage

GERMAN = "Die Stadtwerke erhöhen die Preise für Fernwärme ab März um ein Fünftel."
RUSSIAN = "Во вторник в центре города открылась новая выставка современного искусства."
TURKISH = "İstanbul’da belediye, şehir hatlarında yeni bir vapur seferi başlattığını açıkladı."


def html(text: str, head: str = "") -> str:
    return f"<html><head>{head}<title>Test</title></head><body><p>{text}</p></body></html>"


def test_utf8_page_with_a_few_invalid_bytes_stays_utf8() -> None:
    good = html(GERMAN * 3, '<meta charset="utf-8">').encode("utf-8")
    broken = good.replace(b"Preise", b"Pr\xe9ise", 1).replace(b"Stadtwerke", b"Stadt\xffwerke", 1)
    text, encoding = decode_html(broken, "text/html; charset=utf-8")
    assert encoding == "utf-8"
    assert "erhöhen" in text and "Fernwärme" in text and "Fünftel" in text
    assert "Pr\ufffdise" in text and "Stadt\ufffdwerke" in text


def test_utf8_label_on_legacy_bytes_is_not_believed() -> None:
    page = html(GERMAN * 3, '<meta charset="windows-1252">').encode("cp1252")
    text, encoding = decode_html(page, "text/html; charset=utf-8")
    assert encoding == "cp1252"
    assert GERMAN in text


def test_valid_utf8_wins_over_a_latin1_label() -> None:
    page = html(GERMAN, '<meta charset="iso-8859-1">').encode("utf-8")
    assert decode_html(page, "text/html; charset=iso-8859-1") == (
        page.decode("utf-8"),
        "utf-8",
    )


@pytest.mark.parametrize(
    ("text", "label", "encoding"),
    [
        # GBK characters beyond GB2312, as gb2312-labelled pages commonly hold (browsers: gb18030)
        ("国务院总理朱镕基今天在北京会见了来访的代表团。", "gb2312", "gbk"),
        # a Unified Hangul Code syllable, in cp949 but not in EUC-KR proper
        ("서울 똠방각하 전시회가 오늘 개막했다고 주최측이 밝혔다.", "euc-kr", "cp949"),
        # ’ is 0x92 in windows-1254, which browsers use for iso-8859-9
        (TURKISH, "iso-8859-9", "cp1254"),
    ],
    ids=["gb2312", "euc-kr", "iso-8859-9"],
)
def test_labels_are_read_as_browsers_read_them(text: str, label: str, encoding: str) -> None:
    page = html(text * 2, f'<meta http-equiv="Content-Type" content="text/html; charset={label}">')
    decoded, _ = decode_html(page.encode(encoding))
    assert text in decoded


def test_xml_declaration_names_the_charset() -> None:
    page = '<?xml version="1.0" encoding="windows-1251"?>\n' + html(RUSSIAN * 2)
    decoded, encoding = decode_html(page.encode("cp1251"))
    assert encoding == "cp1251"
    assert RUSSIAN in decoded


@pytest.mark.parametrize(
    ("text", "encoding"),
    [(RUSSIAN, "cp1251"), (RUSSIAN, "koi8_r"), (GERMAN, "cp1252")],
    ids=["cp1251", "koi8-r", "cp1252"],
)
def test_unlabelled_legacy_page_is_detected(text: str, encoding: str) -> None:
    decoded, _ = decode_html(html(text * 4).encode(encoding))
    assert text in decoded


def test_stored_body_of_an_unlabelled_cp1251_page_has_no_mojibake() -> None:
    paragraph = " ".join([RUSSIAN] * 4)
    page = FetchedPage(
        source="news",
        url="https://news.example/a/1",
        status=200,
        fetched_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        body=f"<html><body><h1>Выставка</h1><p>{paragraph}</p></body></html>".encode("cp1251"),
        content_type="text/html",
    )
    source = Source(name="news", feeds=["https://news.example/rss"], min_body_chars=50)
    assert extract_article(page, source).body == paragraph
