"""Times as people type them (local wall-clock) and as we store them (aware UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from attendance.errors import BadInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, timezone: str, now: datetime | None = None) -> datetime:
    """'2026-11-25 08:00' in `timezone`, ISO 8601 with an offset, 'now' or '+90m' / '+3h'
    from now; returned in UTC."""
    now = now or datetime.now(UTC)
    relative = re.fullmatch(r"now|\+(\d+)([smhd])", text.strip())
    if relative:
        amount, unit = relative.groups()
        return now + timedelta(seconds=int(amount or 0) * UNITS.get(unit, 0))
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"time {text!r}: expected YYYY-MM-DD HH:MM (local time), ISO 8601 with an offset, "
            "now, or +N followed by s, m, h or d"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def local(value: datetime, timezone: str) -> str:
    """For display: the site's wall-clock time with its offset."""
    return value.astimezone(ZoneInfo(timezone)).isoformat(sep=" ", timespec="minutes")
