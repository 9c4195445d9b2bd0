"""Stable seeds: the same parts give the same seed on every machine and Python run.

Python's ``hash`` is salted per process, so it must never be used for reproducible noise.
"""
from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the SHA-256 of the parts' text forms (floats via ``repr``)."""
    text = "\x1f".join(repr(p) if isinstance(p, float) else str(p) for p in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") >> 1
