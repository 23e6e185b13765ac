"""Formerly: recompute every article's story band keys with the CRC-32 MinHash.

Band keys were computed with datasketch's SHA-1 MinHash before. Migration 0006 changed the hash
again and recomputes every key with the current one, so this step does nothing now: a database
this old would otherwise have its keys recomputed twice in one upgrade. Databases that applied
it already keep it as applied.
"""

from yoyo import step

__depends__ = {"0004_source_runs_and_notices"}


def recompute_keys(connection):  # type: ignore[no-untyped-def]
    """Left to 0006 (see the module docstring)."""


steps = [step(recompute_keys)]
