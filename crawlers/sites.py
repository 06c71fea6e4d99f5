"""Load and validate sites.toml into SiteConfig objects."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from cssselect import SelectorError
from parsel.csstranslator import HTMLTranslator
from tld import get_fld

from crawlers.errors import SiteConfigError, UnknownSiteError
from crawlers.schedule import parse_schedule

__all__ = [
    "MODES",
    "SiteConfig",
    "is_local",
    "load_sites",
    "local_path",
    "parse_sites",
    "select_sites",
    "site_name_for",
]

_OPTIONAL_KEYS = ("feeds", "sitemaps", "revisit", "delay", "concurrency", "allowed_domains")
ANY_DOMAIN = "*"
_DOMAIN_RE = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)$")
_SELECTOR_KEYS = ("teaser", "link", "title", "excerpt", "date", "image", "next_page")
_TEASER_KEYS = ("teaser", "link", "title", "excerpt", "date", "image")
MODES = ("auto", "selectors")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_translator = HTMLTranslator()


@dataclass(frozen=True)
class SiteConfig:
    """One configured site: where its listings are and how to read their teasers."""

    name: str
    start_urls: tuple[str, ...]
    teaser: str | None = None
    link: str | None = None
    title: str | None = None
    excerpt: str | None = None
    date: str | None = None
    image: str | None = None
    next_page: str | None = None
    article_url_pattern: str | None = None
    max_pages: int = 5
    strip: tuple[str, ...] = field(default_factory=tuple)
    mode: str = ""
    feeds: tuple[str, ...] = field(default_factory=tuple)
    sitemaps: tuple[str, ...] = field(default_factory=tuple)
    # revisit steps after first seen ("1h", "6h", …); None: the TEASERFEED_REVISIT setting
    revisit: tuple[str, ...] | None = None
    delay: float | None = None
    concurrency: int | None = None
    # hosts whose teasers are followed to their articles (with subdomains); None: the
    # registrable domains of the site's own URLs; ("*",): any host
    allowed_domains: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.mode:
            # Without an explicit mode, a `teaser` selector means selector mode.
            object.__setattr__(self, "mode", "selectors" if self.teaser else "auto")

    @property
    def selector_mode(self) -> bool:
        """True when teasers are found by the configured `teaser` selector."""
        return self.mode == "selectors" and self.teaser is not None

    @property
    def url_pattern(self) -> re.Pattern[str] | None:
        """The compiled article_url_pattern, if any."""
        return re.compile(self.article_url_pattern) if self.article_url_pattern else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the configuration."""
        data = asdict(self)
        data["start_urls"] = list(self.start_urls)
        data["strip"] = list(self.strip)
        if self.mode == ("selectors" if self.teaser else "auto"):
            del data["mode"]  # the implied mode: configs (and hashes) stay as they were
        for key in _OPTIONAL_KEYS:  # unset: left out, so older configs keep their hash
            if data[key] in (None, ()):
                del data[key]
            elif isinstance(data[key], tuple):
                data[key] = list(data[key])
        return data

    @property
    def listing_urls(self) -> tuple[tuple[str, str], ...]:
        """(kind, URL) of every page polled for teasers: listings, feeds and sitemaps."""
        return (
            *(("listing", u) for u in self.start_urls),
            *(("feed", u) for u in self.feeds),
            *(("sitemap", u) for u in self.sitemaps),
        )

    @property
    def follow_domains(self) -> tuple[str, ...] | None:
        """The domains teasers are followed to (subdomains included); None: any."""
        domains = self.allowed_domains
        if domains is None:
            hosts = (urlsplit(url).hostname for _kind, url in self.listing_urls)
            domains = tuple(dict.fromkeys(_registrable(h) for h in hosts if h))
        if ANY_DOMAIN in domains:
            return None
        return tuple(_domain_key(d) for d in domains)

    def follows(self, url: str) -> bool:
        """True when a teaser linking to `url` is followed to its article; never raises.

        A file:// link is followed only from a site whose own listings are saved files:
        a page from the web never makes the crawl read this machine's files."""
        if is_local(url):
            return self.local
        domains = self.follow_domains
        if domains is None:
            return True
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return False
        if not host:
            return False
        host = _domain_key(host)
        return any(host == d or host.endswith(f".{d}") for d in domains)

    @property
    def config_hash(self) -> str:
        """A stable hash of the configuration, to notice when it changes."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def for_url(cls, url: str, name: str | None = None) -> SiteConfig:
        """An ad-hoc configuration for a single listing URL (or saved file), automatic mode."""
        parts = urlsplit(url)
        if is_local(url):
            path = local_path(url)
            if not path.is_file():
                raise SiteConfigError(f"{path}: no such file (give a saved listing page)")
        elif parts.scheme not in ("http", "https") or not parts.hostname:
            raise SiteConfigError(
                f"{url!r} is not an absolute http(s) or file:// URL; give the listing page's "
                "full address, e.g. https://news.example.org/world/"
            )
        return cls(name=name or site_name_for(url), start_urls=(url,), max_pages=1)

    @classmethod
    def for_files(cls, folder: Path, pages: Sequence[Path], name: str | None = None) -> SiteConfig:
        """An ad-hoc configuration reading saved listing pages (from `folder`), automatic mode."""
        if not pages:
            raise SiteConfigError(f"{folder}: no .html or .htm files in it")
        urls = tuple(page.resolve().as_uri() for page in pages)
        default = site_name_for(folder.resolve().as_uri() + "/")
        return cls(name=name or default, start_urls=urls, max_pages=1)

    @property
    def local(self) -> bool:
        """True when the site's listings are saved files (file:// URLs), not a web site."""
        return any(is_local(url) for _kind, url in self.listing_urls)


def site_name_for(url: str) -> str:
    """The site name `crawl --url` and `sites suggest` give a URL: its host without www.,
    other characters than letters, digits, - and _ as hyphens (www.news.example.org:
    news-example-org); a saved file's, its folder's name."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = PurePosixPath(unquote(parts.path))
            base = path.name if parts.path.endswith("/") else path.parent.name
        else:
            base = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        base = ""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-")
    return name or "site"


def is_local(url: str) -> bool:
    """True for a file:// URL (a saved page on this machine)."""
    return url[:5].lower() == "file:"


def local_path(url: str) -> Path:
    """The file a file:// URL names."""
    return Path(unquote(urlsplit(url).path))


def _domain_key(domain: str) -> str:
    return domain.strip().strip("[]").lower().rstrip(".")


def _registrable(host: str) -> str:
    """The registrable domain of a host (news.example.co.uk: example.co.uk), else the host."""
    domain = get_fld(host, fix_protocol=True, fail_silently=True)
    return str(domain) if domain else _domain_key(host)


def _fail(origin: str, site: str | None, key: str | None, reason: str) -> SiteConfigError:
    where = origin
    if site is not None:
        where += f": [sites.{site}]"
    if key is not None:
        where += f" key '{key}'"
    return SiteConfigError(f"{where}: {reason}")


def _check_url(url: str, site: str, key: str, origin: str = "sites") -> None:
    if is_local(url) and key == "start_urls":
        return  # a saved listing page; a missing file is one failed fetch, like a 404
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(origin, site, key, f"{url!r} is not an absolute http(s) URL")


def _check_selector(value: object, origin: str, site: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(origin, site, key, "must be a non-empty CSS selector string")
    try:
        _translator.css_to_xpath(value)
    except (SelectorError, ValueError, NotImplementedError) as exc:
        raise _fail(origin, site, key, f"invalid CSS selector {value!r}: {exc}") from None
    return value


def _parse_site(name: str, raw: object, origin: str) -> SiteConfig:
    if not _NAME_RE.match(name):
        raise _fail(origin, name, None, "site names use letters, digits, '-', '_' and '.'")
    if not isinstance(raw, Mapping):
        raise _fail(origin, name, None, "must be a table of settings")
    known = {f for f in SiteConfig.__dataclass_fields__ if f != "name"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(
            origin, name, unknown[0], f"unknown key; allowed keys are {', '.join(sorted(known))}"
        )
    feeds = _url_list(raw, "feeds", name, origin)
    sitemaps = _url_list(raw, "sitemaps", name, origin)
    urls = raw.get("start_urls", [] if feeds or sitemaps else None)
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise _fail(origin, name, "start_urls", "must be a non-empty list of URLs")
    if not urls and not feeds and not sitemaps:
        raise _fail(
            origin, name, "start_urls", "must be a non-empty list of URLs (or give feeds/sitemaps)"
        )
    for url in urls:
        _check_url(url, name, "start_urls", origin)
    values: dict[str, Any] = {
        "feeds": feeds,
        "sitemaps": sitemaps,
        **_politeness(raw, name, origin),
        **_scope(raw, name, origin),
    }
    for key in _SELECTOR_KEYS:
        if key in raw:
            values[key] = _check_selector(raw[key], origin, name, key)
    mode = raw.get("mode")
    if mode is not None and mode not in MODES:
        raise _fail(origin, name, "mode", f'must be "auto" or "selectors", not {mode!r}')
    if mode == "auto":
        given = [k for k in _TEASER_KEYS if k in values]
        if given:
            raise _fail(
                origin,
                name,
                given[0],
                'mode = "auto" finds teasers itself and uses no teaser selectors; remove '
                f'{", ".join(repr(k) for k in given)} or set mode = "selectors"',
            )
    elif "teaser" not in values and (
        mode == "selectors"
        or any(k in values for k in ("link", "title", "excerpt", "date", "image"))
    ):
        reason = (
            "mode = \"selectors\" needs a 'teaser' block selector"
            if mode == "selectors"
            else "field selectors need a 'teaser' block selector"
        )
        raise _fail(origin, name, "teaser", reason)
    if mode is not None:
        values["mode"] = mode
    pattern = raw.get("article_url_pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise _fail(origin, name, "article_url_pattern", "must be a regular expression string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(
                origin, name, "article_url_pattern", f"invalid regular expression: {exc}"
            ) from None
        values["article_url_pattern"] = pattern
    max_pages = raw.get("max_pages", 5)
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise _fail(origin, name, "max_pages", "must be a whole number of at least 1")
    strip = raw.get("strip", [])
    if isinstance(strip, str):
        strip = [strip]
    if not isinstance(strip, list):
        raise _fail(origin, name, "strip", "must be a list of CSS selectors")
    checked = tuple(_check_selector(s, origin, name, "strip") for s in strip)
    return SiteConfig(
        name=name,
        start_urls=tuple(urls),
        max_pages=max_pages,
        strip=checked,
        **values,
    )


def _url_list(raw: Mapping[str, Any], key: str, site: str, origin: str) -> tuple[str, ...]:
    urls = raw.get(key, [])
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise _fail(origin, site, key, "must be a list of URLs")
    for url in urls:
        _check_url(url, site, key, origin)
    return tuple(urls)


def _politeness(raw: Mapping[str, Any], site: str, origin: str) -> dict[str, Any]:
    """The revisit schedule and per-site delay and concurrency, checked."""
    values: dict[str, Any] = {}
    if "revisit" in raw:
        steps = raw["revisit"]
        if isinstance(steps, str):
            steps = [] if steps.strip().lower() == "never" else [steps]
        if not isinstance(steps, list) or not all(isinstance(x, str) for x in steps):
            raise _fail(
                origin, site, "revisit", 'must be a list like ["1h", "6h", "3d"] or "never"'
            )
        try:
            parse_schedule(steps)
        except ValueError as exc:
            raise _fail(origin, site, "revisit", str(exc)) from None
        values["revisit"] = tuple(steps)
    if "delay" in raw:
        delay = raw["delay"]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise _fail(origin, site, "delay", "must be a number of seconds, 0 or more")
        values["delay"] = float(delay)
    if "concurrency" in raw:
        concurrency = raw["concurrency"]
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise _fail(origin, site, "concurrency", "must be a whole number of at least 1")
        values["concurrency"] = concurrency
    return values


def _scope(raw: Mapping[str, Any], site: str, origin: str) -> dict[str, Any]:
    """`allowed_domains`, checked: host names (or IPs) without scheme or path, or "*"."""
    if "allowed_domains" not in raw:
        return {}
    domains = raw["allowed_domains"]
    if isinstance(domains, str):
        domains = [domains]
    reason = (
        'must be a list of host names like ["example.org", "cdn.example.net"] (subdomains '
        'included), or ["*"] to follow teasers to any host'
    )
    if not isinstance(domains, list) or not domains:
        raise _fail(origin, site, "allowed_domains", reason)
    for domain in domains:
        if not isinstance(domain, str) or (
            domain != ANY_DOMAIN and not _DOMAIN_RE.match(domain.strip().rstrip("."))
        ):
            raise _fail(origin, site, "allowed_domains", f"{domain!r}: {reason}")
    return {"allowed_domains": tuple(d.strip() for d in domains)}


def parse_sites(text: str, origin: str = "sites.toml") -> dict[str, SiteConfig]:
    """Parse the text of a sites.toml file; raise SiteConfigError naming site, key and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(origin, None, None, f"not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"sites"})
    if extra:
        raise _fail(origin, None, None, f"unknown top-level table '{extra[0]}'; use [sites.NAME]")
    sites = data.get("sites")
    if not isinstance(sites, Mapping) or not sites:
        raise _fail(origin, None, None, "no sites defined; add a [sites.NAME] table")
    return {name: _parse_site(name, raw, origin) for name, raw in sites.items()}


def load_sites(path: str | Path) -> dict[str, SiteConfig]:
    """Read and validate a sites.toml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteConfigError(
            f"{path}: no such file; write a sites.toml (see README) or pass --sites PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_sites(text, str(path))


def select_sites(sites: Mapping[str, SiteConfig], names: list[str]) -> list[SiteConfig]:
    """The configs for the given names (all when none); UnknownSiteError names what exists."""
    if not names:
        return list(sites.values())
    missing = [n for n in names if n not in sites]
    if missing:
        known = ", ".join(sorted(sites)) or "none"
        raise UnknownSiteError(f"unknown site {missing[0]!r}; configured sites: {known}")
    return [sites[n] for n in names]
