"""Loopback stand-ins for a public news site and the internal hosts it points the crawler
at: 127.0.0.1 serves the listing (linking to an article on 127.0.0.3 and redirecting one to
127.0.0.4), 127.0.0.2 is an intranet host a user may allow. Each server counts the requests
it gets per path, so "never requested" is measured where it would happen.
"""

from __future__ import annotations

import html
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ALLOWED",
    "INTRANET_HOST",
    "LISTING_HOST",
    "METADATA_HOST",
    "SECRET_HOST",
    "Network",
    "Site",
    "listing_page",
]

LISTING_HOST = "127.0.0.1"
INTRANET_HOST = "127.0.0.2"  # internal, but on the allow-list
SECRET_HOST = "127.0.0.3"  # internal: linked from the listing
METADATA_HOST = "127.0.0.4"  # internal: an article redirects there
ALLOWED = [LISTING_HOST, INTRANET_HOST]


def _page(title: str, word: str) -> bytes:
    sentence = (
        f"{word} council members discussed the harbour budget and the new tram line "
        "with residents of the river district on a quiet evening. "
    )
    body = "".join(f"<p>{html.escape(sentence * 3)}</p>" for _ in range(4))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body><article><h1>{html.escape(title)}</h1>{body}</article>"
        "</body></html>"
    ).encode()


class Site:
    """One loopback HTTP server that counts requests per path and serves `routes`."""

    def __init__(self, host: str) -> None:
        self.hits: Counter[str] = Counter()
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                with lock:
                    site.hits[self.path] += 1
                status, headers, body = site.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def listing_page(links: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f'<article class="teaser"><h2><a href="{html.escape(href)}">{html.escape(title)}</a>'
        "</h2><p>A short lead for this story.</p></article>"
        for href, title in links
    )
    return f"<!DOCTYPE html><html><body><main>{items}</main></body></html>".encode()


class Network:
    """The listing site, an allowed intranet host and two internal hosts."""

    def __init__(self) -> None:
        self.listing = Site(LISTING_HOST)
        self.intranet = Site(INTRANET_HOST)
        self.secret = Site(SECRET_HOST)
        self.metadata = Site(METADATA_HOST)
        self.secret.routes["/secret"] = (200, {}, _page("Secret", "Vaultkeeper"))
        self.metadata.routes["/latest/meta-data"] = (200, {}, _page("Metadata", "Credentialia"))
        self.intranet.routes["/wiki/1"] = (200, {}, _page("Wiki", "Intranetto"))
        self.listing.routes["/story/1"] = (200, {}, _page("Story", "Quillmarsh"))
        self.listing.routes["/moved"] = (
            302,
            {"Location": f"{self.metadata.url}/latest/meta-data"},
            b"moved",
        )
        self.listing.routes["/"] = (
            200,
            {},
            listing_page(
                [
                    ("/story/1", "An ordinary story"),
                    (f"{self.secret.url}/secret", "A link to an internal host"),
                    ("/moved", "A story that redirects to a metadata service"),
                    (f"{self.intranet.url}/wiki/1", "A page on the allowed intranet"),
                ]
            ),
        )

    def close(self) -> None:
        for site in (self.listing, self.intranet, self.secret, self.metadata):
            site.close()
