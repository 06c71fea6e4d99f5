"""`teaserfeed crawl` and `teaserfeed demo`: the commands that run a crawl."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from archive import (
    Archive,
    ArchiveError,
    ArchiveLock,
    ArchiveLockedError,
    damaged_reason,
    is_damage,
    open_archive,
)
from crawlers.addresses import ALLOW_OPTION, ALLOW_SETTING, AddressPolicy
from crawlers.cli.distributed import REDIS_METAVAR, crawl_worker
from crawlers.cli.util import (
    archive_option,
    fail,
    opened,
    records_at_log_level,
    root_log_level_kept,
    sites_file_option,
    workers_option,
)
from crawlers.errors import TeaserfeedError
from crawlers.extract.files import HTML_SUFFIXES
from crawlers.failures import is_failed_fetch
from crawlers.settings_check import SettingError, check_settings
from crawlers.sites import SiteConfig, load_sites, parse_sites, select_sites
from crawlers.writer import ArchiveWriteError

if TYPE_CHECKING:
    from crawlers.demo.newsroom import DemoEdition

__all__ = ["EXIT_LOCKED", "crawl", "demo", "run_crawl"]

# sysexits' EX_TEMPFAIL: cron wrappers and schedulers read it as "try again later".
EXIT_LOCKED = 75
DEFAULT_DEMO_ARCHIVE = "demo.db"


def _parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"-s {pair!r}: settings are given as NAME=VALUE, e.g. -s DOWNLOAD_DELAY=2")
        result[key.strip()] = value
    try:
        check_settings(result)
    except SettingError as exc:
        fail(str(exc))
    return result


def run_crawl(
    configs: Sequence[SiteConfig],
    archive_path: str | Path,
    settings: dict[str, Any] | None = None,
    *,
    archive_lock: ArchiveLock | None = None,
    workers: int | None = None,
) -> int | None:
    """Run one crawl of the given sites into the archive; return its run id.

    Pass `archive_lock` when you hold the archive's lock for the run already (the CLI
    does, from its first check to the end); otherwise the crawl takes it. `workers`:
    extraction processes (TEASERFEED_WORKERS, default one per core; 0: inline).
    Scrapy's reactor starts once per process, so call this once per process (the CLI does).
    """
    if workers is not None:
        settings = {**(settings or {}), "TEASERFEED_WORKERS": workers}
    run_id = _crawl(configs, archive_path, settings, archive_lock).get("teaserfeed/run_id")
    return int(run_id) if run_id is not None else None


def _crawl(
    configs: Sequence[SiteConfig],
    archive_path: str | Path,
    settings: dict[str, Any] | None,
    archive_lock: ArchiveLock | None,
) -> dict[str, Any]:
    """Run one crawl; return its Scrapy stats."""
    return _crawls(configs, archive_path, settings, archive_lock, [dict])[0]


# Before each crawl of `_crawls`: the settings of that crawl only (it may also change the world).
CrawlStep = Callable[[], dict[str, Any]]


def _crawls(
    configs: Sequence[SiteConfig],
    archive_path: str | Path,
    settings: dict[str, Any] | None,
    archive_lock: ArchiveLock | None,
    steps: Sequence[CrawlStep],
) -> list[dict[str, Any]]:
    """Run one crawl per step, one after the other on one reactor (Scrapy starts it only
    once per process); return their Scrapy stats. A crawl that does not finish ends it."""
    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.settings import Settings

    from crawlers.spiders.teasers import TeaserSpider

    crawl_settings = Settings()
    crawl_settings.setmodule("crawlers.settings", priority="project")
    crawl_settings.set("TEASERFEED_ARCHIVE", str(archive_path), priority="cmdline")
    crawl_settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    for key, value in (settings or {}).items():
        crawl_settings.set(key, value, priority="cmdline")
    process = CrawlerProcess(crawl_settings)
    results: list[dict[str, Any]] = []

    def run(index: int) -> Any:
        crawler = process.create_crawler(TeaserSpider)
        for key, value in steps[index]().items():
            crawler.settings.set(key, value, priority="cmdline")
        records_at_log_level(crawler)
        return process.crawl(crawler, configs=list(configs), archive_lock=archive_lock).addBoth(
            done, crawler, index
        )

    def done(outcome: Any, crawler: Crawler, index: int) -> Any:
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        results.append(stats)
        if index + 1 < len(steps) and stats.get("finish_reason") == "finished":
            return run(index + 1)
        return outcome

    with root_log_level_kept():
        run(0)
        process.start()
    return results


def _listing_text(summary: dict[str, Any]) -> str:
    parts = [
        (summary.get("listings_not_modified", 0), "not modified"),
        (summary.get("listings_unchanged", 0), "unchanged"),
        (summary.get("listings_not_due", 0), "not due"),
        (summary.get("stopped_at_seen", 0), "stopped at seen"),
    ]
    details = ", ".join(f"{n} {label}" for n, label in parts if n)
    return str(summary["listing_pages"]) + (f" ({details})" if details else "")


def _revisit_text(summary: dict[str, Any]) -> str:
    text = f"{summary.get('revisits', 0)} due"
    recovered = summary.get("articles_recovered", 0)
    return text + (f", {recovered} unfinished teasers fetched again" if recovered else "")


def _teaser_text(summary: dict[str, Any]) -> str:
    text = f"{summary['teasers_seen']} seen, {summary['teasers_new']} new"
    offsite = summary.get("teasers_offsite", 0)
    return text + (f", {offsite} off-site (not followed: allowed_domains)" if offsite else "")


def _print_summary(archive: Archive, run_id: int, elapsed: float) -> dict[str, Any]:
    summary = archive.run_summary(run_id)
    errors: dict[str, int] = summary.get("errors", {})
    error_text = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
    rows = [
        ("sites", ", ".join(summary.get("sites", []))),
        ("requests", str(summary.get("requests", 0))),
        ("listing pages", _listing_text(summary)),
        ("teasers", _teaser_text(summary)),
        (
            "articles",
            f"{summary['articles_new']} new, {summary['articles_updated']} updated, "
            f"{summary.get('articles_known', 0)} already archived",
        ),
        ("revisits", _revisit_text(summary)),
        ("duplicates merged", str(summary["duplicates_merged"])),
        ("errors", f"{sum(errors.values())}" + (f" ({error_text})" if error_text else "")),
    ]
    click.echo(f"teaserfeed: run {run_id} {summary.get('status', '?')} in {elapsed:.1f} s")
    for label, value in rows:
        click.echo(f"  {label:<18} {value}")
    return summary


def _program() -> str:
    """How the user can call this program again: `teaserfeed` if on PATH, else its path."""
    invoked = Path(sys.argv[0]).resolve()
    found = shutil.which("teaserfeed")
    if not invoked.name.startswith("teaserfeed") or (found and Path(found).resolve() == invoked):
        return "teaserfeed"
    try:
        return str(invoked.relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


_LISTING_KINDS = ("listing", "feed", "sitemap")

# The run finished, but listing pages or articles failed (see is_failed_fetch).
EXIT_FETCH_ERRORS = 3


def _after_crawl(
    archive_path: Path,
    stats: dict[str, Any],
    elapsed: float,
    *,
    extra: Callable[[Archive], None] | None = None,
) -> None:
    """Print the run's summary (then `extra`'s lines) and exit 1 (not finished), 3 (fetches
    failed) or return (0)."""
    run_id = stats.get("teaserfeed/run_id")
    cause = stats.get("teaserfeed/archive_error")
    damage = stats.get("teaserfeed/archive_damaged") or (cause if is_damage(cause) else None)
    if damage is not None:
        _summary_if_readable(archive_path, run_id, elapsed)
        fail(f"{archive_path}: {damaged_reason(str(damage), archive_path)}", 2)
    if cause is not None:
        _summary_if_readable(archive_path, run_id, elapsed)
        failure = ArchiveWriteError(str(archive_path), str(cause))
        fail(failure.advice(int(stats.get("teaserfeed/not_stored", 0))), 1)
    if run_id is None:
        fail("the crawl did not start; see the messages above", 1)
    with opened(archive_path) as archive:
        summary = _print_summary(archive, int(run_id), elapsed)
        if extra is not None and summary.get("status") == "finished":
            extra(archive)
        failed = [
            f
            for f in archive.fetch_failures(run_id=int(run_id))
            if is_failed_fetch(f.fetch_kind, f.error_kind, f.status)
        ]
        for f in failed:
            if f.fetch_kind in _LISTING_KINDS:
                # a start URL that cannot be reached: one line, its cause (no traceback)
                more = f" and {f.count - 1} more" if f.count > 1 else ""
                click.echo(
                    f"  {'unreachable':<18} {f.example_url}{more}: "
                    f"{f.example_error or f.error_kind}"
                )
    name, prog = str(archive_path), _program()
    click.echo(f"archive: {archive_path.resolve()}")
    click.echo(f"  browse it in datasette:  {prog} serve {name}")
    click.echo(f'  search it:               {prog} search "QUERY" --archive {name}')
    if summary.get("status") != "finished":
        sys.exit(1)
    if failed:
        by_kind: dict[str, int] = {}
        for f in failed:
            key = f"{f.fetch_kind} {f.error_kind}"
            by_kind[key] = by_kind.get(key, 0) + f.count
        text = ", ".join(f"{key}: {n}" for key, n in sorted(by_kind.items()))
        click.echo(
            f"finished with failed fetches ({text}); see `{prog} stats --archive {name}`",
            err=True,
        )
        sys.exit(EXIT_FETCH_ERRORS)


def _summary_if_readable(archive_path: Path, run_id: Any, elapsed: float) -> None:
    """The summary of a run whose archive failed to write, if the archive can still be read."""
    if run_id is None:
        return
    try:
        with open_archive(archive_path, readonly=True) as archive:
            _print_summary(archive, int(run_id), elapsed)
    except (ArchiveError, sqlite3.Error):
        pass  # the one line on stderr says what happened


def _crawl_and_report(
    configs: Sequence[SiteConfig], archive_path: Path, settings: dict[str, Any], lock: ArchiveLock
) -> dict[str, Any]:
    """Crawl under the held lock; the CLI prints a failed write's line itself, at the end."""
    try:
        quiet = {"TEASERFEED_ARCHIVE_FAILURE_LOG_LEVEL": "INFO"}
        return _crawl(configs, archive_path, {**quiet, **settings}, lock)
    finally:
        lock.release()


@click.command(short_help="Crawl configured sites (or one --url) into the archive.")
@click.argument("sites", nargs=-1)
@sites_file_option
@click.option(
    "--url",
    help="Crawl this one listing page in automatic mode, without a config: an http(s) URL, "
    "or a saved page (file:///path/page.html or a file path). The site is named after the "
    "host as `sites suggest` names it (www.news.example.org: news-example-org); a saved "
    "page's, after its folder.",
)
@click.option(
    "--input-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Crawl the saved listing pages (.html, .htm, …) directly in DIR in automatic mode, "
    "as one site named after the folder. Links to saved pages are followed and read from "
    "disk; links to the web are recorded as teasers, not fetched.",
)
@archive_option
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy/teaserfeed setting (repeatable), e.g. -s DOWNLOAD_DELAY=2.",
)
@click.option(
    "--backfill",
    type=click.IntRange(min=1),
    metavar="N",
    help="Page every listing N pages deep this run, ignoring stop-at-seen, validators "
    "(ETag/Last-Modified) and the poll schedule; to fill an archive with older news.",
)
@click.option(
    "--reset",
    "reset_sites",
    multiple=True,
    metavar="SITE",
    help="Forget SITE's listing state (validators, teaser hashes, schedule) before crawling "
    "(repeatable); its articles stay archived.",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help=f"Run as one worker of a crawl shared through Redis ({REDIS_METAVAR}): items go "
    "to Redis for `teaserfeed ingest`; the archive is only read.",
)
@click.option(
    "--reconcile",
    is_flag=True,
    help="With --redis: first re-queue the articles of archived teasers that never arrived "
    "(e.g. a killed worker held them); reads --archive.",
)
@click.option(
    ALLOW_OPTION,
    "allow_addresses",
    multiple=True,
    metavar="HOST|NETWORK",
    help="Let the crawl fetch this internal host name, IP address or CIDR network "
    "(repeatable), e.g. --allow-address intranet.example --allow-address 10.1.0.0/16. "
    "Loopback, private, link-local and other non-public addresses are refused otherwise "
    f"(SSRF guard); the same as -s {ALLOW_SETTING}=A,B.",
)
@workers_option(
    "the page is recorded as a fetch with error kind `extraction` and the crawl goes on. "
    "Same as -s TEASERFEED_WORKERS=N."
)
@click.option("-v", "--verbose", is_flag=True, help="Log Scrapy's progress (INFO level).")
def crawl(
    sites: tuple[str, ...],
    sites_file: Path,
    url: str | None,
    input_dir: Path | None,
    archive_path: Path,
    overrides: tuple[str, ...],
    backfill: int | None,
    reset_sites: tuple[str, ...],
    redis_url: str | None,
    reconcile: bool,
    allow_addresses: tuple[str, ...],
    workers: int | None,
    verbose: bool,
) -> None:
    """Crawl the configured SITES (all when none are named) into the archive.

    Saved corpora: --url PATH (or file:///PATH) reads one saved listing page, --input-dir
    DIR each one directly in DIR; their links to saved pages are read from disk, links to
    the web are stored as teasers and not fetched.

    With --redis URL this process is one worker of a crawl shared by any number of
    workers on any machines (same sites file): they split one frontier and never fetch
    a page twice; `teaserfeed ingest --redis URL` writes their items into the archive.
    A worker exits when the shared frontier stayed empty for 30 s
    (-s TEASERFEED_REDIS_IDLE_CLOSE=SECONDS); exit status 0 when it finished. While
    Redis is away it keeps items and new requests in memory and retries for 120 s
    (-s TEASERFEED_REDIS_RETRY_FOR=SECONDS), then exits 1 saying what it did not deliver.

    Exit status: 0 when the run finished and nothing failed that should not have; 3 when
    it finished but fetches failed: a listing page (any error), or an article through a
    timeout, DNS or connection error, a 5xx or 429, a bot wall, a backed-off site, a
    too-large body, a bad redirect (dead links, robots.txt, non-HTML, paywalls, limits and
    internal addresses refused by the SSRF guard do not count); 1 when the run crashed or
    was interrupted (not finished) or the archive could not be written (a full disk: below
    TEASERFEED_MIN_FREE_DISK it does not start); 2 for a usage or configuration error; 75
    when another crawl is writing the same archive (try again).

    The Scrapy way: `scrapy crawl teasers -a site=NAME` (or `-a url=URL`) in a directory
    with teaserfeed's scrapy.cfg writes the archive news.db in the current directory
    (-s TEASERFEED_ARCHIVE=PATH for another) and reads sites.toml there
    (-s TEASERFEED_SITES=PATH); `-o items.jl` / `.json` / `.csv` also exports the items,
    each with its item_type, raw HTML only with -s TEASERFEED_EXPORT_HTML=True.
    """
    if sum(bool(given) for given in (sites, url, input_dir)) > 1:
        fail("give one of SITE names, --url or --input-dir")
    try:
        if url:
            configs = [SiteConfig.for_url(_as_url(url))]
        elif input_dir is not None:
            configs = [SiteConfig.for_files(input_dir, _listing_files(input_dir))]
        else:
            configs = select_sites(load_sites(sites_file), list(sites))
    except TeaserfeedError as exc:
        fail(str(exc))
    settings: dict[str, Any] = dict(_parse_settings(overrides))
    _allow_addresses(settings, allow_addresses)
    if verbose:
        settings.setdefault("LOG_LEVEL", "INFO")
    if backfill:
        settings["TEASERFEED_BACKFILL"] = backfill
    if workers is not None:
        settings["TEASERFEED_WORKERS"] = workers
    if redis_url:
        crawl_worker(configs, redis_url, archive_path, settings, reconcile=reconcile)
        return
    if reconcile:
        fail("--reconcile is for --redis workers; a crawl without --redis resumes by itself")
    lock = _hold_archive(archive_path)
    if reset_sites:
        with opened(archive_path) as archive:
            for name in reset_sites:
                removed = archive.reset_site(name)
                click.echo(f"reset site {name!r}: forgot the state of {removed} listing URLs")
    started = time.monotonic()
    stats = _crawl_and_report(configs, archive_path, settings, lock)
    _after_crawl(archive_path, stats, time.monotonic() - started)


def _as_url(value: str) -> str:
    """--url as given, or the file:// URL of a saved page given by its path."""
    if "://" not in value and Path(value).is_file():
        return Path(value).resolve().as_uri()
    return value


def _listing_files(folder: Path) -> list[Path]:
    """The saved pages directly in --input-dir (not its subfolders: articles live there)."""
    if not folder.is_dir():
        fail(f"--input-dir {folder}: no such directory")
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(HTML_SUFFIXES)
    )


def _allow_addresses(settings: dict[str, Any], extra: Sequence[str]) -> None:
    """Add --allow-address values to TEASERFEED_ALLOWED_ADDRESSES; exit 2 on a bad entry."""
    given = settings.get(ALLOW_SETTING, "")
    entries = [e.strip() for e in str(given).split(",") if e.strip()]
    try:
        AddressPolicy.from_entries(entries, f"-s {ALLOW_SETTING}")
        AddressPolicy.from_entries(extra, ALLOW_OPTION)
    except ValueError as exc:
        fail(str(exc))
    if entries or extra:
        settings[ALLOW_SETTING] = [*entries, *extra]


def _hold_archive(path: Path) -> ArchiveLock:
    """Check the archive opens; take its lock for the whole run (exit 75 if another has it)."""
    try:
        open_archive(path, create=True).close()  # first: a non-archive gets no lock file
    except ArchiveError as exc:
        fail(str(exc))
    lock = ArchiveLock(path, "crawl")
    try:
        lock.acquire()
    except ArchiveLockedError as exc:
        fail(str(exc), EXIT_LOCKED)
    except ArchiveError as exc:
        fail(str(exc))
    return lock


@click.command(short_help="Serve the bundled demo site on 127.0.0.1 and crawl it twice.")
@click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DEMO_ARCHIVE,
    show_default=True,
    help="SQLite archive file for the demo (made afresh each time; it must hold only the demo).",
)
@click.option("--port", type=int, default=0, help="Port of the demo site (default: a free one).")
@click.option("-v", "--verbose", is_flag=True, help="Log Scrapy's progress (INFO level).")
def demo(archive_path: Path, port: int, verbose: bool) -> None:
    """Serve the bundled demo news site on 127.0.0.1 and crawl it into a fresh archive, twice.

    Between the crawls the demo newsroom moves on by two hours: new stories (one in German),
    a partner paper's copy of an archived story, and a correction with a new headline. So
    the archive ends with a revised article (`diff`), a near-duplicate cluster (`clusters`)
    and a headline change; the summary names their ids.
    """
    from crawlers.demo import DEMO_SITE_NAME, demo_sites_toml, serve_demo
    from crawlers.demo.newsroom import next_edition

    lock = _hold_archive(archive_path)
    _start_demo_archive(archive_path, DEMO_SITE_NAME)
    try:
        server = serve_demo(port=port)
    except OSError as exc:
        lock.release()
        fail(f"cannot start the demo site on 127.0.0.1:{port}: {exc}")
    # the crawls run on the demo's clock: the first two hours ago, the second now
    now = datetime.now(UTC).replace(microsecond=0)
    first_run = now - DEMO_HOURS_BETWEEN_RUNS
    edition: list[DemoEdition] = []

    def before_first() -> dict[str, Any]:
        server.clock = first_run
        return {"TEASERFEED_NOW": first_run.isoformat()}

    def before_second() -> dict[str, Any]:
        edition.append(next_edition(server, now - DEMO_HOURS_BETWEEN_RUNS / 2))
        return {"TEASERFEED_NOW": now.isoformat()}

    with server:
        click.echo(f"demo site serving at {server.url}/")
        configs = list(parse_sites(demo_sites_toml(server.url), "demo sites.toml").values())
        settings: dict[str, Any] = {
            # our own loopback server: the SSRF guard lets the crawl reach it, and only it
            ALLOW_SETTING: [urlsplit(server.url).hostname],
            # Our own loopback server: no need to be slow.
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "TEASERFEED_ARCHIVE_FAILURE_LOG_LEVEL": "INFO",
        }
        if verbose:
            settings["LOG_LEVEL"] = "INFO"
        try:
            runs = _crawls(configs, archive_path, settings, lock, [before_first, before_second])
        finally:
            lock.release()
    first, last = runs[0], runs[-1]
    if len(runs) > 1 and first.get("teaserfeed/run_id") is not None:
        click.echo(f"first crawl of {DEMO_SITE_NAME!r}, two hours ago on the demo's clock:")
        with opened(archive_path) as archive:
            _print_summary(archive, int(first["teaserfeed/run_id"]), _elapsed(first))
        click.echo(
            "the newsroom moved on: 4 new stories (one in German), a partner paper's copy of "
            "an archived story, a correction with a new headline; second crawl, now:"
        )

    def tour(archive: Archive) -> None:
        if edition:
            _demo_tour(archive, server.url, edition[0])

    _after_crawl(archive_path, last, _elapsed(last), extra=tour)


# The demo's first crawl runs this long before its second one, on the demo's clock: long
# enough for every archived article to be due for its first revisit (TEASERFEED_REVISIT).
DEMO_HOURS_BETWEEN_RUNS = timedelta(hours=2)


def _elapsed(stats: dict[str, Any]) -> float:
    """Seconds a crawl took, from Scrapy's start_time/finish_time stats."""
    started, finished = stats.get("start_time"), stats.get("finish_time")
    if isinstance(started, datetime) and isinstance(finished, datetime):
        return (finished - started).total_seconds()
    return 0.0


def _start_demo_archive(path: Path, site_name: str) -> None:
    """Empty the (locked) demo archive, so each demo tells the same story; exit 2 if the
    file holds other sites than the demo's."""
    with opened(path) as archive:
        others = sorted(s["name"] for s in archive.sources() if s["name"] != site_name)
        used = archive.last_run() is not None
    if others:
        fail(
            f"{path} holds other sites than the demo ({', '.join(others)}); the demo starts "
            "its archive afresh each time: give it another --archive"
        )
    if not used:
        return
    click.echo(f"starting {path} afresh (it held an earlier demo)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_archive(path, create=True).close()


def _demo_tour(archive: Archive, base_url: str, edition: DemoEdition) -> None:
    """What the demo archive now holds, with the ids to try it by."""
    prog, name = _program(), str(archive.path)
    opt = f" --archive {name}"  # the read commands default to news.db, not the demo's
    revised = archive.article(base_url + edition.revised)
    german = archive.article(base_url + edition.german)
    copy = archive.article(base_url + edition.syndicated)
    original = archive.article(base_url + edition.syndicated_from)
    clusters = list(archive.clusters())
    cluster = next((c for c in clusters if any(m.article_id == copy.id for m in c.members)), None)
    trap_text = {"http_4xx": "a dead link (404)", "robots": "disallowed by robots.txt"}
    traps = archive.failed_urls(trap_text)
    rows = [
        (
            "revised article",
            f"#{revised.id}, {revised.version} versions; its headline changed from "
            f"{edition.old_headline!r} to {edition.new_headline!r}",
            f"{prog} diff {revised.id}{opt}",
        ),
    ]
    if cluster is not None:
        members = ", ".join(f"#{m.article_id}" for m in cluster.members)
        rows.append(
            (
                "near-duplicates",
                f"cluster #{cluster.id} of {members}: a partner paper's copy of {original.title!r}",
                f"{prog} clusters{opt}",
            )
        )
    rows += [
        (
            "German article",
            f"#{german.id} {german.title!r} (language {german.language})",
            f'{prog} search "Bäckerei"{opt}; {prog} show {german.id}{opt}',
        ),
        (
            "merged vs clusters",
            f"{len(clusters)} near-duplicate cluster(s); 'duplicates merged' counts links "
            "folded into an article already archived (a link with a tracking query, a copy "
            "naming its original as canonical): one article row each, so no cluster",
            "",
        ),
        (
            "deliberate traps",
            "; ".join(f"{url.removeprefix(base_url)} is {trap_text[kind]}" for kind, url in traps)
            + " - the errors counted above",
            f"{prog} stats{opt}",
        ),
        (
            "datasette",
            "canned queries changed_articles, largest_clusters, headline_changes",
            f"{prog} serve {name}",
        ),
    ]
    click.echo("the demo archive now holds:")
    for label, text, command in rows:
        click.echo(f"  {label:<18} {text}")
        if command:
            click.echo(f"  {'':<18} try: {command}")
