"""When to poll a listing again and when to revisit an article: durations and intervals."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

__all__ = ["due_at", "listing_interval", "parse_duration", "parse_schedule"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str | float) -> float:
    """Seconds in "90s", "15m", "6h", "3d", "1w" or a plain number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text!r} is negative; durations are 0 or more")
        return float(text)
    match = _DURATION_RE.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 15m, 6h, 3d or 1w")
    number, unit = match.groups()
    return float(number) * _UNITS[unit or "s"]


def parse_schedule(items: str | Iterable[str | float]) -> tuple[float, ...]:
    """Sorted seconds from "1h,6h,24h" or a list of durations; "" or "never" means none."""
    if isinstance(items, str):
        if items.strip().lower() in ("", "never", "off", "none"):
            return ()
        items = [part for part in items.split(",") if part.strip()]
    return tuple(sorted(parse_duration(item) for item in items))


def listing_interval(unchanged: int, failures: int, base: float, maximum: float) -> float:
    """Seconds to wait before polling a listing again: 0 while it changes, then doubling.

    A listing found unchanged n times in a row (or failing n times) waits base·2^(n-1),
    capped at `maximum`, so quiet or broken listings are polled less and less often.
    """
    streak = max(unchanged, failures)
    if streak <= 0 or base <= 0:
        return 0.0
    return float(min(maximum, base * 2 ** min(streak - 1, 30)))


def due_at(last: datetime, seconds: float) -> str:
    """ISO 8601 time `seconds` after `last`."""
    return (last + timedelta(seconds=seconds)).isoformat(timespec="seconds")
