"""Plain functions that run one stage over one source; the Prefect flow only calls these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flows.extract import ExtractionError, extract_article
from flows.models import Article, FetchedPage, FetchError
from flows.sources import Source


@dataclass
class ExtractionResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    duplicates_in_batch: int = 0


def extract_pages(pages: Iterable[FetchedPage], source: Source) -> ExtractionResult:
    """Extract every page; a page that fails is recorded with its reason and the rest go on.

    Copies within the batch (same canonical URL or same text) are dropped here, before the
    database sees them.
    """
    result = ExtractionResult()
    seen_urls: set[str] = set()
    seen_hashes: set[str] = set()
    for page in pages:
        try:
            article = extract_article(page, source)
        except ExtractionError as exc:
            result.errors.append(FetchError(page.source, page.url, str(exc)))
            continue
        except Exception as exc:  # an extractor bug on one page must not stop the run
            result.errors.append(
                FetchError(page.source, page.url, f"extraction failed: {type(exc).__name__}: {exc}")
            )
            continue
        if article.canonical_url in seen_urls or article.content_hash in seen_hashes:
            result.duplicates_in_batch += 1
            continue
        seen_urls.add(article.canonical_url)
        seen_hashes.add(article.content_hash)
        result.articles.append(article)
    return result
