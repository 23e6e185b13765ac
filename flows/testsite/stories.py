"""The stories the test site serves, loaded from a JSON file and checked up front.

Validation is strict and names the file and the story index, because a typo in a hand-edited
stories file would otherwise surface much later as a confusing test or benchmark failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STORIES_PATH = Path(__file__).parent / "stories.json"

LANGUAGES = ("en", "ar")
_ARTICLE_PATH_PREFIX = {"en": "/en/article/", "ar": "/article/"}
_HEX_ID = re.compile(r"[0-9a-f]{32}")

_REQUIRED_TEXT_FIELDS = ("title", "publisher", "published", "category")
# Fields a story may leave out; everything else must be present.
_OPTIONAL_FIELDS: dict[str, Any] = {"hashtags": [], "junk": [], "aliases": [], "edited_from": None}
_KNOWN_FIELDS = frozenset(("id", "lang", "paragraphs", *_REQUIRED_TEXT_FIELDS, *_OPTIONAL_FIELDS))


@dataclass(frozen=True)
class Story:
    """One story as Daily8 would republish it, with the ids it is reachable under."""

    id: str
    lang: str
    title: str
    publisher: str
    published: str
    category: str
    hashtags: tuple[str, ...]
    paragraphs: tuple[str, ...]
    junk: tuple[str, ...]
    aliases: tuple[str, ...]
    edited_from: str | None

    @property
    def url_path(self) -> str:
        """The primary article path: Daily8 puts English under /en, Arabic at the root."""
        return article_path(self.lang, self.id)

    @property
    def alias_paths(self) -> tuple[str, ...]:
        """Other paths serving this story verbatim (the same story under another id)."""
        return tuple(article_path(self.lang, alias) for alias in self.aliases)


def article_path(lang: str, story_id: str) -> str:
    """The path of an article page for a language and a 32-hex id."""
    return _ARTICLE_PATH_PREFIX[lang] + story_id


def load_stories(path: Path | str | None = None) -> list[Story]:
    """Read and validate a stories file ({"stories": [...]}); default: the packaged one.

    Raises ValueError naming the file and the story index for any malformed entry, duplicate id
    or dangling edited_from reference.
    """
    stories_path = Path(path) if path is not None else DEFAULT_STORIES_PATH
    try:
        document = json.loads(stories_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{stories_path}: not valid JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("stories"), list):
        raise ValueError(f'{stories_path}: expected an object {{"stories": [...]}}')

    stories: list[Story] = []
    for index, entry in enumerate(document["stories"]):
        try:
            stories.append(_parse_story(entry))
        except ValueError as error:
            raise ValueError(f"{stories_path}: stories[{index}]: {error}") from None
    _check_ids(stories, stories_path)
    return stories


def _parse_story(entry: object) -> Story:
    if not isinstance(entry, dict):
        raise ValueError(f"expected an object, got {type(entry).__name__}")
    missing = [
        name for name in ("id", "lang", "paragraphs", *_REQUIRED_TEXT_FIELDS) if name not in entry
    ]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    unknown = sorted(set(entry) - _KNOWN_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    fields = {**_OPTIONAL_FIELDS, **entry}

    story_id = _hex_id(fields["id"], "id")
    lang = fields["lang"]
    if lang not in LANGUAGES:
        raise ValueError(f"id {story_id}: lang must be one of {LANGUAGES}, got {lang!r}")
    texts = {name: _text(fields[name], name) for name in _REQUIRED_TEXT_FIELDS}
    paragraphs = _text_list(fields["paragraphs"], "paragraphs")
    if not paragraphs:
        raise ValueError(f"id {story_id}: paragraphs must not be empty")
    hashtags = _text_list(fields["hashtags"], "hashtags")
    for tag in hashtags:
        if any(char in tag for char in "#/?") or tag != tag.strip():
            raise ValueError(
                f"id {story_id}: hashtag {tag!r} must not contain '#', '/', '?' "
                "or surrounding spaces"
            )
    aliases = tuple(_hex_id(alias, "aliases") for alias in _list(fields["aliases"], "aliases"))
    edited_from = fields["edited_from"]
    if edited_from is not None:
        edited_from = _hex_id(edited_from, "edited_from")
    return Story(
        id=story_id,
        lang=lang,
        hashtags=hashtags,
        paragraphs=paragraphs,
        junk=_text_list(fields["junk"], "junk"),
        aliases=aliases,
        edited_from=edited_from,
        **texts,
    )


def _check_ids(stories: list[Story], stories_path: Path) -> None:
    """Every id and alias names exactly one story; edited_from names a primary id."""
    owner_index: dict[str, int] = {}
    for index, story in enumerate(stories):
        for story_id in (story.id, *story.aliases):
            if story_id in owner_index:
                raise ValueError(
                    f"{stories_path}: stories[{index}]: id {story_id} is already "
                    f"used by stories[{owner_index[story_id]}]"
                )
            owner_index[story_id] = index
    primary_ids = {story.id for story in stories}
    for index, story in enumerate(stories):
        if story.edited_from is not None and (
            story.edited_from not in primary_ids or story.edited_from == story.id
        ):
            raise ValueError(
                f"{stories_path}: stories[{index}]: edited_from {story.edited_from} "
                "is not the primary id of another story"
            )


def _hex_id(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise ValueError(f"{field_name} must be 32 lowercase hex digits, got {value!r}")
    return value


def _text(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field_name} must be a non-empty string, got {value!r}")
    return value


def _list(value: object, field_name: str) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"{field_name} must be a list, got {type(value).__name__}")
    return value


def _text_list(value: object, field_name: str) -> tuple[str, ...]:
    return tuple(_text(item, field_name) for item in _list(value, field_name))
