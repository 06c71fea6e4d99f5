"""RedirectGuardMiddleware: redirect loops and redirects to non-web URLs are recorded."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy.http import Request, Response
from w3lib.url import safe_url_string

from crawlers.failures import BadRedirect

__all__ = ["RedirectGuardMiddleware"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class RedirectGuardMiddleware:
    """Raise BadRedirect for a redirect back into its own chain or to a non-http(s) URL.

    Scrapy's RedirectMiddleware ignores other schemes (the 3xx then ends as an error) and
    its dupefilter silently drops a looping redirect, so neither would leave a record.
    Runs just before RedirectMiddleware.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        """Let the response through unless it is a looping or non-web redirect."""
        if response.status not in _REDIRECTS or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        raw = location.decode("latin-1").strip()
        if raw.startswith("//"):
            raw = f"{urlsplit(request.url).scheme}:{raw}"
        target = urljoin(request.url, safe_url_string(raw))
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise BadRedirect(
                f"HTTP {response.status} redirect to a {scheme or 'relative'}: URL refused "
                f"({raw[:80]!r})",
                status=response.status,
            )
        chain = [*request.meta.get("redirect_urls", []), request.url]
        seen = {urldefrag(url)[0] for url in chain}
        if urldefrag(target)[0] in seen:
            hops = len(chain)
            raise BadRedirect(
                f"redirect loop: {target} redirects back to itself after {hops} "
                f"{'hop' if hops == 1 else 'hops'}",
                status=response.status,
            )
        return response
