"""Recompute every article's story band keys: the MinHash now uses multiply-shift hashing
(no modulo a prime; 0.5 ms less per article in the extraction workers)."""

from yoyo import step

__depends__ = {"0005_story_keys_crc32"}


def recompute_keys(connection):  # type: ignore[no-untyped-def]
    from flows.stories import recompute_story_bands

    recompute_story_bands(connection.cursor())


steps = [step(recompute_keys)]
