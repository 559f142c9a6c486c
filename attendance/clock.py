"""Times as people type them (local wall-clock) and as we store them (aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from attendance.errors import BadInput


def parse_time(text: str, timezone: str) -> datetime:
    """'2026-11-25 08:00' in `timezone`, or ISO 8601 with an offset; returned in UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"time {text!r}: expected YYYY-MM-DD HH:MM (local time) or ISO 8601 with an offset"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def local(value: datetime, timezone: str) -> str:
    """For display: the site's wall-clock time with its offset."""
    return value.astimezone(ZoneInfo(timezone)).isoformat(sep=" ", timespec="minutes")
