"""What a user would write instead: a plain Scrapy spider calling trafilatura on every article."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
import trafilatura
from scrapy.http import Response


class PlainSpider(scrapy.Spider):
    """Follow listing pagination and teaser links; extract each article with trafilatura."""

    name = "plain"

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """A listing page: every teaser's article, then the next page."""
        for href in response.css("main article.teaser h2 a::attr(href)").getall():
            yield response.follow(href, callback=self.parse_article)
        nxt = response.css("a[rel=next]::attr(href)").get()
        if nxt:
            yield response.follow(nxt, callback=self.parse)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """An article page, extracted."""
        text = trafilatura.extract(response.text, url=response.url, include_comments=False)
        yield {"url": response.url, "length": len(text or "")}
