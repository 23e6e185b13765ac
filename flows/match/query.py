"""Watch queries in web-search syntax ("quoted phrase", OR, -exclude), checked before they are saved.

Matching itself is Postgres's websearch_to_tsquery, which never rejects input: it silently drops
what it cannot use. So we check here, and tell the user what is wrong instead of matching nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_QUERY_CHARS = 500
_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_WORD = re.compile(r"\w", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


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
        if raw == "OR":
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
    """The query, normalized in spacing, or InvalidQuery."""
    parse_query(query)
    return " ".join(query.split())


def validate_email(address: str) -> str:
    address = address.strip()
    if not _EMAIL.match(address) or len(address) > 254:
        raise InvalidAddress(f"{address!r} is not an e-mail address (expected name@domain)")
    return address
