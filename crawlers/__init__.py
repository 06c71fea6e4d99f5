"""teaserfeed's crawler side: the Scrapy project and, in `crawlers.extract`, the engine.

Research code imports the engine from here: `from crawlers import extract_article`.
Layout: `extract/` (HTML in, teasers and articles out), `spiders/`, `middlewares/`,
`items.py`, `pipelines.py` and `settings.py` (the Scrapy project), `cli/` (the
`teaserfeed` command), `distributed/` (the Redis mode) and `demo/` (the bundled site).
"""

from crawlers.extract import (
    EXTRACTOR_VERSION,
    Article,
    ExtractFileError,
    FeedResult,
    Image,
    Suggestion,
    Teaser,
    extract_article,
    extract_file,
    extract_from_tree,
    extract_next_page,
    extract_teasers,
    find_next_page,
    find_teasers,
    html_files,
    parse_feed,
    suggest_selectors,
)

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
