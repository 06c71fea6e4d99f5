"""Distributed crawling from the command line: `crawl --redis` workers and `ingest`."""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from archive import ArchiveError, ArchiveLockedError
from crawlers.cli.util import archive_option, fail, records_at_log_level, root_log_level_kept
from crawlers.errors import TeaserfeedError
from crawlers.settings import TEASERFEED_REDIS_RETRY_FOR
from crawlers.sites import SiteConfig

if TYPE_CHECKING:
    import redis

__all__ = ["crawl_worker", "ingest"]

# sysexits' EX_TEMPFAIL, as `crawl` uses it for a locked archive: try again later.
EXIT_BUSY = 75
# as `crawl` exits for a run that completed with errors
EXIT_UNFINISHED = 3
REDIS_METAVAR = "redis://HOST:PORT/DB"


def _connect(url: str) -> redis.Redis:
    """A checked Redis client, or a clear error and exit 2."""
    try:
        import scrapy_redis  # noqa: F401

        from crawlers.distributed.queue import connect
    except ImportError:
        fail("distributed crawling needs the redis extra: pip install 'teaserfeed[redis]'")
    try:
        return connect(url)
    except TeaserfeedError as exc:
        fail(str(exc))


def crawl_worker(
    configs: Sequence[SiteConfig],
    redis_url: str,
    archive_path: Path,
    settings: dict[str, Any],
    *,
    reconcile: bool = False,
) -> None:
    """Run this process as one worker of the crawl shared through Redis, then exit."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawlers.distributed.queue import redact
    from crawlers.spiders.distributed import DistributedTeaserSpider

    _connect(redis_url).close()
    if reconcile and not archive_path.exists():
        fail(
            f"--reconcile reads the archive to find teasers whose article never arrived, "
            f"and {archive_path} does not exist: give --archive the file `teaserfeed ingest` "
            "writes (or a copy of it)"
        )
    crawl_settings = Settings()
    crawl_settings.setmodule("crawlers.settings", priority="project")
    crawl_settings.set("TEASERFEED_ARCHIVE", str(archive_path), priority="cmdline")
    crawl_settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    crawl_settings.set("REDIS_URL", redis_url, priority="cmdline")
    for key, value in settings.items():
        crawl_settings.set(key, value, priority="cmdline")
    started = time.monotonic()
    process = CrawlerProcess(crawl_settings)
    crawler = process.create_crawler(DistributedTeaserSpider)
    records_at_log_level(crawler)
    with root_log_level_kept():
        process.crawl(crawler, configs=list(configs), reconcile=reconcile)
        process.start()
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    reason = str(stats.get("finish_reason", "not started"))
    gen = stats.get("teaserfeed/generation")
    if not gen:
        fail(f"the worker did not join the crawl ({reason}); see the messages above", 1)
    joined = "opened" if stats.get("teaserfeed/generation_opened") else "joined"
    click.echo(
        f"teaserfeed: worker {stats.get('teaserfeed/worker')} {reason} in "
        f"{time.monotonic() - started:.1f} s ({joined} generation {gen})"
    )
    items = {k: stats.get(f"teaserfeed/redis_items/{k}", 0) for k in ("teaser", "article")}
    rows = [
        ("pages fetched", stats.get("downloader/response_count", 0)),
        ("items queued", stats.get("teaserfeed/redis_items", 0)),
        ("articles", f"{items['article']} fetched, "
                     f"{stats.get('teaserfeed/articles_known', 0)} already archived"),
        ("teasers", items["teaser"]),
    ]  # fmt: skip
    if reconcile:
        rows.append(("re-queued", stats.get("teaserfeed/reconciled", 0)))
    items_lost = int(stats.get("teaserfeed/redis_undelivered/items", 0))
    requests_lost = int(stats.get("teaserfeed/redis_undelivered/requests", 0))
    if items_lost or requests_lost:
        rows.append(("not delivered", f"{items_lost} items, {requests_lost} new requests "
                                      "(Redis was away)"))  # fmt: skip
    if stats.get("teaserfeed/redis_counted_lost"):
        rows.append(("counted lost", "Redis was out of reach longer than the worker TTL"))
    for label, value in rows:
        click.echo(f"  {label:<15} {value}")
    if stats.get("teaserfeed/generation_ended"):
        click.echo(f"  generation {gen} ended with this worker")
    click.echo(f"the archive is written by: teaserfeed ingest --redis {redact(redis_url)}")
    unfinished = items_lost or requests_lost or stats.get("teaserfeed/redis_counted_lost")
    if reason != "finished" or unfinished:
        if items_lost or requests_lost:
            click.echo(
                f"teaserfeed: this worker did not finish ({reason}): what it did not deliver "
                "is fetched again by `teaserfeed crawl --redis "
                f"{redact(redis_url)} --reconcile --archive ARCHIVE` once Redis is back "
                "(or by the next generation's worker that reads the archive)",
                err=True,
            )
        raise SystemExit(1)


@click.command(short_help="Write a distributed crawl's items from Redis into the archive.")
@click.option(
    "--redis",
    "redis_url",
    required=True,
    metavar="URL",
    help=f"The Redis database the `crawl --redis` workers push to ({REDIS_METAVAR}).",
)
@archive_option
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Exit once no message came for this long (default: run until stopped).",
)
@click.option("--once", is_flag=True, help="Store what is queued now, then exit (--idle-exit 0).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Messages stored per archive transaction.",
)
@click.option(
    "--retry-for",
    type=click.FloatRange(min=0),
    default=TEASERFEED_REDIS_RETRY_FOR,
    show_default=True,
    metavar="SECONDS",
    help="While Redis is away, retry this long before giving up (inf: for ever).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each generation and problem (INFO).")
def ingest(
    redis_url: str,
    archive_path: Path,
    idle_exit: float | None,
    once: bool,
    batch_size: int,
    retry_for: float,
    verbose: bool,
) -> None:
    """Drain the items that `teaserfeed crawl --redis URL` workers queue into the archive.

    This is the one process that writes the archive of a distributed crawl. It takes a
    batch of messages, stores it in one transaction and only then removes it from
    Redis, so it can be stopped or killed at any point and started again. Each crawl
    generation (workers that ran together) becomes one run in the archive, finished
    when its last worker leaves. It also keeps the URLs of archived articles in Redis
    so that workers on other machines skip them.

    Run it alongside the workers (it waits for messages), or from cron after them
    with --once or --idle-exit SECONDS. While Redis is away it retries with back-off
    for --retry-for seconds. Messages of a generation this archive did not see open,
    or has finished (replayed from an older Redis snapshot), are counted as stale and
    not stored.

    Exit status: 0 when stopped or idle, 1 when storing failed or Redis stayed away
    (what was not stored stays queued), 2 for a usage, Redis or archive error, 3 when
    a run it finished did not finish cleanly (a worker was lost: reconcile), 75 when
    the archive is locked by another writer or another ingest drains the same Redis
    database.
    """
    import redis

    from crawlers.distributed.ingest import Ingest, IngestBusyError
    from crawlers.distributed.queue import RedisUnavailableError, redact

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    client = _connect(redis_url)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    job = Ingest(client, archive_path, batch_size=batch_size, retry_for=retry_for)
    try:
        report = job.run(idle_exit=0.0 if once else idle_exit, stop=stop)
    except (ArchiveLockedError, IngestBusyError) as exc:
        fail(str(exc), EXIT_BUSY)
    except RedisUnavailableError as exc:
        _print_report(archive_path, job.report)
        fail(str(exc), 1)
    except (ArchiveError, sqlite3.Error, redis.RedisError) as exc:
        report = job.report
        if report.messages == 0 and isinstance(exc, ArchiveError):
            fail(str(exc))
        _print_report(archive_path, report)
        fail(f"stopped: {exc}; what was not stored stays queued in Redis", 1)
    _print_report(archive_path, report)
    unfinished = sorted(r for r, st in report.runs.items() if st not in ("finished", "running"))
    if unfinished:
        click.echo(
            f"teaserfeed: run {', '.join(map(str, unfinished))} did not finish cleanly: "
            "reconcile is required; the next generation's worker that reads the archive "
            f"does it, or now: teaserfeed crawl --redis {redact(redis_url)} --reconcile "
            f"--archive {archive_path}",
            err=True,
        )
        raise SystemExit(EXIT_UNFINISHED)


def _print_report(archive_path: Path, report: Any) -> None:
    counts = report.counts
    rate = counts["messages"] / report.seconds if report.seconds > 0 else 0.0
    click.echo(
        f"teaserfeed: ingested {counts['messages']} messages into {archive_path} "
        f"in {report.seconds:.1f} s ({rate:.0f}/s)"
    )
    rows = [
        ("teasers", f"{counts['teasers']} ({counts['teasers_new']} new)"),
        (
            "articles",
            f"{counts['articles_new']} new, {counts['articles_updated']} updated, "
            f"{counts['articles_unchanged']} unchanged",
        ),
        ("fetches", str(counts["fetches"])),
    ]
    if counts["store_errors"] or counts["rejected"]:
        rows.append(("problems", f"{counts['store_errors']} not stored, "
                                 f"{counts['rejected']} unreadable"))  # fmt: skip
    if counts["stale"]:
        rows.append(("stale", f"{counts['stale']} messages of generations not current in this "
                              "archive, not stored (a replayed Redis snapshot?)"))  # fmt: skip
    if counts["redis_errors"]:
        rows.append(("redis", f"away {counts['redis_outages']} time(s), waited and went on"))
    if report.runs:
        rows.append(("runs", ", ".join(f"{r} ({s})" for r, s in sorted(report.runs.items()))))
    for label, value in rows:
        click.echo(f"  {label:<9} {value}")
