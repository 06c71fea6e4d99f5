"""A hostile news site on loopback: broken markup and charsets, huge and endless bodies, a
gzip bomb, hanging and flaky paths, redirect loops and traps, bot walls, rate limits, a
paywall, binary files behind article links, a self-linking and a 10,000-teaser listing.

`HostileServer` serves it from daemon threads on 127.0.0.1 (plus 127.0.0.2 as "another
host"); `EXPECTED` says, per article path linked from the front page, what teaserfeed must
record: the fetch's error kind, or a stored article containing a given word. All text is
generated here.
"""

from __future__ import annotations

import gzip
import html
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ALIAS_HOST",
    "BIG_LISTING_TEASERS",
    "EXPECTED",
    "Expect",
    "HostileServer",
    "hostile_config",
]

ALIAS_HOST = "127.0.0.2"
BIG_LISTING_TEASERS = 10_000
HUGE_BYTES = 50 * 1024 * 1024
# the gzip bomb: GZIP_MEMBERS copies of one member of 16 MiB zeros, about 1 GiB inflated
GZIP_MEMBERS = 64
_STREAM_CAP_SECONDS = 60.0
_STREAM_CAP_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Expect:
    """What a crawl must record for one path: an error kind, or a stored article."""

    kind: str | None = None  # fetches.error_kind; None: an article is stored
    word: str | None = None  # a stored article's body contains this
    attempts: int | None = None  # requests the server saw for the path
    status: int | None = None  # fetches.status


# every path the front page links to, with what the crawl must make of it
EXPECTED: dict[str, Expect] = {
    "/good/1": Expect(word="Quillmarsh"),
    "/good/2": Expect(word="Brackenlow"),
    "/good/3": Expect(word="Tidewhistle"),
    "/garbage": Expect(word="Knotgrass"),
    "/attributes": Expect(word="Manyfold"),
    "/nul": Expect(word="Nullbridge"),
    "/charset/cp1251-header": Expect(word="Водоканал"),
    "/charset/cp1251-meta": Expect(word="Пешеходный"),
    "/charset/shift-jis": Expect(word="図書館"),
    "/charset/latin1": Expect(word="Straßenbahn"),
    "/charset/bom-beats-header": Expect(word="Grünfläche"),
    "/charset/header-beats-meta": Expect(word="Kühlhaus"),
    "/charset/undeclared": Expect(word="Übergang"),
    "/charset/wrong": Expect(word="Lanternway"),
    "/huge": Expect(kind="too_large"),
    "/bomb": Expect(kind="too_large"),
    "/endless": Expect(kind="too_large"),
    "/hang": Expect(kind="timeout"),
    "/redirect/loop-a": Expect(kind="redirect"),
    "/redirect/self": Expect(kind="redirect", attempts=1),
    "/redirect/chain/1": Expect(kind="redirect"),
    "/redirect/short/1": Expect(word="Ferrydown"),
    "/redirect/other-host": Expect(word="Farharbour"),
    "/redirect/file": Expect(kind="redirect", attempts=1),
    "/redirect/javascript": Expect(kind="redirect", attempts=1),
    "/files/report.pdf": Expect(kind="not_html"),
    "/files/photo.png": Expect(kind="not_html"),
    "/wall/cloudflare": Expect(kind="bot_wall", attempts=1, status=403),
    "/wall/challenge-503": Expect(kind="bot_wall", attempts=1, status=503),
    "/wall/challenge-200": Expect(kind="bot_wall", attempts=1, status=200),
    "/wall/access-denied": Expect(kind="bot_wall", attempts=1, status=403),
    "/wall/interruption": Expect(kind="bot_wall", attempts=1, status=200),
    "/forbidden": Expect(kind="http_4xx", attempts=1, status=403),
    "/paywall": Expect(kind="paywall", word="Coppergate", status=200),
    "/slow-down": Expect(word="Hollowmere", attempts=2),
    "/slow-down-long": Expect(kind="http_4xx", attempts=1, status=429),
    "/flaky": Expect(word="Stonebreak", attempts=3),
    "/broken": Expect(kind="http_5xx", attempts=3, status=500),
    "/empty": Expect(kind="not_html", attempts=1),
    "/missing": Expect(kind="http_4xx", attempts=1, status=404),
    "/private/secret": Expect(kind="robots", attempts=0),
}


def hostile_config(base_url: str, name: str = "hostile", *, big: bool = False) -> Any:
    """The site config for a crawl of the hostile site, read with selectors (deterministic):
    the front page, the self-linking listing, an entity-bomb feed and a sitemap index that
    names itself, or (big=True) the 10,000-teaser listing.

    The big listing gets a crawl of its own: extracting 10,000 teasers holds the reactor
    for seconds, and downloads in flight meanwhile would time out at a test's short
    DOWNLOAD_TIMEOUT.
    """
    from crawlers.sites import SiteConfig

    paths = ("/big-listing",) if big else ("/", "/self-listing")
    return SiteConfig(
        name=name,
        start_urls=tuple(f"{base_url}{path}" for path in paths),
        teaser="article.teaser",
        link="h2 a::attr(href)",
        title="h2",
        max_pages=1,
        feeds=() if big else (f"{base_url}/feeds/bomb.xml",),
        sitemaps=() if big else (f"{base_url}/sitemap-self.xml",),
    )


# ---- generated text -----------------------------------------------------------------

_WORDS = (
    "council", "harbour", "weather", "market", "bridge", "library", "river", "school",
    "station", "garden", "budget", "evening", "morning", "residents", "plan", "street",
    "district", "museum", "festival", "ferry", "road", "committee", "season", "tram",
    "square", "repairs", "volunteers", "report", "water", "forest", "hall", "lantern",
    "workers", "bakery", "orchard", "clinic", "mayor", "bus", "archive", "tunnel", "meadow",
)  # fmt: skip
_VERBS = (
    "discussed", "approved", "delayed", "opened", "reviewed", "announced", "measured",
)  # fmt: skip


def _prose(seed: int, sentences: int = 14, word: str = "") -> list[str]:
    """Deterministic English-like paragraphs; `word` appears in the first one."""
    paragraphs, current = [], []
    state = seed * 2654435761 % 2**32 or 1
    for number in range(sentences):
        picked = []
        for _ in range(9):
            state = (state * 1103515245 + 12345) % 2**31
            picked.append(_WORDS[state % len(_WORDS)])
        verb = _VERBS[state % len(_VERBS)]
        sentence = f"The {picked[0]} {picked[1]} {verb} the {' '.join(picked[2:])}."
        if number == 0 and word:
            sentence = f"{word} {sentence[0].lower()}{sentence[1:]}"
        current.append(sentence)
        if len(current) == 4:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _article(
    title: str,
    paragraphs: Iterable[str],
    *,
    charset: str | None = "utf-8",
    head: str = "",
    extra: str = "",
) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html>\n<html><head>{meta}<title>{html.escape(title)}</title>{head}"
        f"</head><body><article><h1>{html.escape(title)}</h1>"
        f'<p class="byline">By Ada Example</p>{body}{extra}</article></body></html>\n'
    )


def _good(path: str, word: str, seed: int) -> bytes:
    return _article(f"{word} story", _prose(seed, word=word)).encode()


_CYRILLIC = (
    "Городской {w} обсудил новый план ремонта набережной. Жители района пришли на "
    "собрание и задали много вопросов про сроки работ. Депутаты пообещали открыть новый "
    "сквер до конца осени. Весной начнётся замена старых труб на улице Садовой. "
)
_JAPANESE = (
    "市の{w}は来月から開館時間を延長すると発表した。駅前の広場では週末に小さな市場が開かれ、"
    "多くの住民が新鮮な野菜を買い求めた。川沿いの遊歩道は春までに整備される予定である。"
)
_GERMAN = (
    "Die {w} am Fluss wird im Frühling erneuert. Anwohner äußerten sich über die "
    "Größe des Plans, und der Bürgermeister versprach eine schnelle Lösung für die Straße. "
)


def _repeat(template: str, word: str, times: int = 6) -> list[str]:
    return [template.format(w=word)] * times


def _garbage() -> bytes:
    head = _article("Knotgrass garden report", _prose(11, word="Knotgrass"))
    head = head.replace("</article></body></html>\n", "")
    junk = ["<div><span><b><i><table><tr><td><ul><li>" * 300]
    junk += ["<p <p <<>> </notopen> <a href='x' href=\"y\">&bogus; &#xZZ; &#99999999;"]
    junk += ["<script>document.write('<p>')</scr" + "ipt>", "<![CDATA[ nothing ]]>"]
    junk += ["<svg><math><style></p></style></math>", "<!-- never closed comment"]
    return (head + "".join(junk)).encode()


def _attributes() -> bytes:
    # 100,000 attributes on one tag: libxml2 checks each against all before it (minutes)
    attrs = "".join(f' data-a{i}="{i}"' for i in range(100_000))
    page = _article("Manyfold survey", _prose(17, word="Manyfold"))
    return page.replace("<article>", f"<article{attrs}>").encode()


def _entity_bomb_feed(base: str) -> bytes:
    # "billion laughs": 10 levels of 10 references, 10^9 "lol"s (3 GB) if expanded
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(levels) + "\n]>\n"
        '<rss version="2.0"><channel><title>Bomb</title><item><title>&lol9;</title>'
        f"<link>{base}/good/feed-item</link><description>&lol9;</description></item>"
        "</channel></rss>\n"
    ).encode()


def _sitemap(base: str, path: str) -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    if path == "/sitemap-self.xml":  # an index that names itself, and one real sitemap
        entries = "".join(
            f"<sitemap><loc>{base}{p}</loc></sitemap>"
            for p in ("/sitemap-self.xml", "/sitemap-items.xml")
        )
        return f"{head}<sitemapindex {ns}>{entries}</sitemapindex>\n".encode()
    entry = f"<url><loc>{base}/good/sitemap-item</loc></url>"
    return f"{head}<urlset {ns}>{entry}</urlset>\n".encode()


def _nul() -> bytes:
    page = _article("Nullbridge \x00 notes", _prose(12, word="Nullbridge"))
    return page.replace("The ", "The\x00 ").encode() + b"\x00\x00\x00"


_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


_CLOUDFLARE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title>"
    '<meta http-equiv="refresh" content="390"></head><body>'
    "<h1>Checking if the site connection is secure</h1>"
    "<p>Enable JavaScript and cookies to continue</p>"
    '<script>window._cf_chl_opt={cvId: "3", cType: "managed"};</script>'
    '<div id="cf-chl-widget"></div></body></html>'
)
_CHALLENGE_200 = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<noscript>Please enable JavaScript and cookies to continue.</noscript>"
    "<p>Verifying that you are not a robot.</p></body></html>"
)
_ACCESS_DENIED = (
    "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>"
    "You don't have permission to access this resource on this server.<P>"
    "Reference&#32;&#35;18&#46;4f2d3e17</BODY></HTML>"
)
_INTERRUPTION = (
    "<!DOCTYPE html><html><head><title>Pardon Our Interruption</title></head><body>"
    "<h1>Pardon Our Interruption</h1><p>As you were browsing something about your browser "
    "made us think you were a bot.</p></body></html>"
)
_FORBIDDEN = "<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>"
_PAYWALL_JSONLD = (
    '<script type="application/ld+json">{"@context":"https://schema.org",'
    '"@type":"NewsArticle","headline":"Coppergate budget","isAccessibleForFree":false,'
    '"hasPart":{"@type":"WebPageElement","isAccessibleForFree":false,'
    '"cssSelector":".paywall"}}</script>'
)


@cache
def _bomb() -> bytes:
    member = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
    return member * GZIP_MEMBERS


def _listing(title: str, links: Iterable[tuple[str, str]]) -> bytes:
    teasers = "\n".join(
        f'<article class="teaser"><h2><a href="{html.escape(href)}">{html.escape(text)}</a>'
        f"</h2><p>A teaser for {html.escape(text)}.</p></article>"
        for href, text in links
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body><main>{teasers}</main></body></html>"
    ).encode()


def _title(path: str) -> str:
    return "Story " + path.strip("/").replace("/", " ").replace("-", " ")


# ---- the server ---------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # a crawler opens many connections at once: a short accept queue drops SYNs, and the
    # client's SYN retry (1 s) would look like a timeout
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: HostileServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Hostile/1.0"
    sys_version = ""
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Serve one hostile path."""
        owner = self.server.owner
        target = urlsplit(self.path)
        path = target.path
        attempt = owner._log(self.command, self.path, path, self.headers.get("Host", ""))
        try:
            self._route(owner, path, parse_qs(target.query), attempt)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- routing ------------------------------------------------------------------------

    def _route(self, owner: HostileServer, path: str, query: dict[str, list[str]], n: int) -> None:
        if path == "/robots.txt":
            return self._send(200, "text/plain", owner.robots_txt().encode())
        if path == "/":
            links = [(p, _title(p)) for p in EXPECTED]
            return self._send(200, "text/html; charset=utf-8", _listing("Front page", links))
        if path == "/self-listing":
            links = [
                ("/self-listing", "This very page"),
                ("/self-listing#more", "This page again"),
                ("", "Nowhere"),
                ("/good/from-self", "The one real story"),
            ]
            return self._send(200, "text/html; charset=utf-8", _listing("Self", links))
        if path == "/feeds/bomb.xml":
            return self._send(200, "application/rss+xml", _entity_bomb_feed(owner.url))
        if path in ("/sitemap-self.xml", "/sitemap-items.xml"):
            return self._send(200, "application/xml", _sitemap(owner.url, path))
        if path == "/big-listing":
            links = ((f"/many/{i}", f"Item {i}") for i in range(1, BIG_LISTING_TEASERS + 1))
            return self._send(200, "text/html; charset=utf-8", _listing("Everything", links))
        if path.startswith("/list/"):
            paths = [p for p in query.get("paths", [""])[0].split(",") if p]
            links = [(p, _title(p)) for p in paths]
            return self._send(200, "text/html; charset=utf-8", _listing("List", links))
        handler = _ROUTES.get(path)
        if handler is not None:
            return handler(self, n)
        for prefix, prefixed in _PREFIX_ROUTES:
            if path.startswith(prefix):
                return prefixed(self, path, n)
        return self._send(404, "text/html", b"<html><body><h1>Not found</h1></body></html>")

    # -- responses ----------------------------------------------------------------------

    def _send(
        self,
        status: int,
        content_type: str | None,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self._send(status, "text/html", b"<html><body>Moved</body></html>", {"Location": location})

    def _stream(self, chunks: Iterator[bytes], *, length: int | None) -> None:
        closing = self.server.owner.closing
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        started, sent = time.monotonic(), 0
        for chunk in chunks:
            if (
                closing.is_set()
                or time.monotonic() - started > _STREAM_CAP_SECONDS
                or sent > _STREAM_CAP_BYTES
            ):
                break
            if length is None:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            else:
                self.wfile.write(chunk)
            sent += len(chunk)
        self.close_connection = True

    # -- the hostile pages ----------------------------------------------------------------

    def good(self, path: str, n: int) -> None:
        words = {
            "/good/1": "Quillmarsh",
            "/good/2": "Brackenlow",
            "/good/3": "Tidewhistle",
            "/good/other-host": "Farharbour",
            "/good/from-self": "Selfsame",
            "/good/short-target": "Ferrydown",
            "/good/feed-item": "Feedwell",
            "/good/sitemap-item": "Mapstone",
        }
        word = words.get(path, "Plainfield")
        self._send(200, "text/html; charset=utf-8", _good(path, word, len(path)))

    def plain(self, path: str, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _good(path, "Plainfield", len(path)))

    def garbage(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _garbage())

    def nul(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _nul())

    def cp1251_header(self, n: int) -> None:
        page = _article("Новости города", _repeat(_CYRILLIC, "Водоканал"), charset=None)
        self._send(200, "text/html; charset=windows-1251", page.encode("cp1251"))

    def cp1251_meta(self, n: int) -> None:
        page = _article("Новости района", _repeat(_CYRILLIC, "Пешеходный"), charset="windows-1251")
        self._send(200, "text/html", page.encode("cp1251"))

    def shift_jis(self, n: int) -> None:
        page = _article("市のニュース", _repeat(_JAPANESE, "図書館"), charset="Shift_JIS")
        self._send(200, "text/html", page.encode("shift_jis"))

    def latin1(self, n: int) -> None:
        page = _article("Neues aus der Stadt", _repeat(_GERMAN, "Straßenbahn"), charset=None)
        self._send(200, "text/html; charset=ISO-8859-1", page.encode("latin-1"))

    def bom_beats_header(self, n: int) -> None:
        # the header says Latin-1, the BOM says UTF-8: the BOM wins (as in browsers)
        page = _article("Neues vom Park", _repeat(_GERMAN, "Grünfläche"), charset=None)
        self._send(200, "text/html; charset=ISO-8859-1", b"\xef\xbb\xbf" + page.encode())

    def header_beats_meta(self, n: int) -> None:
        # the header says UTF-8 (right), the <meta> says windows-1251 (wrong)
        page = _article("Neues vom Hafen", _repeat(_GERMAN, "Kühlhaus"), charset="windows-1251")
        self._send(200, "text/html; charset=utf-8", page.encode())

    def undeclared(self, n: int) -> None:
        page = _article("Neues vom Bahnhof", _repeat(_GERMAN, "Übergang"), charset=None)
        self._send(200, "text/html", page.encode())

    def wrong(self, n: int) -> None:
        # declared UTF-8, sent as windows-1252: the umlauts are invalid UTF-8 bytes
        page = _article("Lanternway news", _repeat(_GERMAN, "Lanternway"), charset="utf-8")
        self._send(200, "text/html; charset=utf-8", page.encode("cp1252"))

    def huge(self, n: int) -> None:
        chunk = (b"<p>" + b"filler text " * 5450 + b"</p>\n")[:65536]
        self._stream(iter(lambda: chunk, b""), length=HUGE_BYTES)

    def bomb(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _bomb(), {"Content-Encoding": "gzip"})

    def endless(self, n: int) -> None:
        chunk = b"<p>" + b"and more " * 7000 + b"</p>\n"
        self._stream(iter(lambda: chunk, b""), length=None)

    def hang(self, n: int) -> None:
        self.server.owner.closing.wait(_STREAM_CAP_SECONDS)
        self.close_connection = True

    def redirect(self, path: str, n: int) -> None:
        owner = self.server.owner
        name = path.removeprefix("/redirect/")
        if name == "loop-a":
            return self._redirect("/redirect/loop-b")
        if name == "loop-b":
            return self._redirect("/redirect/loop-a", 301)
        if name == "self":
            return self._redirect("/redirect/self", 307)
        if name.startswith("chain/"):
            step = int(name.removeprefix("chain/") or 0)
            return self._redirect(f"/redirect/chain/{step + 1}", 301 if step % 2 else 302)
        if name.startswith("short/"):
            step = int(name.removeprefix("short/") or 0)
            return self._redirect(
                f"/redirect/short/{step + 1}" if step < 3 else "/good/short-target"
            )
        if name == "other-host":
            return self._redirect(f"{owner.alias_url}/good/other-host")
        if name == "file":
            return self._redirect("file:///etc/passwd")
        if name == "javascript":
            return self._redirect("javascript:alert(document.cookie)")
        self._send(404, "text/html", b"<html><body>no such redirect</body></html>")

    def pdf(self, n: int) -> None:
        self._send(200, "application/pdf", _PDF)

    def png(self, n: int) -> None:
        self._send(200, "image/png", _png())

    def cloudflare(self, n: int) -> None:
        self._send(403, "text/html; charset=UTF-8", _CLOUDFLARE.encode(), {"Server": "cloudflare"})

    def challenge_503(self, n: int) -> None:
        self._send(503, "text/html; charset=UTF-8", _CLOUDFLARE.encode(), {"Retry-After": "1"})

    def challenge_200(self, n: int) -> None:
        self._send(200, "text/html; charset=UTF-8", _CHALLENGE_200.encode())

    def access_denied(self, n: int) -> None:
        self._send(403, "text/html", _ACCESS_DENIED.encode())

    def interruption(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _INTERRUPTION.encode())

    def forbidden(self, n: int) -> None:
        self._send(403, "text/html", _FORBIDDEN.encode())

    def paywall(self, n: int) -> None:
        teaser = _prose(13, sentences=5, word="Coppergate")
        locked = '<div class="paywall"><p>Subscribe to read the rest of this story.</p></div>'
        page = _article("Coppergate budget", teaser, head=_PAYWALL_JSONLD, extra=locked)
        self._send(200, "text/html; charset=utf-8", page.encode())

    def slow_down(self, path: str, n: int) -> None:
        if path == "/slow-down-long":
            return self._send(429, "text/plain", b"Too Many Requests", {"Retry-After": "3600"})
        if n == 1:
            return self._send(429, "text/plain", b"Too Many Requests", {"Retry-After": "1"})
        self._send(200, "text/html; charset=utf-8", _good(path, "Hollowmere", 14))

    def flaky(self, path: str, n: int) -> None:
        if n <= 2:
            return self._send(500, "text/html", b"<html><body>Internal error</body></html>")
        self._send(200, "text/html; charset=utf-8", _good(path, "Stonebreak", 15))

    def broken(self, path: str, n: int) -> None:
        self._send(500, "text/html", b"<html><body>Internal error</body></html>")

    def attributes(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _attributes())

    def empty(self, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", b"")

    def private(self, path: str, n: int) -> None:
        self._send(200, "text/html; charset=utf-8", _good(path, "Forbiddenfruit", 16))


_ROUTES: dict[str, Any] = {
    "/garbage": _Handler.garbage,
    "/nul": _Handler.nul,
    "/charset/cp1251-header": _Handler.cp1251_header,
    "/charset/cp1251-meta": _Handler.cp1251_meta,
    "/charset/shift-jis": _Handler.shift_jis,
    "/charset/latin1": _Handler.latin1,
    "/charset/bom-beats-header": _Handler.bom_beats_header,
    "/charset/header-beats-meta": _Handler.header_beats_meta,
    "/charset/undeclared": _Handler.undeclared,
    "/charset/wrong": _Handler.wrong,
    "/huge": _Handler.huge,
    "/bomb": _Handler.bomb,
    "/endless": _Handler.endless,
    "/hang": _Handler.hang,
    "/files/report.pdf": _Handler.pdf,
    "/files/photo.png": _Handler.png,
    "/wall/cloudflare": _Handler.cloudflare,
    "/wall/challenge-503": _Handler.challenge_503,
    "/wall/challenge-200": _Handler.challenge_200,
    "/wall/access-denied": _Handler.access_denied,
    "/wall/interruption": _Handler.interruption,
    "/forbidden": _Handler.forbidden,
    "/paywall": _Handler.paywall,
    "/empty": _Handler.empty,
    "/attributes": _Handler.attributes,
}
# prefix -> handler(self, path, attempt); /flaky..., /dead... and /plain... take any suffix,
# so each test can use paths of its own (the attempt counters are per path)
_PREFIX_ROUTES: tuple[tuple[str, Any], ...] = (
    ("/good/", _Handler.good),
    ("/many/", _Handler.plain),
    ("/plain/", _Handler.plain),
    ("/redirect/", _Handler.redirect),
    ("/slow-down", _Handler.slow_down),
    ("/flaky", _Handler.flaky),
    ("/broken", _Handler.broken),
    ("/dead", _Handler.broken),
    ("/private/", _Handler.private),
)


class HostileServer:
    """The hostile site on 127.0.0.1 and 127.0.0.2 (free ports), served from daemon threads.

    `crawl_delay` goes into robots.txt as `Crawl-delay` (None: no such line).
    """

    def __init__(self, crawl_delay: float | None = None) -> None:
        self.crawl_delay = crawl_delay
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._log_entries: list[tuple[str, str, str]] = []
        self._attempts: Counter[str] = Counter()
        self._servers = [_Server(("127.0.0.1", 0), self), _Server((ALIAS_HOST, 0), self)]
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            for server in self._servers
        ]
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        """Base URL on 127.0.0.1, without a trailing slash."""
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def alias_url(self) -> str:
        """Base URL of the same site on 127.0.0.2 ("another host")."""
        return f"http://{ALIAS_HOST}:{self._servers[1].server_address[1]}"

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """Every request so far: (method, path with query, Host header)."""
        with self._lock:
            return list(self._log_entries)

    def attempts(self, path: str) -> int:
        """How many requests a path (without query) got."""
        with self._lock:
            return self._attempts[path]

    def robots_txt(self) -> str:
        """The robots.txt: /private/ is disallowed, plus Crawl-delay when set."""
        lines = ["User-agent: *", "Disallow: /private/"]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay:g}")
        return "\n".join(lines) + "\n"

    def _log(self, method: str, raw_path: str, path: str, host: str) -> int:
        with self._lock:
            self._log_entries.append((method, raw_path, host))
            self._attempts[path] += 1
            return self._attempts[path]

    def close(self) -> None:
        """Release hanging and streaming handlers, stop serving, free the ports."""
        self.closing.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
