"""Cadence slots: which slot a moment belongs to, for each site.

Slots are aligned to the epoch plus a fixed per-site phase spread by the site code, so every
worker and every restart agrees on them — (site, slot start) is the sample's unique key — and
a thousand sites do not all fire in the same second.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def phase(code: str, cadence: float) -> float:
    """A stable offset in [0, cadence) from the site code (the same on every machine)."""
    digest = hashlib.sha256(code.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * cadence


def slot_start(at: float, cadence: float, offset: float = 0.0) -> float:
    """The start (epoch seconds) of the slot holding `at`, for slots shifted by `offset`."""
    return at - ((at - offset) % cadence)


def as_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
