"""Story deduplication: copies and light rewrites join one story, across runs and workers."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

from flows.records import Article
from flows.store import db
from flows.store.articles import start_run, store_articles
from flows.store.stories import SAME_STORY_JACCARD, jaccard, shingles
from flows.testsite import TestSite
from tests.support.site_articles import site_articles


def _by_story(site: TestSite) -> dict[str, Article]:
    """One extracted article per story id of the site (primary URLs only)."""
    articles = site_articles(site)
    primary = {site.base_url + story.url_path: story.id for story in site.stories}
    return {primary[url]: article for url, article in articles.items() if url in primary}


def test_thresholds_separate_rewrites_from_distinct_stories(test_site: TestSite) -> None:
    """The measurement behind SAME_STORY_JACCARD, on texts as the extractor gives them."""
    articles = _by_story(test_site)
    sets = {sid: shingles(a.title, a.body) for sid, a in articles.items()}
    edited = [s for s in test_site.stories if s.edited_from]
    assert len(edited) == 4
    rewrite_scores = [jaccard(sets[s.id], sets[s.edited_from]) for s in edited]  # type: ignore[index]
    rewrite_pairs = {frozenset((s.id, s.edited_from)) for s in edited}
    distinct_scores = [
        jaccard(sets[a], sets[b])
        for a, b in itertools.combinations(sorted(sets), 2)
        if frozenset((a, b)) not in rewrite_pairs
    ]
    print(
        f"rewrites {sorted(round(x, 3) for x in rewrite_scores)}, distinct max {max(distinct_scores):.4f}"
    )
    assert min(rewrite_scores) >= SAME_STORY_JACCARD + 0.1
    assert max(distinct_scores) <= SAME_STORY_JACCARD - 0.4


def test_site_copies_become_one_story_each(test_site: TestSite, clean_db: str) -> None:
    articles = site_articles(test_site)
    story_of_url = test_site.article_urls()
    by_id = {story.id: story for story in test_site.stories}
    base_of = {sid: by_id[sid].edited_from or sid for sid in by_id}
    with db.connect(clean_db) as connection:
        run_id = start_run(connection, ["daily8"])
        # Two runs: the first stores half the URLs, the second the rest (bands persist in Postgres).
        urls = sorted(articles)
        first = store_articles(connection, [articles[u] for u in urls[::2]], run_id)
        second = store_articles(connection, [articles[u] for u in urls[1::2]], run_id)
        rows = connection.execute(
            "SELECT a.id, a.story_id, u.url FROM articles a JOIN article_urls u ON u.article_id = a.id"
        ).fetchall()
        stored = connection.execute("SELECT count(*) AS n FROM articles").fetchone()
    assert stored is not None
    # Aliases are exact copies: not stored again. Rewrites are stored and linked.
    assert stored["n"] == len(test_site.stories)
    assert len(first.new_article_ids) + len(second.new_article_ids) == len(test_site.stories)
    story_by_url = {row["url"]: row["story_id"] for row in rows}
    for url, site_story in story_of_url.items():
        base_story_urls = [
            u for u, sid in story_of_url.items() if base_of[sid] == base_of[site_story]
        ]
        assert {story_by_url[u] for u in base_story_urls} == {story_by_url[url]}
    bases = {base_of[sid] for sid in story_of_url.values()}
    assert len(set(story_by_url.values())) == len(bases)  # no two distinct stories merged
    # The first copy seen represents the story.
    rep = {row["story_id"] for row in rows}
    assert rep <= {row["id"] for row in rows}


def _near_copy(article: Article) -> Article:
    """A light rewrite: one sentence dropped, so the content hash differs."""
    sentences = article.body.split(". ")
    body = ". ".join(sentences[:2] + sentences[3:])
    return replace(
        article,
        url=article.url + "-rewrite",
        canonical_url=article.canonical_url + "-rewrite",
        body=body,
        content_hash="rewrite-" + article.content_hash,
    )


def test_concurrent_writers_link_to_one_story(test_site: TestSite, clean_db: str) -> None:
    """Writer B stores a copy while writer A's copy is uncommitted: B waits, then links to A."""
    original = next(iter(_by_story(test_site).values()))
    copy = _near_copy(original)
    assert jaccard(shingles(original.title, original.body), shingles(copy.title, copy.body)) >= (
        SAME_STORY_JACCARD
    )
    with db.connect(clean_db) as setup:
        run_id = start_run(setup, ["daily8"])
    outcome: dict[str, object] = {}

    def writer_b() -> None:
        with db.connect(clean_db) as connection:
            outcome["b"] = store_articles(connection, [copy], run_id).new_article_ids[0]

    with db.connect(clean_db) as connection_a:
        with connection_a.transaction():
            first_id = store_articles(connection_a, [original], run_id).new_article_ids[0]
            thread = threading.Thread(target=writer_b)
            thread.start()
            thread.join(timeout=1.5)
            blocked_while_a_open = thread.is_alive()
        thread.join(timeout=30)
        stories = connection_a.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall()
    assert blocked_while_a_open
    assert [r["story_id"] for r in stories] == [first_id, first_id]
    assert outcome["b"] == stories[1]["id"]
