"""PaywallMiddleware: article pages behind a paywall are stored but flagged `paywall`."""

from __future__ import annotations

import re

from scrapy.http import Request, Response

from crawlers.meta import META_ERROR, META_ERROR_KIND, META_KIND

__all__ = ["PaywallMiddleware", "paywall_reason"]

# schema.org's paywall markup, in JSON-LD or microdata
_ACCESS = re.compile(
    rb"""isAccessibleForFree["']?\s*(?::|content\s*=)\s*["']?\s*false""", re.IGNORECASE
)
# class or id names of the containers paywall vendors and CMSs wrap locked content in
_CONTAINER = re.compile(
    rb"""(?:class|id)\s*=\s*["'][^"'>]*paywall""",
    re.IGNORECASE,
)
# at most this many occurrences of a word are looked at, each in a small window; two
# bytes.find over the body are the whole cost on a page without paywall markup
_MAX_HITS = 5
_WINDOW = 200


def paywall_reason(body: bytes) -> str | None:
    """Why a page looks paywalled (JSON-LD isAccessibleForFree, a paywall container), or None."""
    start = body.find(b"isAccessibleForFree")
    hits = 0
    while start != -1 and hits < _MAX_HITS:
        if _ACCESS.match(body, start, start + _WINDOW):
            return "isAccessibleForFree is false"
        start = body.find(b"isAccessibleForFree", start + 1)
        hits += 1
    start, hits = body.find(b"paywall"), 0
    while start != -1 and hits < _MAX_HITS:
        match = _CONTAINER.search(body, max(0, start - _WINDOW), start + len(b"paywall"))
        if match is not None:
            return f"paywall container ({match[0].decode('latin-1')[-60:]})"
        start = body.find(b"paywall", start + 1)
        hits += 1
    return None


class PaywallMiddleware:
    """Flag a 200 article page as paywalled (`tf_error_kind`), letting it through."""

    def process_response(self, request: Request, response: Response) -> Response:
        """Flag a paywalled 200 article page: response.meta[META_ERROR_KIND] = "paywall"."""
        if response.status != 200 or request.meta.get(META_KIND) != "article":
            return response
        reason = paywall_reason(response.body)
        if reason is not None and META_ERROR_KIND not in request.meta:
            request.meta[META_ERROR_KIND] = "paywall"
            request.meta[META_ERROR] = f"paywall: {reason}; stored what is visible"
        return response
