"""`newswatch bench alerts`: matching N watches against M new articles, in a scratch database.

Watches and articles are generated from the test site's stories (English and Arabic): articles
mix paragraphs and sentences of stories of one language; watches are the kinds people write
(a name, two words, a quoted phrase, an OR, a word with an exclusion), some restricted to one
language. The scratch database is created on the configured server and dropped afterwards.
The timed step is `match_new_articles` (finding pairs, writing alerts and deliveries); building
the watch index, a one-time cost per watch, is timed separately. A sample of watches is checked
against a plain `tsv @@ websearch_to_tsquery(ts_config, query)` over all articles.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from flows.bench.support import scratch_database
from flows.config.settings import Settings
from flows.match.index import MATCH_PAIRS_SQL, ensure_indexed, hash_joins
from flows.match.matcher import match_new_articles
from flows.store import db
from flows.store.articles import start_run
from flows.testsite import load_stories

_WORD = re.compile(r"\w{5,}")
_CONFIG = {"en": "english", "ar": "arabic"}


@dataclass
class AlertsBenchResult:
    watches: int
    articles: int
    topic_share: float
    index_seconds: float
    pairs_seconds: float
    match_seconds: float
    matches: int
    alerts: int
    deliveries: int
    verified_watches: int
    verified_pairs: int
    mismatches: int
    brute_force_sample_seconds: float


def register(commands: Any, bench_commands: Any) -> None:
    bench = bench_commands.add_parser(
        "alerts", help="match N generated watches against M generated articles (scratch DB)"
    )
    bench.add_argument("--watches", type=int, default=10_000, metavar="N")
    bench.add_argument("--articles", type=int, default=1_000, metavar="M")
    bench.add_argument(
        "--verify",
        type=int,
        default=300,
        metavar="K",
        help="check K watches against a plain @@ over all articles (0: skip)",
    )
    bench.add_argument("--seed", type=int, default=4)
    bench.add_argument(
        "--topic-share",
        type=float,
        default=0.02,
        metavar="F",
        help="share of watches that quote a topic phrase instead of a name",
    )
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the figures here")
    bench.set_defaults(handler=_bench_command)


def _bench_command(args: argparse.Namespace, settings: Settings) -> int:
    result = run_bench(
        settings, args.watches, args.articles, args.verify, args.seed, args.topic_share
    )
    figures = asdict(result)
    for key, value in figures.items():
        print(f"  {key:28} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(f"  written to {args.json}")
    return 0 if result.mismatches == 0 else 1


_SYLLABLES = {
    "en": [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en", "ol")],
    "ar": [c + v for c in "بتدرسفقكلمنهوي" for v in ("ا", "و", "ي", "")],
}
ENTITIES_PER_LANGUAGE = 20_000


class _Corpus:
    """Texts from the test site's stories plus named entities with a long-tailed frequency.

    Real watches mostly follow names (people, firms, places), and a batch of news mentions only
    a few of the many names there are: each article mentions 5-20 names drawn with Zipf weights
    from 20,000 per language. Most watches follow names (alone, with a word, OR another name,
    excluding a word); `topic_share` of them quote a two-word phrase of the stories. The texts
    recur far more than real news does (36 stories), so a topic phrase matches ~4% of articles:
    raise the share to see the cost of many matches (the figures report the match count).
    """

    def __init__(self, seed: int, topic_share: float) -> None:
        self.random = random.Random(seed)
        self.topic_share = topic_share
        self.stories: dict[str, list[Any]] = {"en": [], "ar": []}
        for story in load_stories():
            self.stories[story.lang].append(story)
        self.sentences = {
            lang: [s for story in stories for p in story.paragraphs for s in p.split(". ") if s]
            for lang, stories in self.stories.items()
        }
        self.vocabulary = {
            lang: sorted({w.lower() for s in sentences for w in _WORD.findall(s)})
            for lang, sentences in self.sentences.items()
        }
        # Topic phrases: two adjacent content words ("reconstruction fund"), as people quote them.
        self.phrases = {
            lang: sorted(
                {
                    f"{first} {second}"
                    for sentence in sentences
                    for first, second in itertools.pairwise(re.findall(r"\w+", sentence))
                    if len(first) > 5 and len(second) > 5
                }
            )
            for lang, sentences in self.sentences.items()
        }
        self.entities = {lang: self._names(lang) for lang in self.stories}
        ranks = range(1, ENTITIES_PER_LANGUAGE + 1)
        self.entity_weights = list(itertools.accumulate(1 / rank for rank in ranks))

    def _names(self, lang: str) -> list[str]:
        names: set[str] = set()
        while len(names) < ENTITIES_PER_LANGUAGE:
            parts = self.random.choices(_SYLLABLES[lang], k=self.random.randint(3, 4))
            names.add("".join(parts).capitalize())
        return sorted(names)

    def _entity(self, lang: str, popular: bool = True) -> str:
        if popular:
            return self.random.choices(self.entities[lang], cum_weights=self.entity_weights)[0]
        return self.random.choice(self.entities[lang])

    def article(self, lang: str) -> tuple[str, str]:
        story = self.random.choice(self.stories[lang])
        paragraphs = [story.paragraphs[0]]
        for _ in range(self.random.randint(2, 5)):
            sentences = self.random.sample(self.sentences[lang], 3)
            names = [self._entity(lang) for _ in range(self.random.randint(2, 4))]
            paragraphs.append(". ".join(sentences) + ". " + ", ".join(names) + ".")
        return story.title, "\n\n".join(paragraphs)

    def query(self, lang: str) -> str:
        """Mostly names, in the forms people write; some a two-word topic phrase."""
        words = self.vocabulary[lang]
        name = self._entity(lang, popular=False)
        if self.random.random() < self.topic_share:
            return f'"{self.random.choice(self.phrases[lang])}"'
        kind = self.random.random()
        if kind < 0.4:
            return name
        if kind < 0.6:
            return f"{name} {self.random.choice(words)}"
        if kind < 0.8:
            return f"{name} OR {self._entity(lang, popular=False)}"
        return f"{name} -{self.random.choice(words)}"


def _populate(connection: db.Connection, corpus: _Corpus, watches: int, articles: int) -> int:
    run_id = start_run(connection, ["bench"])
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY articles (source, url, canonical_url, content_hash, title, body, language,"
            " fetched_at, run_id, ts_config) FROM STDIN"
        ) as copy:
            for number in range(articles):
                lang = "ar" if corpus.random.random() < 0.25 else "en"
                title, body = corpus.article(lang)
                url = f"http://bench.invalid/article/{number}"
                copy.write_row(
                    (
                        "bench",
                        url,
                        url,
                        f"h{number}",
                        title,
                        body,
                        lang,
                        "2026-11-28T06:00:00Z",
                        run_id,
                        _CONFIG[lang],
                    )
                )
        cursor.execute("UPDATE articles SET story_id = id")
        with cursor.copy("COPY watches (id, name, query, language, ts_config) FROM STDIN") as copy:
            for number in range(1, watches + 1):
                choice = corpus.random.random()
                only: str | None = "en" if choice < 0.2 else "ar" if choice < 0.3 else None
                query = corpus.query(only or ("ar" if corpus.random.random() < 0.25 else "en"))
                copy.write_row(
                    (number, f"watch-{number}", query, only, _CONFIG[only] if only else None)
                )
        cursor.execute("SELECT setval('watches_id_seq', %s)", (watches,))
        cursor.execute(
            "INSERT INTO watch_recipients (watch_id, email)"
            " SELECT id, 'desk' || (id % 500) || '@example.com' FROM watches"
        )
    connection.commit()
    return run_id


def run_bench(
    settings: Settings,
    watches: int,
    articles: int,
    verify: int = 300,
    seed: int = 4,
    topic_share: float = 0.02,
) -> AlertsBenchResult:
    server_url = db.database_url(settings)
    corpus = _Corpus(seed, topic_share)
    with scratch_database(server_url) as url:
        db.migrate(url)
        with db.connect(url) as connection:
            run_id = _populate(connection, corpus, watches, articles)
        with psycopg.connect(url, autocommit=True) as maintenance:
            maintenance.execute("ANALYZE")
        with db.connect(url) as connection:
            started = time.perf_counter()
            with connection.transaction():
                ensure_indexed(connection, list(_CONFIG.values()))
            index_seconds = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as maintenance:
            maintenance.execute("ANALYZE watch_terms")
            maintenance.execute("ANALYZE watch_queries")
        with db.connect(url) as connection:
            pairs_seconds = _time_pairs(connection)
            started = time.perf_counter()
            matched = match_new_articles(connection, run_id)
            match_seconds = time.perf_counter() - started
            verified, pairs, mismatches, brute_seconds = _verify(connection, verify, corpus)
    return AlertsBenchResult(
        watches=watches,
        articles=articles,
        topic_share=topic_share,
        index_seconds=round(index_seconds, 3),
        pairs_seconds=round(pairs_seconds, 3),
        match_seconds=round(match_seconds, 3),
        matches=matched.pairs,
        alerts=matched.alerts_new,
        deliveries=matched.deliveries_new,
        verified_watches=verified,
        verified_pairs=pairs,
        mismatches=mismatches,
        brute_force_sample_seconds=round(brute_seconds, 3),
    )


def _time_pairs(connection: db.Connection) -> float:
    """The pair-finding query alone (read only), as match_new_articles runs it."""
    ids = [row["id"] for row in connection.execute("SELECT id FROM articles ORDER BY id")]
    with connection.transaction(), hash_joins(connection):
        started = time.perf_counter()
        connection.execute(f"SELECT count(*) FROM ({MATCH_PAIRS_SQL}) pairs", {"ids": ids})
        return time.perf_counter() - started


def _verify(connection: db.Connection, sample: int, corpus: _Corpus) -> tuple[int, int, int, float]:
    """Compare the alerts of `sample` watches with a plain @@ of each against every article."""
    if sample <= 0:
        return 0, 0, 0, 0.0
    ids = [row["id"] for row in connection.execute("SELECT id FROM watches ORDER BY id")]
    chosen = corpus.random.sample(ids, min(sample, len(ids)))
    started = time.perf_counter()
    expected = {
        (row["watch_id"], row["article_id"])
        for row in connection.execute(
            """SELECT w.id AS watch_id, a.id AS article_id FROM watches w JOIN articles a
               ON (w.ts_config IS NULL OR w.ts_config = a.ts_config)
               AND a.tsv @@ websearch_to_tsquery(a.ts_config, w.query)
               WHERE w.id = ANY(%s)""",
            (chosen,),
        )
    }
    brute_seconds = time.perf_counter() - started
    found = {
        (row["watch_id"], row["article_id"])
        for row in connection.execute(
            "SELECT watch_id, article_id FROM alerts WHERE watch_id = ANY(%s)", (chosen,)
        )
    }
    return len(chosen), len(expected), len(expected ^ found), brute_seconds
