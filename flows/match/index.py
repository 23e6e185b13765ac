"""The watch-term index: matching many watches against a batch of articles without a nested loop.

For each watch and text-search configuration we store Postgres's own
`websearch_to_tsquery(config, query)` and a *cover*: a set of lexemes of which every matching
document must contain at least one (for `a & b` one side's cover, for `a | b` both sides'). A
batch's articles are joined to watches through their lexemes (`watch_terms`, btree), and only
those candidate pairs are checked with `tsv @@ query`, so the result is exactly what
`tsv @@ websearch_to_tsquery(ts_config, query)` gives. Queries without a cover (only negations)
are `broad` and checked against every article of the batch.

Entries are built lazily, per configuration a batch needs, for watches not indexed yet; editing
a watch deletes its entries, so the next match rebuilds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flows.store.db import Connection

_TOKEN = re.compile(r"'(?:[^'\\]|''|\\.)*'(?::[*A-Da-d]+)?|<->|<\d+>|[&|!()]")
_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([*A-Da-d]+))?")


@dataclass(frozen=True)
class _Node:
    op: str  # "lex", "!", "&", "|", "<->"
    lexeme: str = ""
    exact: bool = True  # False for prefix or weight-restricted lexemes (never from websearch)
    children: tuple[_Node, ...] = ()


class _Parser:
    """A tsquery's text form, with Postgres's precedence: ! over <-> over & over |."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = _TOKEN.findall(text)
        if "".join(self.tokens).replace(" ", "") != re.sub(r"\s+", "", text):
            raise ValueError(f"unexpected tsquery text: {text!r}")
        self.position = 0

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> _Node | None:
        if not self.tokens:
            return None
        node = self._or()
        if self._peek() is not None:
            raise ValueError(f"trailing tokens in tsquery: {self.tokens[self.position :]}")
        return node

    def _or(self) -> _Node:
        node = self._and()
        while self._peek() == "|":
            self._take()
            node = _Node("|", children=(node, self._and()))
        return node

    def _and(self) -> _Node:
        node = self._phrase()
        while self._peek() == "&":
            self._take()
            node = _Node("&", children=(node, self._phrase()))
        return node

    def _phrase(self) -> _Node:
        node = self._unary()
        while (token := self._peek()) is not None and token.startswith("<"):
            self._take()
            node = _Node("<->", children=(node, self._unary()))
        return node

    def _unary(self) -> _Node:
        token = self._take()
        if token == "!":
            return _Node("!", children=(self._unary(),))
        if token == "(":
            node = self._or()
            if self._take() != ")":
                raise ValueError("unbalanced parentheses in tsquery")
            return node
        lexeme_match = _LEXEME.fullmatch(token)
        if lexeme_match:
            lexeme = re.sub(r"\\(.)", r"\1", lexeme_match.group(1).replace("''", "'"))
            return _Node("lex", lexeme=lexeme, exact=not lexeme_match.group(2))
        raise ValueError(f"unexpected token {token!r} in tsquery")


def _cover(node: _Node, frequency: Mapping[str, int]) -> frozenset[str] | None:
    """Lexemes every match contains at least one of; None when a match may contain none."""
    if node.op == "lex":
        return frozenset((node.lexeme,)) if node.exact else None
    if node.op == "!":
        return None
    covers = [_cover(child, frequency) for child in node.children]
    if node.op == "|":
        if any(cover is None for cover in covers):
            return None
        return frozenset().union(*covers)  # type: ignore[arg-type]
    # & and <->: every operand must hold, so any operand's cover will do; take the most selective:
    # the rarest in recent articles, then fewest lexemes, then the longest words.
    known = [cover for cover in covers if cover is not None]
    if not known:
        return None
    return min(
        known,
        key=lambda cover: (
            sum(frequency.get(lexeme, 0) for lexeme in cover),
            len(cover),
            -sum(map(len, cover)),
            sorted(cover),
        ),
    )


def _lexemes(node: _Node) -> Iterator[str]:
    if node.op == "lex":
        yield node.lexeme
    for child in node.children:
        yield from _lexemes(child)


def parse_tsquery(tsquery_text: str) -> _Node | None:
    return _Parser(tsquery_text).parse()


def query_cover(
    tsquery_text: str, frequency: Mapping[str, int] | None = None
) -> frozenset[str] | None:
    """The cover of a tsquery given in Postgres's text form; empty set for an empty query."""
    root = parse_tsquery(tsquery_text)
    if root is None:
        return frozenset()  # matches nothing: no candidates at all
    return _cover(root, frequency or {})


@contextmanager
def hash_joins(connection: Connection) -> Iterator[None]:
    """Nested loops off for the block, inside the caller's transaction (the planner cannot size a
    batch's lexemes and probes an index per lexeme where one hash join is several times faster).

    JIT off with them: disabling a plan node makes the planner price the plan at 10^10, far past
    `jit_above_cost`, so Postgres compiled every matching statement with LLVM: 246 ms of a 271 ms
    match of 181 articles against three watches, measured with EXPLAIN ANALYZE.
    """
    connection.execute("SET LOCAL enable_nestloop = off")
    connection.execute("SET LOCAL jit = off")
    try:
        yield
    finally:
        connection.execute("SET LOCAL enable_nestloop TO DEFAULT")
        connection.execute("SET LOCAL jit TO DEFAULT")


# How many of the latest articles of a configuration estimate how common a lexeme is.
FREQUENCY_SAMPLE = 2000


def _frequencies(connection: Connection, ts_config: str, lexemes: set[str]) -> dict[str, int]:
    if not lexemes:
        return {}
    # The planner cannot size the array and may probe it per article lexeme: force a hash join.
    with hash_joins(connection):
        rows = connection.execute(
            """SELECT word.lexeme, count(*) AS documents
               FROM (SELECT tsv FROM articles WHERE ts_config = %s::regconfig
                     ORDER BY id DESC LIMIT %s) recent
               CROSS JOIN LATERAL unnest(tsvector_to_array(recent.tsv)) AS word(lexeme)
               JOIN unnest(%s::text[]) AS wanted(lexeme) ON wanted.lexeme = word.lexeme
               GROUP BY word.lexeme""",
            (ts_config, FREQUENCY_SAMPLE, sorted(lexemes)),
        ).fetchall()
    return {row["lexeme"]: int(row["documents"]) for row in rows}


def ensure_indexed(connection: Connection, ts_configs: list[str]) -> int:
    """Index, for each configuration, the watches that match it and are not indexed yet."""
    indexed = 0
    for ts_config in ts_configs:
        # Found first, inserted second: an anti-join inside the INSERT would rescan the rows
        # the INSERT itself adds (quadratic in the number of new watches).
        missing = [
            row["id"]
            for row in connection.execute(
                """SELECT w.id FROM watches w
                   WHERE (w.ts_config IS NULL OR w.ts_config = %(cfg)s::regconfig)
                     AND NOT EXISTS (SELECT 1 FROM watch_queries q
                                     WHERE q.watch_id = w.id AND q.ts_config = %(cfg)s::regconfig)""",
                {"cfg": ts_config},
            )
        ]
        if not missing:
            continue
        rows = connection.execute(
            """INSERT INTO watch_queries (watch_id, ts_config, query, broad)
               SELECT w.id, %(cfg)s::regconfig, websearch_to_tsquery(%(cfg)s::regconfig, w.query),
                      false
               FROM unnest(%(ids)s::bigint[]) AS m(id) JOIN watches w ON w.id = m.id
               ON CONFLICT DO NOTHING
               RETURNING watch_id, query::text AS query_text""",
            {"cfg": ts_config, "ids": missing},
        ).fetchall()
        if not rows:
            continue
        term_watches: list[int] = []
        term_lexemes: list[str] = []
        broad: list[int] = []
        trees = {row["watch_id"]: parse_tsquery(row["query_text"]) for row in rows}
        frequency = _frequencies(
            connection,
            ts_config,
            {lexeme for tree in trees.values() if tree is not None for lexeme in _lexemes(tree)},
        )
        for watch_id, tree in trees.items():
            cover = frozenset() if tree is None else _cover(tree, frequency)
            if cover is None:
                broad.append(watch_id)
                continue
            for lexeme in sorted(cover):
                term_watches.append(watch_id)
                term_lexemes.append(lexeme)
        connection.execute(
            """INSERT INTO watch_terms (ts_config, lexeme, watch_id)
               SELECT %s::regconfig, unnest(%s::text[]), unnest(%s::bigint[])
               ON CONFLICT DO NOTHING""",
            (ts_config, term_lexemes, term_watches),
        )
        if broad:
            connection.execute(
                "UPDATE watch_queries SET broad = true WHERE ts_config = %s::regconfig"
                " AND watch_id = ANY(%s)",
                (ts_config, broad),
            )
        indexed += len(rows)
    return indexed


def forget_watch(connection: Connection, watch_id: int) -> None:
    """Drop a watch's index entries (after its query or language changed); rebuilt on next match."""
    connection.execute("DELETE FROM watch_terms WHERE watch_id = %s", (watch_id,))
    connection.execute("DELETE FROM watch_queries WHERE watch_id = %s", (watch_id,))


# Candidate (article, watch) pairs through the lexeme index, then the exact check. Run inside
# `hash_joins`: the planner cannot estimate the batch's lexemes and picks index probes where
# one hash join over the (small) watch_terms table is several times faster.
MATCH_PAIRS_SQL = """
WITH batch AS MATERIALIZED (
    -- `|| ''` detoasts each tsvector once, not once per candidate pair it is checked against
    SELECT id, story_id, ts_config, tsv || ''::tsvector AS tsv
    FROM articles WHERE id = ANY(%(ids)s)
), candidates AS (
    SELECT b.id AS article_id, t.watch_id
    FROM batch b
    CROSS JOIN LATERAL unnest(tsvector_to_array(b.tsv)) AS word(lexeme)
    JOIN watch_terms t ON t.ts_config = b.ts_config AND t.lexeme = word.lexeme
    UNION ALL
    SELECT b.id, q.watch_id
    FROM batch b JOIN watch_queries q ON q.ts_config = b.ts_config AND q.broad
)
SELECT c.watch_id, c.article_id, b.story_id
FROM (SELECT DISTINCT article_id, watch_id FROM candidates) c
JOIN batch b ON b.id = c.article_id
JOIN watch_queries q ON q.watch_id = c.watch_id AND q.ts_config = b.ts_config
JOIN watches w ON w.id = c.watch_id AND NOT w.muted
WHERE b.tsv @@ q.query
"""
