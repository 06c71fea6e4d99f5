"""A loopback HTTP server for the demo site, run from a daemon thread."""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from crawlers.demo.site import DemoArticle, DemoPage, DemoSite, Edit, NewsItem, build_demo_site

__all__ = ["DemoServer", "serve_demo"]

# A Host header we are willing to echo into absolute URLs (canonical links, og:url).
_HOST_RE = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


class _DemoHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows the site it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: DemoSite) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.site = site
        self.delay = 0.0
        self.requests: list[tuple[str, str, str]] = []
        self.requests_lock = threading.Lock()
        super().__init__(address, _DemoRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a killed crawler) is normal here; other errors are shown."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def own_url(self) -> str:
        """The base URL built from the bound address."""
        host, port = self.server_address[:2]
        host = str(host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"


class _DemoRequestHandler(BaseHTTPRequestHandler):
    """GET and HEAD for the demo pages, with ETag/Last-Modified revalidation."""

    server: _DemoHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "DemoDaily/1.0"
    sys_version = ""
    timeout = 30  # don't let idle keep-alive connections hold a thread forever

    def version_string(self) -> str:
        """The Server header: the demo's name, without the Python version."""
        return self.server_version

    def do_GET(self) -> None:
        """Serve a page with its body."""
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        """Serve a page's headers only."""
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: no per-request lines on stderr."""

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        if _HOST_RE.fullmatch(host):
            return f"http://{host}"
        return self.server.own_url

    def _respond(self, *, send_body: bool) -> None:
        with self.server.requests_lock:
            self.server.requests.append(
                (self.command, self.path, self.headers.get("User-Agent", ""))
            )
        target = urlsplit(self.path)
        path = unquote(target.path) or "/"
        if ".." in path.split("/") or "\\" in path or "\x00" in path:
            # nothing here comes from disk, but a path that climbs is refused outright
            self._send(400, "text/plain; charset=utf-8", b"Bad path\n", send_body)
            return
        delay = self.server.delay
        if delay > 0:
            time.sleep(delay)
        site = self.server.site
        page = site.pages.get(path)
        if page is None and not path.endswith("/") and f"{path}/" in site.pages:
            location = f"{path}/" + (f"?{target.query}" if target.query else "")
            self._send(301, "text/plain; charset=utf-8", b"Moved\n", send_body, location=location)
            return
        if page is None:
            page = site.not_found
        body = page.render(self._base_url())
        etag = f'"{hashlib.sha1(body).hexdigest()[:20]}"'
        if page.status == 200 and self._not_modified(page, etag):
            self._send(304, None, b"", False, etag=etag, last_modified=page.last_modified)
            return
        self._send(
            page.status,
            page.content_type,
            body,
            send_body,
            etag=etag if page.status == 200 else None,
            last_modified=page.last_modified,
        )

    def _not_modified(self, page: DemoPage, etag: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return etag in tags or "*" in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None or page.last_modified is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return page.last_modified.replace(microsecond=0) <= since

    def _send(
        self,
        status: int,
        content_type: str | None,
        body: bytes,
        send_body: bool,
        *,
        location: str | None = None,
        etag: str | None = None,
        last_modified: datetime | None = None,
    ) -> None:
        try:
            self.send_response(status)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            if location is not None:
                self.send_header("Location", location)
            if etag is not None:
                self.send_header("ETag", etag)
            if last_modified is not None:
                http_date = format_datetime(last_modified.astimezone(UTC), usegmt=True)
                self.send_header("Last-Modified", http_date)
            self.end_headers()
            if send_body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class DemoServer:
    """The demo site on a loopback ThreadingHTTPServer; binds at once, serves after start().

    The newsroom can move on while it serves: `publish()` adds articles and `edit()`
    revises one, both at the server's `clock` (set it to control time; None: real time).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, site: DemoSite | None = None):
        self._site = site if site is not None else build_demo_site()
        self._httpd = _DemoHTTPServer((host, port), self._site)
        self._thread: threading.Thread | None = None
        self.clock: datetime | None = None
        self._news: list[NewsItem] = []
        self._edits: dict[str, Edit] = {}

    def now(self) -> datetime:
        """The server's time: `clock` when set, else the real time (UTC)."""
        return self.clock if self.clock is not None else datetime.now(UTC)

    @property
    def delay(self) -> float:
        """Seconds every response waits before it is sent (a slow, latency-bound site)."""
        return self._httpd.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._httpd.delay = max(0.0, float(seconds))

    def publish(self, count: int = 1, kind: str = "plain") -> list[DemoArticle]:
        """Publish `count` new articles now (one minute apart); returns them, newest last.

        `kind` (one of LATER_KINDS): "plain" generated news, "german" the German-language
        story, "syndicated" a partner paper's near-copy of the Svalbard story.
        """
        start = self.now()
        self._news += [(start + timedelta(minutes=n), kind) for n in range(count)]
        before = {a.path for a in self._site.articles}
        self._rebuild()
        return [a for a in self._site.articles if a.path not in before]

    def edit(self, path: str, headline: str | None = None) -> DemoArticle:
        """Revise the article at `path` now: a correction paragraph, a new modified date,
        and with `headline` a new headline (on its teasers too)."""
        self._edits[urlsplit(path).path] = (self.now(), headline)
        self._rebuild()
        return self._site.article(path)

    def _rebuild(self) -> None:
        self._site = build_demo_site(self._news, self._edits)
        self._httpd.site = self._site

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. "http://127.0.0.1:41234"."""
        return self._httpd.own_url

    @property
    def port(self) -> int:
        """The bound TCP port (useful when port 0 was asked for)."""
        return int(self._httpd.server_address[1])

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """Every request served so far: (method, path with query, User-Agent)."""
        with self._httpd.requests_lock:
            return list(self._httpd.requests)

    @property
    def site(self) -> DemoSite:
        """The site being served, which is also the ground truth."""
        return self._site

    def start(self) -> DemoServer:
        """Start serving from a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"demo-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, release the socket and join the thread; safe to call twice."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve_demo(host: str = "127.0.0.1", port: int = 0, site: DemoSite | None = None) -> DemoServer:
    """Serve the demo site (built unless given) on host:port; returns the started server."""
    return DemoServer(host, port, site).start()
