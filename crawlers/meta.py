"""The request meta keys teaserfeed's spider and middlewares pass each other (`tf_*`)."""

from __future__ import annotations

__all__ = [
    "META_ERROR",
    "META_ERROR_KIND",
    "META_KIND",
    "META_LINK",
    "META_PAGE",
    "META_RETRY_AT",
    "META_RETRY_NOTE",
    "META_REVISIT",
    "META_SITE",
]

# the site (its name in sites.toml) a request belongs to
META_SITE = "tf_site"
# what is fetched: listing, feed, sitemap or article (the fetch row's kind)
META_KIND = "tf_kind"
# a listing's page number (a sitemap's nesting depth)
META_PAGE = "tf_page"
# the teaser's link an article request follows (before URL cleaning)
META_LINK = "tf_link"
# True on a revisit of an archived article
META_REVISIT = "tf_revisit"
# an error kind (and its message) a downloader middleware gives a page it lets through
META_ERROR_KIND = "tf_error_kind"
META_ERROR = "tf_error"
# when a retry is due (monotonic seconds), and why a retry was not made
META_RETRY_AT = "tf_retry_at"
META_RETRY_NOTE = "tf_retry_note"
