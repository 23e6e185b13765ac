"""Recompute every article's story band keys with the CRC-32 MinHash of flows.stories.

Band keys were computed with datasketch's SHA-1 MinHash before; keys of both kinds never match,
so old articles would no longer be found by their copies. Migration 0006 changed the hash again;
both run the current one, so a database this old is recomputed twice, which is harmless.
"""

from yoyo import step

__depends__ = {"0004_source_runs_and_notices"}


def recompute_keys(connection):  # type: ignore[no-untyped-def]
    from flows.stories import recompute_story_bands

    recompute_story_bands(connection.cursor())


steps = [step(recompute_keys)]
