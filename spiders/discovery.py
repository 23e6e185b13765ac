"""Article and sitemap URLs out of feeds, sitemaps and robots.txt: plain functions, no I/O.

XML is parsed without entities or network access and with recovery on, so a malformed or hostile
feed gives what it can and never raises.
"""

from __future__ import annotations

import gzip
import io
import zlib

from lxml import etree

_ATOM = "{http://www.w3.org/2005/Atom}"


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


def feed_links(body: bytes) -> list[str]:
    """Entry links of an RSS 2.0/RSS 1.0 or Atom feed, in feed order."""
    root = _root(body)
    links: list[str] = []
    if _local(root.tag) == "feed":  # Atom
        for entry in root.iter(f"{_ATOM}entry"):
            candidates = [
                link
                for link in entry.iter(f"{_ATOM}link")
                if link.get("rel", "alternate") == "alternate" and link.get("href")
            ]
            if candidates:
                links.append(candidates[0].get("href", "").strip())
    elif _local(root.tag) in ("rss", "rdf"):
        for item in root.iter():
            if _local(item.tag) != "item":
                continue
            for child in item:
                if _local(child.tag) == "link" and (child.text or "").strip():
                    links.append((child.text or "").strip())
                    break
            else:
                about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
                if about:
                    links.append(about.strip())
    else:
        raise FeedError(f"not an RSS or Atom feed (root element <{_local(root.tag)}>)")
    return links


def sitemap_entries(body: bytes, max_bytes: int) -> tuple[str, list[str]]:
    """("urlset" | "sitemapindex", the <loc> URLs); gzip-compressed sitemaps are unpacked up to max_bytes."""
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
    out = io.BytesIO()
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        chunk = decompressor.decompress(body, max_bytes + 1)
        out.write(chunk)
        while decompressor.unconsumed_tail and out.tell() <= max_bytes:
            out.write(decompressor.decompress(decompressor.unconsumed_tail, max_bytes + 1))
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise FeedError(f"bad gzip data: {exc}") from None
    if out.tell() > max_bytes:
        raise FeedError(f"sitemap larger than {max_bytes} bytes once unpacked")
    return out.getvalue()


def robots_sitemaps(robots_txt: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt, in order."""
    found = []
    for line in robots_txt.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            found.append(value.strip())
    return found
