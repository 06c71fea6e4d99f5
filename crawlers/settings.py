"""Scrapy settings for teaserfeed: polite defaults, archive pipeline, no remote control."""

from __future__ import annotations

BOT_NAME = "teaserfeed"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Identify ourselves; users set TEASERFEED_CONTACT_URL to a page about their crawl.
TEASERFEED_CONTACT_URL = "https://github.com/teaserfeed/teaserfeed"
USER_AGENT = f"teaserfeed/0.1 (+{TEASERFEED_CONTACT_URL})"

ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False

# No telnet console, no remote control: a crawler listening on a port is a liability.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

EXTENSIONS = {"crawlers.progress.Progress": 500}
# A live line on a terminal, a plain line every interval otherwise ("off" to silence).
TEASERFEED_PROGRESS = "auto"
TEASERFEED_PROGRESS_INTERVAL = 30.0

# 404s and other error statuses reach the spider's errback so they are recorded.
HTTPERROR_ALLOW_ALL = False

ITEM_PIPELINES = {
    "crawlers.pipelines.ArchivePipeline": 300,
}

# Where the archive lives; the CLI and `scrapy crawl -s TEASERFEED_ARCHIVE=...` set it.
TEASERFEED_ARCHIVE = "news.db"
# The site configuration file for `-a site=NAME`.
TEASERFEED_SITES = "sites.toml"
# Articles already in the archive are not fetched again (revisits come later).
TEASERFEED_SKIP_KNOWN = True
# Keep each article page's raw HTML (compressed) for re-extraction.
TEASERFEED_STORE_HTML = True
# Items are written in transactions of at most this many items.
TEASERFEED_BATCH_SIZE = 100
# Items waiting for the archive writer; a full queue slows the crawl instead of growing.
TEASERFEED_WRITE_QUEUE = 1000

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
