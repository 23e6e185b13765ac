"""Upgrades of a database that already holds articles (migrations run on every flow start)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType

import psycopg
import pytest
from psycopg.rows import dict_row
from yoyo import get_backend, read_migrations

from flows.bench.support import scratch_database
from flows.store import db
from flows.store.stories import story_keys
from flows.testsite.stories import load_stories


def _migration(migration_id: str) -> ModuleType:
    """A Python migration's module, loaded by yoyo as it loads it for an upgrade."""
    (migration,) = read_migrations(str(db.migrations_dir())).filter(lambda m: m.id == migration_id)
    migration.load()
    assert migration.module is not None
    return migration.module


def test_migrations_import_no_project_code() -> None:
    """A migration keeps working when the code changes only if it imports none of it."""
    for path in sorted(db.migrations_dir().glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (flows|spiders)\b", text, re.M), path.name


@pytest.mark.unit  # no database: the frozen hash against the live one
def test_frozen_band_keys_of_0006_equal_the_live_ones() -> None:
    """0006's frozen copy of the hash gives today's keys on every kind of text: short texts
    (one padded shingle), empty ones, compatibility characters, Arabic, the test site's stories.
    When the live hash changes on purpose this fails: the change needs a migration of its own."""
    frozen = _migration("0006_story_keys_multiply_shift")
    hashing = frozen.permutations()
    texts = [("", ""), ("One", ""), ("Two words", "and"), ("Ｆｕｌｌ ﬁ width", "Ǆ Straße")]
    texts += [("سقوط أمطار غزيرة", "أعلنت السلطات إغلاق الطريق بعد سقوط أمطار غزيرة " * 5)]
    texts += [(story.title, "\n\n".join(story.paragraphs)) for story in load_stories()]
    assert len(texts) > 10
    for title, body in texts:
        assert tuple(frozen.band_keys(title, body, hashing)) == story_keys(title, body), title


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    """An empty database beside the session's, on the same server."""
    with scratch_database(database_url) as url:
        yield url


@pytest.mark.parametrize("first_new", ["0005", "0006"])
def test_story_keys_are_recomputed_for_articles_stored_before(
    first_new: str, scratch_url: str
) -> None:
    """A database from before either change of the band hash ends with current keys only."""
    backend = get_backend(db._yoyo_url(scratch_url))
    migrations = read_migrations(str(db.migrations_dir()))
    before = migrations.filter(lambda m: m.id < first_new)
    with backend.lock():
        backend.apply_migrations(backend.to_apply(before))
    title, body = "Floods close the river road", "Water rose over the old river road at dawn. " * 20
    with psycopg.connect(scratch_url, row_factory=dict_row) as connection:
        article_id = connection.execute(
            "INSERT INTO articles (source, url, canonical_url, content_hash, title, body, language,"
            " fetched_at, ts_config) VALUES ('s', 'u', 'u', 'h', %s, %s, 'en', now(), 'english')"
            " RETURNING id",
            (title, body),
        ).fetchone()["id"]  # type: ignore[index]
        # A key of the old hash, which no new copy could ever share.
        connection.execute(
            "INSERT INTO story_bands (band_key, article_id) VALUES (12345, %s)", (article_id,)
        )

    assert db.migrate(scratch_url) >= 1

    with psycopg.connect(scratch_url, row_factory=dict_row) as connection:
        rows = connection.execute(
            "SELECT band_key FROM story_bands WHERE article_id = %s ORDER BY band_key",
            (article_id,),
        ).fetchall()
    assert tuple(row["band_key"] for row in rows) == story_keys(title, body)
