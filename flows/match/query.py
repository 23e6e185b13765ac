"""Watch queries in web-search syntax ("quoted phrase", OR, -exclude), checked before they are saved.

Matching itself is Postgres's websearch_to_tsquery, which never rejects input: it silently drops
what it cannot use (stop words, a dangling `or` in any case). So a query is checked twice: its
syntax here without a database (`validate_query`, cheap enough for a live preview), then against
the tsquery Postgres itself makes of it (`check_with_postgres`), so the user is told what is wrong
instead of matching nothing. Addresses are checked with email-validator (`validate_email`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import email_validator

if TYPE_CHECKING:
    from flows.store.db import Connection

MAX_QUERY_CHARS = 500
_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_WORD = re.compile(r"\w", re.UNICODE)
_LEXEME = re.compile(r"'(?:[^']|'')*'")


class InvalidQuery(ValueError):
    """A watch query that cannot match what its author means."""


class InvalidAddress(ValueError):
    """An e-mail address we could not deliver to."""


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool
    negated: bool


def parse_query(query: str) -> list[Term | str]:
    """Tokens of a query: Terms and the operator "OR". Raises InvalidQuery with the reason."""
    text = query.strip()
    if not text:
        raise InvalidQuery("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the query is longer than {MAX_QUERY_CHARS} characters")
    if text.count('"') % 2:
        raise InvalidQuery('unbalanced quote: a phrase opened with " is never closed')
    tokens: list[Term | str] = []
    for raw in _TOKEN.findall(text):
        if raw.upper() == "OR":  # websearch_to_tsquery reads "or" in any case as the operator
            if not tokens or tokens[-1] == "OR":
                raise InvalidQuery("OR needs a term on each side")
            tokens.append("OR")
            continue
        negated = raw.startswith("-")
        body = raw[1:] if negated else raw
        phrase = body.startswith('"')
        body = body.strip('"').strip()
        if not body:
            what = "'-'" if negated and not phrase else "an empty phrase"
            raise InvalidQuery(f"{what} must be followed by a word or phrase")
        if not _WORD.search(body):
            raise InvalidQuery(f"{raw!r} has no letters or digits to search for")
        tokens.append(Term(body, phrase, negated))
    if tokens and tokens[-1] == "OR":
        raise InvalidQuery("OR needs a term on each side")
    if not any(isinstance(token, Term) and not token.negated for token in tokens):
        raise InvalidQuery("the query only excludes words (-word): add a word to look for")
    return tokens


def validate_query(query: str) -> str:
    """The query, NFC-normalized (as stored bodies are) and normalized in spacing, or InvalidQuery
    with a message fit to show the user."""
    text = unicodedata.normalize("NFC", " ".join(query.split()))
    parse_query(text)
    return text


def _tsquery(connection: Connection, config: str | None, text: str) -> str:
    row = connection.execute(
        "SELECT websearch_to_tsquery(coalesce(%s::regconfig,"
        " current_setting('default_text_search_config')::regconfig), %s)::text AS tsquery",
        (config, text),
    ).fetchone()
    return str(row["tsquery"]) if row is not None else ""


def check_with_postgres(connection: Connection, query: str, ts_config: str | None) -> None:
    """Refuse a query that Postgres reads otherwise than its author: one it keeps nothing of,
    or whose words it does not all keep as terms (`ts_config` None: the server's default
    configuration, as for a watch matched in each article's own language)."""
    terms = [token for token in parse_query(query) if isinstance(token, Term)]
    tsquery = _tsquery(connection, ts_config, query)
    where = f"in the {ts_config!r} configuration" if ts_config else "in the default language"
    # Each term alone, as a phrase: how many lexemes Postgres makes of it (0: a stop word).
    per_term = [
        len(
            _LEXEME.findall(
                _tsquery(connection, ts_config, '"' + term.text.replace('"', " ") + '"')
            )
        )
        for term in terms
    ]
    if not any(count for term, count in zip(terms, per_term, strict=True) if not term.negated):
        raise InvalidQuery(f"the query has no searchable words {where}: only stop words")
    if len(_LEXEME.findall(tsquery)) != sum(per_term):
        raise InvalidQuery(f"Postgres reads this query as {tsquery}: rephrase it")


def validate_email(address: str) -> str:
    """The address as email-validator normalizes it (domain lower-cased), or InvalidAddress.

    Syntax only: no DNS look-up (a watch may be added offline); a domain must have a dot and
    must not be a special-use name (`.local`, `localhost`), since mail could not reach it.
    """
    try:
        checked = email_validator.validate_email(address.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(f"{address.strip()!r} is not an e-mail address: {exc}") from exc
    return str(checked.normalized)
