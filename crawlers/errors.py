"""Exceptions of the crawling side; each message names the input and what to do."""

from __future__ import annotations

__all__ = ["SiteConfigError", "TeaserfeedError", "UnknownSiteError"]


class TeaserfeedError(Exception):
    """Base class of teaserfeed's crawler-side errors."""


class SiteConfigError(TeaserfeedError):
    """A sites.toml file (or one site in it) is invalid."""


class UnknownSiteError(TeaserfeedError):
    """A site name was asked for that the configuration does not define."""
