"""Stable seeds: the emulator derives every asset from the request that asked for it."""

from __future__ import annotations

import hashlib
import json
import operator

import numpy as np

__all__ = ["rng", "seed_from"]


def seed_from(*parts: object) -> int:
    """Derive a stable 64-bit seed from JSON-able parts.

    The parts are serialised as canonical JSON (sorted keys, no whitespace, no NaN) and hashed
    with SHA-256, so the same request body gives the same seed in every process and on every
    machine, unlike ``hash()``, which is salted per process.

    Args:
        *parts: Values ``json.dumps`` accepts (dicts, lists, strings, numbers, booleans, None).
            Note that ``1``, ``1.0`` and ``True`` are different JSON and give different seeds.

    Returns:
        An integer in ``[0, 2**64)``.

    Raises:
        TypeError: A part is not JSON-serialisable.
        ValueError: A part holds NaN or infinity (not canonical JSON).
    """
    text = json.dumps(
        list(parts), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def rng(seed: int, purpose: str) -> np.random.Generator:
    """A NumPy generator for one purpose of one seed.

    The purpose is hashed in so that, say, the image and the song of the same seed do not share a
    random stream, and any Python int (negative or wider than 64 bits) is a valid seed.
    """
    return np.random.default_rng(seed_from("anyint-emulator-media", purpose, operator.index(seed)))
