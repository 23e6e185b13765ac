"""URL canonicalization: one story must not count twice because of a tracking parameter."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import tldextract


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
        if site(candidate) == site(page_url):
            return canonicalize_url(candidate, strip_query_params)
    return canonicalize_url(page_url, strip_query_params)


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    """The public suffix list snapshot bundled with tldextract: never fetched, never cached to
    disk (no network in tests or runs). Private suffixes count (two github.io blogs are two
    sites), as in browsers' notion of a site."""
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


def site(url: str) -> str:
    """The registrable domain of the URL's host by the public suffix list (`bbc.co.uk` for
    `www.bbc.co.uk`), so staging subdomains match and `spam.co.uk` does not. A host under a
    suffix the list lacks (`.test`) takes its last label as suffix, the list's default rule; an
    IP address or a bare public suffix stands for itself."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host or "." not in host:
        return host
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    parts = _public_suffixes()(host)
    if parts.top_domain_under_public_suffix:
        return str(parts.top_domain_under_public_suffix)
    return host if parts.suffix else ".".join(host.split(".")[-2:])


def origin(url: str) -> str:
    """scheme://host[:port], where robots.txt and per-host politeness apply."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def on_site(url: str, domains: Iterable[str]) -> bool:
    """Whether the URL's host is one of `domains` (lower-case) or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in domains)
