"""Stories: near-identical articles (syndicated copies, light rewrites) are linked to one story.

Each article's 4-word shingles get a MinHash signature (datasketch); the signature is cut into
LSH bands whose keys live in Postgres (`story_bands`, btree), so the index is shared by every run
and every concurrent worker. Articles sharing a band key are only candidates: the link is made
when the exact shingle Jaccard reaches SAME_STORY_JACCARD. The first copy stored represents the
story (`story_id` = its id); later copies are stored too and point at it.

Parameters, measured on the test site's stories (scripts in tests/test_stories.py): its lightly
edited rewrites have a shingle Jaccard of 0.83-0.85 with their base, distinct stories at most
0.006. The cut-off is 0.6, far from both. With 42 bands of 3 rows (126 permutations) a pair at
Jaccard 0.6 shares a band with probability 1 - (1 - 0.6^3)^42 > 0.9999, a pair at 0.05 with
about 0.005; candidates are checked exactly, so extra candidates cost only a text comparison.

Race safety: before looking up candidates, the writer takes a transaction-scoped advisory lock on
each of its band keys (in ascending order, so two writers cannot deadlock). Two workers storing
copies of one story at once share band keys, so the second waits for the first's commit and then
finds its bands. Locks are released at commit or when a crashed worker's connection drops.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass

from datasketch import MinHash

from flows.db import Connection

SHINGLE_WORDS = 4
BANDS = 42
ROWS_PER_BAND = 3
NUM_PERM = BANDS * ROWS_PER_BAND
SAME_STORY_JACCARD = 0.6
MAX_CANDIDATES = 20
_SEED = 8
# Namespace (first key) of the advisory locks on band keys, so they cannot collide with others'.
_LOCK_NAMESPACE = 40_003
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(title: str, body: str) -> set[str]:
    """Overlapping 4-word sequences of title and body; a text shorter than that is one shingle."""
    tokens = words(f"{title}\n{body}")
    if len(tokens) <= SHINGLE_WORDS:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def jaccard(first: set[str], second: set[str]) -> float:
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


def band_keys(shingle_set: set[str]) -> list[int]:
    """The LSH band keys of a shingle set: signed 64-bit integers, sorted, distinct."""
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED)
    signature.update_batch([shingle.encode("utf-8") for shingle in shingle_set])
    values = signature.hashvalues
    keys = set()
    for band in range(BANDS):
        rows = values[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(
            struct.pack(">H", band) + rows.astype(">u8").tobytes(), digest_size=8
        ).digest()
        keys.add(struct.unpack(">q", digest)[0])
    return sorted(keys)


@dataclass(frozen=True)
class StoryLink:
    story_id: int
    similar_article_id: int | None
    similarity: float


def link_story(connection: Connection, article_id: int, title: str, body: str) -> StoryLink:
    """Give a just-inserted article its story, inside the caller's transaction.

    Joins the story of the most similar stored article at or above SAME_STORY_JACCARD, otherwise
    starts its own story. Records the article's band keys for later copies.
    """
    own_shingles = shingles(title, body)
    keys = band_keys(own_shingles)
    # Locked in ascending order of the (folded) lock ids: no two writers can deadlock.
    lock_ids = sorted({key & 0x7FFFFFFF for key in keys})
    connection.execute(
        "SELECT pg_advisory_xact_lock(%s, lock_id) FROM unnest(%s::int[]) AS lock_id",
        (_LOCK_NAMESPACE, lock_ids),
    ).fetchall()
    candidates = connection.execute(
        """SELECT a.id, a.story_id, a.title, a.body
           FROM (SELECT article_id, count(*) AS shared FROM story_bands
                 WHERE band_key = ANY(%s) AND article_id <> %s
                 GROUP BY article_id ORDER BY shared DESC, article_id LIMIT %s) c
           JOIN articles a ON a.id = c.article_id
           ORDER BY c.shared DESC, a.id""",
        (keys, article_id, MAX_CANDIDATES),
    ).fetchall()
    best = StoryLink(article_id, None, 0.0)
    for candidate in candidates:
        similarity = jaccard(own_shingles, shingles(candidate["title"], candidate["body"]))
        if similarity >= SAME_STORY_JACCARD and similarity > best.similarity:
            best = StoryLink(
                int(candidate["story_id"] or candidate["id"]), int(candidate["id"]), similarity
            )
    connection.execute(
        "UPDATE articles SET story_id = %s WHERE id = %s", (best.story_id, article_id)
    )
    connection.execute(
        "INSERT INTO story_bands (band_key, article_id) SELECT unnest(%s::bigint[]), %s"
        " ON CONFLICT DO NOTHING",
        (keys, article_id),
    )
    return best
