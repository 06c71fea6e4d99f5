"""`teaserfeed sites suggest` and `teaserfeed sites check`: help for writing sites.toml."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
import urllib.robotparser
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import click

from crawlers.cli.util import fail, sites_file_option
from crawlers.errors import SiteConfigError, TeaserfeedError
from crawlers.extract.suggest import check_site, site_name_for, suggest_selectors
from crawlers.settings import USER_AGENT
from crawlers.sites import load_sites, select_sites

__all__ = ["FetchError", "Fetched", "fetch_page", "sites"]

FETCH_TIMEOUT = 20.0
MAX_BYTES = 10 * 1024 * 1024
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(TeaserfeedError):
    """A page could not be fetched (network, HTTP status, robots.txt, size or type)."""


@dataclass(frozen=True)
class Fetched:
    """A fetched page: its final URL (after redirects), body and Content-Type."""

    url: str
    body: bytes
    content_type: str


def _open(url: str, timeout: float) -> tuple[str, bytes, str]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(MAX_BYTES + 1)
        return response.geturl(), body, response.headers.get("Content-Type", "")


def _robots_allow(url: str, timeout: float) -> bool:
    """What the site's robots.txt says about our user agent fetching url."""
    robots_url = urljoin(url, "/robots.txt")
    parser = urllib.robotparser.RobotFileParser(robots_url)
    try:
        _, body, _ = _open(robots_url, timeout)
    except urllib.error.HTTPError as exc:
        # 401/403 forbid everything; no robots.txt (404) or a server error forbids nothing.
        return exc.code not in (401, 403)
    except (urllib.error.URLError, OSError, ValueError):
        return True
    parser.parse(body[:MAX_BYTES].decode("utf-8", errors="replace").splitlines())
    return parser.can_fetch(USER_AGENT, url)


def fetch_page(url: str, timeout: float = FETCH_TIMEOUT) -> Fetched:
    """One polite GET of an HTML page (robots.txt obeyed, identified, time and size limits)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:  # never a local file
        raise SiteConfigError(
            f"{url!r} is not an absolute http(s) URL; give the page's full address, "
            "e.g. https://news.example.org/world/"
        )
    if not _robots_allow(url, timeout):
        raise FetchError(f"{url}: robots.txt does not allow teaserfeed to fetch this page")
    try:
        final_url, body, content_type = _open(url, timeout)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"{url}: cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise FetchError(f"{url}: no answer within {timeout:g} s") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"{url}: {exc}") from None
    if len(body) > MAX_BYTES:
        raise FetchError(f"{url}: larger than {MAX_BYTES // (1024 * 1024)} MB; not a listing page")
    kind = content_type.split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        raise FetchError(f"{url}: not an HTML page ({kind})")
    return Fetched(final_url, body, content_type)


@click.group("sites")
def sites() -> None:
    """Help configure sites: suggest selectors for a page, dry-run a sites.toml."""


@sites.command(short_help="Print a sites.toml block with selectors inferred from a page.")
@click.argument("url")
@click.option("--name", help="Site name of the [sites.NAME] block (default: from the host).")
@click.option(
    "-n",
    "--show",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many of the teasers found to list (as comments).",
)
def suggest(url: str, name: str | None, show: int) -> None:
    """Fetch the listing page URL and print a ready [sites.NAME] block for sites.toml.

    The selectors are those that give the teasers the automatic mode finds on the page;
    the teasers they find are listed below the block as comments. Exit status: 0, 1 when
    the page has no teasers, 2 when it cannot be fetched.
    """
    try:
        page = fetch_page(url)
    except TeaserfeedError as exc:
        fail(str(exc))
    suggestion = suggest_selectors(page.body, page.url, page.content_type)
    click.echo(suggestion.toml(name or site_name_for(url)), nl=False)
    for teaser in suggestion.teasers[:show]:
        click.echo(f"# {teaser.position:>2}. {teaser.title or '(no title)'}")
        click.echo(f"#     {teaser.url}")
        if teaser.excerpt:
            excerpt = teaser.excerpt if len(teaser.excerpt) <= 100 else teaser.excerpt[:99] + "…"
            click.echo(f"#     {excerpt}")
    if not suggestion.teasers:
        sys.exit(1)


@sites.command(short_help="Dry run: what each site's selectors find on its first page.")
@click.argument("names", nargs=-1, metavar="[SITE]...")
@sites_file_option
def check(names: tuple[str, ...], sites_file: Path) -> None:
    """Fetch the first listing page of each SITE (all when none are named) and report how
    many teasers each selector finds, how many have title, excerpt and date, the next page,
    and selectors that match nothing.

    Exit status: 0 when every site yields teasers, 1 when one does not (or cannot be
    fetched), 2 for a configuration error.
    """
    try:
        configs = select_sites(load_sites(sites_file), list(names))
    except TeaserfeedError as exc:
        fail(str(exc))
    failed = 0
    for config in configs:
        url = config.start_urls[0]
        try:
            page = fetch_page(url)
        except TeaserfeedError as exc:
            click.echo(f"{config.name}: FAILED ({config.mode} mode) {url}")
            click.echo(f"  problem: {exc}")
            failed += 1
            continue
        report = check_site(config, page.body, page.url, page.content_type)
        for line in report.lines():
            click.echo(line)
        failed += not report.ok
    click.echo(f"{len(configs)} site(s) checked, {failed} without teasers")
    if failed:
        sys.exit(1)
