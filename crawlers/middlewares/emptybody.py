"""EmptyBodyMiddleware: a 200 response with no body is recorded as `not_html`, not parsed."""

from __future__ import annotations

from scrapy.http import Request, Response

from crawlers.failures import NotAPage
from crawlers.meta import META_KIND

__all__ = ["EmptyBodyMiddleware"]


class EmptyBodyMiddleware:
    """Raise NotAPage for a 200 response whose body is empty (or only whitespace)."""

    def process_response(self, request: Request, response: Response) -> Response:
        """Let every response with something in it through."""
        # only the spider's pages: an empty robots.txt is fine (it allows everything)
        if response.status != 200 or request.method == "HEAD" or META_KIND not in request.meta:
            return response
        body = response.body
        if body and (len(body) > 64 or body.strip()):
            return response
        raise NotAPage("empty response body (HTTP 200)", status=200)
