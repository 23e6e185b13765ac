"""Sources are data: each is a block of the sources file, validated when loaded."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.config.schedules import Schedule
from flows.fetch.urls import origin

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"


class SourcesFileError(ValueError):
    """A sources file that cannot be used; the message names the file, the source and the field."""


def _check_regexes(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return patterns


class Byline(BaseModel):
    """Where an aggregator prints the original publisher and the (often relative) time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publisher_css: str | None = None
    time_css: str | None = None


class Pagination(BaseModel):
    """How a listing page leads to its next page; either a next link or a page number parameter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    next_link_css: str | None = None
    page_param: str | None = None
    first_page: Annotated[int, Field(ge=0)] = 1
    max_pages: Annotated[int, Field(ge=1)] = 5

    @model_validator(mode="after")
    def _one_kind(self) -> Pagination:
        if bool(self.next_link_css) == bool(self.page_param):
            raise ValueError("set exactly one of next_link_css or page_param")
        return self


class Source(BaseModel):
    """One monitored site: its entry points, which links are articles, and how to clean pages.

    Entry points may be any mix of listing pages (`start_urls`, optionally paginated), RSS/Atom
    `feeds`, `sitemaps` (plain, index or news sitemaps) and sitemaps named in robots.txt.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    start_urls: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    sitemaps_from_robots: bool = False
    allowed_domains: list[str] = Field(default_factory=list)
    article_url_patterns: list[str] = Field(default_factory=list)
    listing_url_patterns: list[str] = Field(default_factory=list)
    pagination: Pagination | None = None
    refresh_known: bool = False
    strip_query_params: list[str] = Field(default_factory=lambda: ["utm_*", "fbclid", "gclid"])
    cut_markers: list[str] = Field(default_factory=list)
    related_markers: list[str] = Field(default_factory=list)
    hashtag_url_pattern: str | None = None
    byline: Byline = Field(default_factory=Byline)
    # The publisher to record when a page names none (a publisher's own site, not an aggregator).
    publisher: str | None = None
    max_pages: Annotated[int, Field(ge=1)] = 500
    max_seconds: Annotated[float, Field(gt=0)] = 600.0
    max_depth: Annotated[int, Field(ge=0)] = 3
    download_delay: Annotated[float, Field(ge=0)] = 1.0
    download_timeout: Annotated[float, Field(gt=0)] = 30.0
    retry_times: Annotated[int, Field(ge=0, le=10)] = 2
    concurrency_per_domain: Annotated[int, Field(ge=1)] = 2
    max_response_bytes: Annotated[int, Field(ge=1024)] = 5 * 1024 * 1024
    min_body_chars: Annotated[int, Field(ge=0)] = 200
    schedule: Schedule | None = None  # when its deployment runs; None = only when triggered

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _absolute_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an absolute http(s) URL: {url!r}")
        return urls

    @field_validator("article_url_patterns", "listing_url_patterns")
    @classmethod
    def _valid_regexes(cls, patterns: list[str]) -> list[str]:
        return _check_regexes(patterns)

    @field_validator("hashtag_url_pattern")
    @classmethod
    def _valid_hashtag_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            _check_regexes([pattern])
            if re.compile(pattern).groups != 1:
                raise ValueError("hashtag_url_pattern needs exactly one group capturing the tag")
        return pattern

    @model_validator(mode="after")
    def _has_entry_points(self) -> Source:
        if not (self.start_urls or self.feeds or self.sitemaps or self.sitemaps_from_robots):
            raise ValueError(
                "no entry point: set start_urls, feeds, sitemaps or sitemaps_from_robots"
            )
        if self.start_urls and not self.article_url_patterns:
            raise ValueError(
                "article_url_patterns is needed to tell articles among a listing page's links"
            )
        return self

    def entry_urls(self) -> list[str]:
        """Every configured entry URL; their origins are where robots.txt is looked up."""
        return [*self.start_urls, *self.feeds, *self.sitemaps]

    def robots_origins(self) -> list[str]:
        """Where robots.txt is read for `sitemaps_from_robots`: the entry points' origins, or
        the allowed domains' when the source names no entry URL."""
        origins = {origin(url) for url in self.entry_urls()}
        return sorted(origins or {f"http://{domain}" for domain in self.domains()})

    def domains(self) -> list[str]:
        """Allowed hosts; the entry points' hosts when the file names none."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        return sorted({urlsplit(url).hostname or "" for url in self.entry_urls()})

    def is_article(self, url: str) -> bool:
        return _matches_path(url, self.article_url_patterns)

    def accepts_feed_entry(self, url: str) -> bool:
        """Feeds and sitemaps list articles; article_url_patterns, when set, still filter them."""
        return not self.article_url_patterns or self.is_article(url)

    def is_listing(self, url: str) -> bool:
        return _matches_path(url, self.listing_url_patterns)

    def rebased(self, base_url: str) -> Source:
        """The same source served from another origin (a staging host or the local test site)."""
        base = urlsplit(base_url)

        def move(urls: list[str]) -> list[str]:
            return [
                urlunsplit((base.scheme, base.netloc, p.path, p.query, ""))
                for p in map(urlsplit, urls)
            ]

        return self.model_copy(
            update={
                "start_urls": move(self.start_urls),
                "feeds": move(self.feeds),
                "sitemaps": move(self.sitemaps),
                "allowed_domains": [base.hostname or ""],
            }
        )


def _matches_path(url: str, patterns: list[str]) -> bool:
    path = urlsplit(url).path or "/"
    return any(re.search(pattern, path) for pattern in patterns)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[list[Source], Field(min_length=1)]


def load_sources(path: Path, names: list[str] | None = None) -> list[Source]:
    """Parse and validate a sources file; pick `names` (all when None) in the file's order."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesFileError(f"{path}: sources file not found") from None
    except UnicodeDecodeError as exc:
        raise SourcesFileError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise SourcesFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"{path}: not valid TOML: {exc}") from None
    try:
        sources = SourcesFile.model_validate(raw).source
    except ValidationError as exc:
        raise SourcesFileError(_describe_errors(path, raw, exc)) from None
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise SourcesFileError(f"{path}: source {source.name!r} is defined twice")
        seen.add(source.name)
    if names:
        unknown = sorted(set(names) - seen)
        if unknown:
            raise SourcesFileError(
                f"{path}: no source named {', '.join(unknown)} (known: {', '.join(sorted(seen))})"
            )
        sources = [source for source in sources if source.name in names]
    return sources


def _describe_errors(path: Path, raw: dict[str, Any], exc: ValidationError) -> str:
    lines = [f"{path}: invalid sources file"]
    listed = raw.get("source")
    blocks: list[Any] = listed if isinstance(listed, list) else []
    for error in exc.errors():
        loc = list(error["loc"])
        where = "file"
        if len(loc) >= 2 and loc[0] == "source" and isinstance(loc[1], int):
            index = loc[1]
            block = blocks[index] if index < len(blocks) else {}
            name = block.get("name") if isinstance(block, dict) else None
            where = f"source {name!r}" if name else f"source #{index + 1}"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(block)"
        lines.append(f"  {where}, field {field}: {error['msg']}")
    return "\n".join(lines)
