"""Decoding page bytes when servers lie about, or omit, the character set.

Labels are read and mapped as browsers and Scrapy do, with w3lib (Scrapy's own TextResponse uses
these functions): the Content-Type charset, then a <meta> or `<?xml encoding=...?>` declaration,
each label mapped by the WHATWG table (latin-1 and ascii read as windows-1252, gb2312 and GBK as
gb18030, euc-kr as cp949, iso-8859-9 as windows-1254, ...).

Order: a byte-order mark; a declared ISO-2022 charset when the bytes hold its escapes (such text
is 7-bit, so it would pass for UTF-8); then UTF-8 whenever the bytes are valid UTF-8 (text in
another encoding almost never is, while servers often label UTF-8 pages as Latin-1); then the
labels, header first: a UTF-8 label holds when most non-ASCII bytes are valid UTF-8 (a UTF-8 page
with a few stray bytes keeps its text and gets replacement characters for those), any other label
when the bytes decode with it; then charset-normalizer's guess for unlabelled pages; else
windows-1252.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

import charset_normalizer
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

FALLBACK_ENCODING = "cp1252"
# A UTF-8 label is believed when valid non-ASCII characters outnumber invalid sequences this much:
# on real pages labelled UTF-8 the ratio was over 30, on legacy-charset pages under 1.
_UTF8_VALID_PER_INVALID = 4
# charset-normalizer reads a sample; detection then costs a few milliseconds per unlabelled page.
_DETECTION_BYTES = 64 * 1024
# The legacy encodings of the WHATWG Encoding Standard: the only ones browsers decode, so the only
# ones a web page can be in (charset-normalizer would otherwise offer DOS and EBCDIC code pages).
WEB_ENCODINGS = (
    "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "cp874", "cp866", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6",
    "iso8859_7", "iso8859_8", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15",
    "iso8859_16", "koi8_r", "koi8_u", "mac_roman", "mac_cyrillic", "gb18030", "big5", "euc_jp",
    "shift_jis", "euc_kr",
)  # fmt: skip


def charset_from_content_type(content_type: str | None) -> str | None:
    """The encoding a Content-Type header value names (as a Python codec name), if any."""
    return http_content_type_encoding(content_type)


@lru_cache(maxsize=256)
def resolve_label(label: str | None) -> str | None:
    """A charset label as browsers map it, as a Python codec name; None if unknown."""
    return resolve_encoding(label.strip()) if label and label.strip() else None


def _mostly_utf8(body: bytes) -> bool:
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for char in text if char > "\x7f") - invalid
    return valid >= _UTF8_VALID_PER_INVALID * invalid


def detect_encoding(body: bytes) -> str | None:
    """charset-normalizer's guess for bytes with no usable label, mapped as a label would be."""
    match = charset_normalizer.from_bytes(
        body[:_DETECTION_BYTES], cp_isolation=list(WEB_ENCODINGS)
    ).best()
    if match is None:
        return None
    # Of encodings that give the same text, prefer the web's legacy default.
    if FALLBACK_ENCODING in match.could_be_from_charset:
        return FALLBACK_ENCODING
    return resolve_label(match.encoding)


def decode_html(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """The page's text and the encoding used; never raises.

    `declared`: the transport's charset (a Content-Type value or a bare label), if any.
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return to_unicode(body[len(bom) :], bom_encoding), bom_encoding
    header = http_content_type_encoding(declared) if declared and "=" in declared else None
    header = header or resolve_label(declared)
    labels = [label for label in (header, html_body_declared_encoding(body)) if label]
    # ISO-2022 text is 7-bit, so it is also valid UTF-8: its label must win.
    for label in labels:
        if label.startswith("iso2022") and b"\x1b" in body:
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode(label), label
    with contextlib.suppress(UnicodeDecodeError):
        return body.decode("utf-8"), "utf-8"
    for label in labels:
        if label == "utf-8":
            if _mostly_utf8(body):
                return to_unicode(body, "utf-8"), "utf-8"
        elif not label.startswith(("utf-16", "utf-32")):  # such labels on 8-bit bytes are lies
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode(label), label
    lenient = next((label for label in labels if not label.startswith("utf")), None)
    encoding = lenient or detect_encoding(body) or FALLBACK_ENCODING
    return to_unicode(body, encoding), encoding
