"""Decoding page bytes when servers lie about, or omit, the character set.

Order: a byte-order mark; a declared ISO-2022 charset when the bytes hold its escapes (such text
is 7-bit, so it would pass for UTF-8); then UTF-8 whenever the bytes are valid UTF-8 (text in
another encoding almost never is, while servers often label UTF-8 pages as Latin-1); then the
charset the HTTP header declares, then the one in a <meta> tag, if the bytes decode with it;
else cp1252, which decodes any byte.
"""

from __future__ import annotations

import codecs
import contextlib
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """The page's text and the encoding used; never raises."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding
    meta = _META_CHARSET.search(body[:4096])
    labels = (declared, meta.group(1).decode("ascii", "replace") if meta else None)
    # ISO-2022 text is 7-bit, so it is also valid UTF-8: its label must win.
    for stateful in filter(None, map(_codec, labels)):
        if stateful.startswith("iso2022") and b"\x1b" in body:
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode(stateful), stateful
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for candidate in labels:
        codec = _codec(candidate)
        if codec is None or codec.startswith("utf-16"):
            continue
        if codec in ("iso8859-1", "ascii"):  # browsers read these labels as Windows-1252
            codec = "cp1252"
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return body.decode("cp1252", errors="replace"), "cp1252"
