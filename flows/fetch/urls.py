"""URL canonicalization: one story must not count twice because of a tracking parameter."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit


def canonicalize_url(url: str, strip_query_params: list[str] | tuple[str, ...] = ()) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not any(fnmatchcase(name.lower(), pattern.lower()) for pattern in strip_query_params)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def resolve_canonical(
    page_url: str, canonical_href: str | None, strip_query_params: list[str] | tuple[str, ...] = ()
) -> str:
    """The page's declared canonical URL when it stays on the page's own site, else the page URL.

    A canonical link to another host is ignored: aggregators and staging copies sometimes point
    at a host we never fetched, and trusting it would merge unrelated pages.
    """
    if canonical_href:
        candidate = urljoin(page_url, canonical_href.strip())
        if _site(candidate) == _site(page_url):
            return canonicalize_url(candidate, strip_query_params)
    return canonicalize_url(page_url, strip_query_params)


def _site(url: str) -> str:
    """The registrable part of a host (naively, its last two labels), so staging subdomains match."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return ".".join(host.split(".")[-2:])


def origin(url: str) -> str:
    """scheme://host[:port], where robots.txt and per-host politeness apply."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def on_site(url: str, domains: Iterable[str]) -> bool:
    """Whether the URL's host is one of `domains` (lower-case) or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in domains)
