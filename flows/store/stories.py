"""Stories: near-identical articles (syndicated copies, light rewrites) are linked to one story.

Each article's 4-word shingles get a MinHash signature (a shingle's 32-bit hash combines its
words' CRC-32s; 126 fixed multiply-shift hash functions, in numpy; computed in the extraction
workers); the signature is cut into LSH bands whose keys live in Postgres (`story_bands`,
btree), so the index is shared by every run and every concurrent worker. Articles sharing a band
key are only candidates: the link is made when the exact shingle Jaccard reaches
SAME_STORY_JACCARD. The first copy stored represents the story (`story_id` = its id); later
copies are stored too and point at it.

Parameters, measured on the test site's stories (scripts in tests/integration/test_stories.py): its lightly
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
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the extraction workers compute keys and need no database driver (~25 MB)
    from flows.store.db import Connection

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


@cache
def _permutations() -> tuple[Any, Any, Any]:
    """numpy and the MinHash permutations, on first use: the flow process, which finds stories
    but gets keys from the workers, need not carry numpy (~17 MB)."""
    import numpy as np

    state = np.random.RandomState(_SEED)
    # Multiply-shift hashing: odd multipliers, the high 32 bits of (a * x + b) mod 2**64.
    a = state.randint(0, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = state.randint(0, 2**63, size=NUM_PERM, dtype=np.uint64)
    return np, a, b


# Odd 64-bit multipliers, one per position of a word in its shingle (order matters).
_POSITION_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0x27D4EB2F165667C5,
)


def _shingle_hashes(tokens: Sequence[str]) -> Any:
    """32-bit hashes of the distinct 4-word shingles, built from one CRC-32 per word (hashing
    every shingle's text costs three times as much). Stable across processes: no hash()."""
    np, _, _ = _permutations()
    word_hashes = np.fromiter(
        (zlib.crc32(token.encode("utf-8")) for token in tokens), dtype=np.uint64, count=len(tokens)
    )
    if len(word_hashes) < SHINGLE_WORDS:  # a short text is one shingle, padded with zeros
        padding = np.zeros(SHINGLE_WORDS - len(word_hashes), dtype=np.uint64)
        word_hashes = np.concatenate([word_hashes, padding])
    count = len(word_hashes) - SHINGLE_WORDS + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrapping modulo 2**64 is the hash's definition
        for position, multiplier in enumerate(_POSITION_MULTIPLIERS):
            combined += word_hashes[position : position + count] * np.uint64(multiplier)
    return np.unique(combined >> np.uint64(32))


def band_keys(tokens: Sequence[str]) -> list[int]:
    """The LSH band keys of a text's words: signed 64-bit integers, sorted, distinct."""
    np, a, b = _permutations()
    hashes = _shingle_hashes(tokens)
    with np.errstate(over="ignore"):  # multiply-shift: the high 32 bits of a * x + b mod 2**64
        permuted = (hashes[:, np.newaxis] * a + b) >> np.uint64(32)
    values = permuted.min(axis=0)
    keys = set()
    for band in range(BANDS):
        rows = values[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(
            struct.pack(">H", band) + rows.astype(">u8").tobytes(), digest_size=8
        ).digest()
        keys.add(struct.unpack(">q", digest)[0])
    return sorted(keys)


def story_keys(title: str, body: str, body_words: Sequence[str] | None = None) -> tuple[int, ...]:
    """An article's band keys; cheap enough for the extraction workers to compute in parallel.
    `body_words`: `words(body)`, when the caller has them already."""
    return tuple(band_keys([*words(title), *(words(body) if body_words is None else body_words)]))


@dataclass(frozen=True)
class StoryLink:
    story_id: int
    similar_article_id: int | None
    similarity: float


def find_story(
    connection: Connection, keys: Sequence[int], title: str, body: str
) -> StoryLink | None:
    """The story an article about to be inserted joins, or None when it starts its own.

    Call inside the transaction that inserts it: the advisory locks taken here on its band keys
    make a concurrent writer of a copy wait for this one's commit, then find it.
    """
    # Locked in ascending order of the (folded) lock ids: no two writers can deadlock.
    lock_ids = sorted({key & 0x7FFFFFFF for key in keys})
    with connection.pipeline():
        connection.execute(
            "SELECT pg_advisory_xact_lock(%s, lock_id) FROM unnest(%s::int[]) AS lock_id",
            (_LOCK_NAMESPACE, lock_ids),
        )
        candidates = connection.execute(
            """SELECT a.id, a.story_id, a.title, a.body
               FROM (SELECT article_id, count(*) AS shared FROM story_bands
                     WHERE band_key = ANY(%s)
                     GROUP BY article_id ORDER BY shared DESC, article_id LIMIT %s) c
               JOIN articles a ON a.id = c.article_id
               ORDER BY c.shared DESC, a.id""",
            (list(keys), MAX_CANDIDATES),
        )
    rows = candidates.fetchall()
    if not rows:
        return None
    own_shingles = shingles(title, body)
    best: StoryLink | None = None
    for candidate in rows:
        similarity = jaccard(own_shingles, shingles(candidate["title"], candidate["body"]))
        if similarity >= SAME_STORY_JACCARD and (best is None or similarity > best.similarity):
            best = StoryLink(
                int(candidate["story_id"] or candidate["id"]), int(candidate["id"]), similarity
            )
    return best


def record_keys(connection: Connection, article_id: int, keys: Sequence[int]) -> None:
    """Remember an inserted article's band keys for later copies to find it."""
    connection.execute(
        "INSERT INTO story_bands (band_key, article_id) SELECT unnest(%s::bigint[]), %s"
        " ON CONFLICT DO NOTHING",
        (list(keys), article_id),
    )
