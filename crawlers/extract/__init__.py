"""The extraction engine: HTML in, teasers and articles out; it imports neither Scrapy nor
the archive, so research code can use it on saved pages.

Modules: `listing` (teasers and next page), `autodetect` (teaser detection without
selectors), `article` (body and metadata), `cleanup` (+ `rules.toml`), `feeds` (RSS, Atom,
sitemaps), `suggest` (site configuration from a sample page), `files` (saved pages on
disk), `page` (the one parse of a page: decode, bounds, scrub) and `text` (page bounds and
text helpers shared by all of them).
"""

from crawlers.extract.article import (
    EXTRACTOR_VERSION,
    Article,
    Image,
    extract_article,
    extract_from_tree,
)
from crawlers.extract.feeds import FeedResult, parse_feed
from crawlers.extract.files import ExtractFileError, extract_file, html_files
from crawlers.extract.listing import (
    Teaser,
    extract_next_page,
    extract_teasers,
    find_next_page,
    find_teasers,
)
from crawlers.extract.suggest import Suggestion, suggest_selectors

__all__ = [
    "EXTRACTOR_VERSION",
    "Article",
    "ExtractFileError",
    "FeedResult",
    "Image",
    "Suggestion",
    "Teaser",
    "extract_article",
    "extract_file",
    "extract_from_tree",
    "extract_next_page",
    "extract_teasers",
    "find_next_page",
    "find_teasers",
    "html_files",
    "parse_feed",
    "suggest_selectors",
]
