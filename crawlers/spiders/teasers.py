"""TeaserSpider: listing pages → teasers → article pages, for configured sites or one URL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from archive import Archive, ArchiveError, clean_url, open_archive
from crawlers.article import extract_from_tree
from crawlers.errors import TeaserfeedError
from crawlers.failures import classify_failure
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.listing import extract_next_page, extract_teasers
from crawlers.sites import SiteConfig, load_sites, select_sites

__all__ = ["TeaserSpider"]

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ms(response: Response) -> int | None:
    latency = response.meta.get("download_latency")
    return round(latency * 1000) if isinstance(latency, (int, float)) else None


class TeaserSpider(Spider):
    """Crawl listing pages of configured sites (`-a site=NAME`) or one page (`-a url=URL`)."""

    name = "teasers"

    def __init__(
        self,
        site: str | None = None,
        url: str | None = None,
        sites_file: str | None = None,
        configs: Iterable[SiteConfig] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._site_arg = site
        self._url_arg = url
        self._sites_file = sites_file
        self.site_configs: list[SiteConfig] = list(configs or [])
        self.seen_store: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> TeaserSpider:
        spider: TeaserSpider = super().from_crawler(crawler, *args, **kwargs)
        spider._resolve_configs()
        return spider

    def _resolve_configs(self) -> None:
        if self.site_configs:
            return
        if self._url_arg:
            try:
                self.site_configs = [SiteConfig.for_url(self._url_arg)]
            except TeaserfeedError as exc:
                raise CloseSpider(str(exc)) from None
            return
        path = self._sites_file or self.settings.get("TEASERFEED_SITES")
        names = [n.strip() for n in (self._site_arg or "").split(",") if n.strip()]
        try:
            self.site_configs = select_sites(load_sites(path), names)
        except TeaserfeedError as exc:
            raise CloseSpider(str(exc)) from None

    def _open_seen_store(self) -> None:
        if not self.settings.getbool("TEASERFEED_SKIP_KNOWN"):
            return
        path = self.settings.get("TEASERFEED_ARCHIVE")
        if not path or not Path(path).exists():
            return
        try:
            self.seen_store = open_archive(path, readonly=True)
        except ArchiveError as exc:
            logger.warning("cannot read the archive for seen-state, fetching all: %s", exc)

    def closed(self, reason: str) -> None:
        """Release the read connection to the archive."""
        if self.seen_store is not None:
            self.seen_store.close()
            self.seen_store = None

    async def start(self) -> AsyncIterator[Request]:
        """One request per start URL of every configured site."""
        self._open_seen_store()
        for config in self.site_configs:
            for url in config.start_urls:
                yield self._listing_request(url, config, 1)

    def _listing_request(self, url: str, config: SiteConfig, page: int) -> Request:
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.on_error,
            meta={"tf_site": config.name, "tf_kind": "listing", "tf_page": page},
        )

    def _config(self, response_or_meta: dict[str, Any]) -> SiteConfig:
        name = response_or_meta["tf_site"]
        return next(c for c in self.site_configs if c.name == name)

    def _fetch(self, response: Response, kind: str, **extra: Any) -> FetchItem:
        # a downloader middleware may flag a page it let through (e.g. a paywall)
        flagged = response.meta.get("tf_error_kind")
        if flagged and "error_kind" not in extra:
            extra["error_kind"] = flagged
            extra["error"] = response.meta.get("tf_error") or flagged
        return FetchItem(
            url=response.request.url if response.request else response.url,
            kind=kind,
            source=response.meta.get("tf_site"),
            status=response.status,
            final_url=response.url,
            bytes=len(response.body),
            ms=_ms(response),
            fetched_at=_now(),
            **extra,
        )

    def _not_html(self, response: Response) -> bool:
        ctype = response.headers.get(b"Content-Type") or b""
        return not isinstance(response, TextResponse) or (
            bool(ctype) and not any(t in ctype.lower() for t in _HTML_TYPES)
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Default callback: treat the page as a listing."""
        yield from self.parse_listing(response)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Yield a fetch record, every teaser, article requests and the next listing page."""
        config = self._config(response.meta)
        if self._not_html(response):
            yield self._fetch(response, "listing", error_kind="not_html", error="not an HTML page")
            return
        assert isinstance(response, TextResponse)
        selector = response.selector
        teasers = extract_teasers(selector, response.url, config)
        next_url = None
        page = int(response.meta.get("tf_page", 1))
        if page < config.max_pages:
            next_url = extract_next_page(selector, response.url, config)
        yield self._fetch(response, "listing", teasers=len(teasers))
        self.crawler.stats.inc_value("teaserfeed/listing_pages")
        self.crawler.stats.inc_value("teaserfeed/teasers_found", len(teasers))
        seen_at = _now()
        for teaser in teasers:
            yield TeaserItem.from_teaser(
                teaser, source=config.name, listing_url=response.url, seen_at=seen_at
            )
            if teaser.region != "main":
                continue
            fetch_url = clean_url(teaser.url)
            if self.seen_store is not None and self.seen_store.knows_url(fetch_url):
                self.crawler.stats.inc_value("teaserfeed/articles_known")
                continue
            yield Request(
                fetch_url,
                callback=self.parse_article,
                errback=self.on_error,
                meta={"tf_site": config.name, "tf_kind": "article", "tf_link": teaser.url},
            )
        if next_url:
            yield self._listing_request(next_url, config, page + 1)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """Yield a fetch record and the extracted article."""
        config = self._config(response.meta)
        if self._not_html(response):
            yield self._fetch(response, "article", error_kind="not_html", error="not an HTML page")
            return
        assert isinstance(response, TextResponse)
        article = extract_from_tree(response.selector.root, response.url, config)
        self.crawler.stats.inc_value("teaserfeed/articles_extracted")
        yield self._fetch(response, "article")
        store_html = self.settings.getbool("TEASERFEED_STORE_HTML")
        request_url = response.request.url if response.request else response.url
        yield ArticleItem.from_article(
            article,
            source=config.name,
            url=request_url,
            final_url=response.url,
            fetched_at=_now(),
            status=response.status,
            html=response.body if store_html else None,
            encoding=response.encoding if store_html else None,
        )

    def on_error(self, failure: Failure) -> Iterator[FetchItem]:
        """Record a failed request as a fetch with its error kind."""
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        kind, status, message = classify_failure(failure)
        self.crawler.stats.inc_value(f"teaserfeed/errors/{kind}")
        logger.info(
            "%s %s: %s", meta.get("tf_kind", "request"), getattr(request, "url", "?"), message
        )
        yield FetchItem(
            url=request.url if request is not None else "",
            kind=str(meta.get("tf_kind", "other")),
            source=meta.get("tf_site"),
            status=status,
            error_kind=kind,
            error=message,
            fetched_at=_now(),
        )
