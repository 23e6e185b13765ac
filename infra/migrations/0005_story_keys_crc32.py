"""Recompute every article's story band keys with the CRC-32 MinHash of flows.stories.

Band keys were computed with datasketch's SHA-1 MinHash before; keys of both kinds never match,
so old articles would no longer be found by their copies. Recomputed in batches of 1,000.
"""

from yoyo import step

__depends__ = {"0004_source_runs_and_notices"}

_BATCH = 1000


def recompute_keys(connection):  # type: ignore[no-untyped-def]
    from flows.stories import story_keys

    cursor = connection.cursor()
    cursor.execute("DELETE FROM story_bands")
    last_id = 0
    while True:
        cursor.execute(
            "SELECT id, title, body FROM articles WHERE id > %s ORDER BY id LIMIT %s",
            (last_id, _BATCH),
        )
        rows = cursor.fetchall()
        if not rows:
            return
        pairs = [(key, row[0]) for row in rows for key in story_keys(row[1], row[2])]
        cursor.executemany(
            "INSERT INTO story_bands (band_key, article_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            pairs,
        )
        last_id = rows[-1][0]


steps = [step(recompute_keys)]
