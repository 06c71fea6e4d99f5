"""Check setting overrides (`-s NAME=VALUE`) before anything is fetched: types and names."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from scrapy.settings import default_settings

from crawlers import settings as teaserfeed_settings
from crawlers.errors import TeaserfeedError
from crawlers.schedule import parse_duration, parse_schedule

__all__ = ["SettingError", "check_setting", "check_settings", "known_settings"]

_PREFIX = "TEASERFEED_"
_BOOL_TEXT = {"0", "1", "true", "false"}


class SettingError(TeaserfeedError):
    """A setting override with an unknown teaserfeed name or a value of the wrong type."""


def _log_level(text: str) -> None:
    if not isinstance(logging.getLevelName(text.upper()), int):
        raise ValueError(f"{text!r} is not a log level; use DEBUG, INFO, WARNING or ERROR")


def _moment(text: str) -> None:
    try:
        if text.strip():
            datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-11-20T08:00:00+00:00"
        ) from None


def _workers(text: str) -> None:
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"{text!r} is not 0 (inline) or a number of worker processes")


def _niceness(text: str) -> None:
    try:
        nice = int(text)
    except ValueError:
        nice = -1
    if not 0 <= nice <= 19:
        raise ValueError(f"{text!r} is not a niceness from 0 to 19 (added to the workers')")


def _seconds(text: str) -> None:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{text!r} is not a number of seconds (0: no bound)")


# teaserfeed's own parsers, for settings whose default is text with a grammar
_PARSERS: dict[str, Callable[[str], object]] = {
    "TEASERFEED_REVISIT": parse_schedule,
    "TEASERFEED_LISTING_BACKOFF": parse_duration,
    "TEASERFEED_LISTING_MAX_INTERVAL": parse_duration,
    "TEASERFEED_RETRY_GONE": parse_duration,
    "TEASERFEED_NOW": _moment,
    "TEASERFEED_WORKERS": _workers,
    "TEASERFEED_WORKER_NICE": _niceness,
    "TEASERFEED_EXTRACT_TIMEOUT": _seconds,
    "TEASERFEED_BATCH_SECONDS": _seconds,
    "TEASERFEED_ARCHIVE_FAILURE_LOG_LEVEL": _log_level,
    "LOG_LEVEL": _log_level,
    "RETRY_GIVE_UP_LOG_LEVEL": _log_level,
}


def known_settings() -> dict[str, Any]:
    """Every setting Scrapy or teaserfeed defines, with its default (teaserfeed's first)."""
    found: dict[str, Any] = {}
    for module in (default_settings, teaserfeed_settings):
        found.update({k: getattr(module, k) for k in dir(module) if k.isupper()})
    return found


def check_setting(name: str, value: str, defaults: Mapping[str, Any] | None = None) -> None:
    """Raise SettingError when `value` does not fit `name` (or `name` is a misspelt one)."""
    known = known_settings() if defaults is None else defaults
    given = f"-s {name}={value}"
    if name not in known:
        if not name.startswith(_PREFIX):
            return  # an add-on's or a middleware's own setting: not ours to judge
        close = difflib.get_close_matches(name, [k for k in known if k.startswith(_PREFIX)], 1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise SettingError(f"{given}: teaserfeed has no setting {name}{hint}")
    default = known[name]
    parser = _PARSERS.get(name)
    try:
        if parser is not None:
            parser(value)
        elif isinstance(default, bool):
            if value.strip().lower() not in _BOOL_TEXT:
                raise ValueError(f"{value!r} is not True/False (or 1/0)")
        elif isinstance(default, int):
            int(value)
        elif isinstance(default, float):
            float(value)
    except ValueError as exc:
        kind = next(
            (t for t, cls in (("True/False", bool), ("an integer", int), ("a number", float))
             if isinstance(default, cls)),
            "",
        )  # fmt: skip
        reason = f"{value!r} is not {kind}" if kind and parser is None else str(exc)
        raise SettingError(f"{given}: {reason} (default: {default!r})") from None


def check_settings(overrides: Mapping[str, Any]) -> None:
    """Check every text override (values already typed, e.g. from the CLI's options, pass)."""
    known = known_settings()
    for name, value in overrides.items():
        if isinstance(value, str):
            check_setting(name, value, known)
