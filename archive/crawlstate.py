"""Crawl state kept in the archive: listing validators and schedule, revisits, what is left."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .dedup import clean_url, normalize_url

__all__ = [
    "LISTING_KINDS",
    "MAX_TRIES",
    "PERMANENT_ERRORS",
    "RETRY_GONE",
    "ListingState",
    "due_revisits",
    "gone_urls",
    "interrupted_sites",
    "listing_states",
    "record_listing",
    "reset_site",
    "touch_article",
    "unfetched_teasers",
]

# fetch kinds whose URL is polled for teasers and keeps a row in `listings`
LISTING_KINDS = ("listing", "feed", "sitemap")
# A fetch that failed with one of these will fail again: its teaser is not re-queued.
PERMANENT_ERRORS = frozenset(
    {
        "http_4xx",
        "robots",
        "not_html",
        "bot_wall",
        "challenge",
        "too_large",
        "redirect",
        "blocked_address",
    }
)
# A teaser whose article failed this many times in a row is given up.
MAX_TRIES = 5
# An article whose host is unknown (DNS) or whose page is gone (404, 410) is not asked for
# again until this long after that answer (TEASERFEED_RETRY_GONE); then it is tried once more.
RETRY_GONE = 30 * 86400.0
_GONE_STATUSES = (404, 410)
_IN_CLAUSE_MAX = 500


@dataclass(frozen=True)
class ListingState:
    """What the archive knows about one listing, feed or sitemap URL."""

    url: str
    source: str | None
    kind: str | None
    last_fetched: str
    last_status: int | None
    etag: str | None
    last_modified: str | None
    teaser_hash: str | None
    unchanged: int
    failures: int
    next_due: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ListingState:
        """Build from a `listings` row."""
        return cls(
            url=row["url"],
            source=row["source"],
            kind=row["kind"],
            last_fetched=row["last_fetched"],
            last_status=row["last_status"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            teaser_hash=row["teaser_hash"],
            unchanged=int(row["unchanged"] or 0),
            failures=int(row["failures"] or 0),
            next_due=row["next_due"],
        )


def record_listing(db: Database, fetch: Mapping[str, Any], fetched_at: str) -> None:
    """Update a listing's state from one fetch of it (an error keeps its validators)."""
    status, error_kind = fetch.get("status"), fetch.get("error_kind")
    failed = error_kind is not None or (status is not None and status >= 400)
    changed = fetch.get("changed")
    db.execute(
        """
        INSERT INTO listings (url, source, kind, page, first_fetched, last_fetched,
                              last_status, last_error_kind, teasers, times_fetched, failures,
                              etag, last_modified, teaser_hash, unchanged, next_due)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (url) DO UPDATE SET
          source = coalesce(excluded.source, listings.source),
          kind = coalesce(excluded.kind, listings.kind),
          page = coalesce(excluded.page, listings.page),
          last_fetched = excluded.last_fetched,
          last_status = excluded.last_status,
          last_error_kind = excluded.last_error_kind,
          teasers = coalesce(excluded.teasers, listings.teasers),
          times_fetched = listings.times_fetched + 1,
          failures = CASE WHEN excluded.failures = 0 THEN 0 ELSE listings.failures + 1 END,
          etag = CASE WHEN excluded.failures = 0 THEN coalesce(excluded.etag, listings.etag)
                      ELSE listings.etag END,
          last_modified = CASE WHEN excluded.failures = 0
                               THEN coalesce(excluded.last_modified, listings.last_modified)
                               ELSE listings.last_modified END,
          teaser_hash = coalesce(excluded.teaser_hash, listings.teaser_hash),
          unchanged = CASE ? WHEN 1 THEN 0 WHEN 0 THEN listings.unchanged + 1
                             ELSE listings.unchanged END,
          next_due = coalesce(excluded.next_due, listings.next_due)
        """,
        [
            fetch["url"],
            fetch.get("source"),
            fetch["kind"],
            fetch.get("page"),
            fetched_at,
            fetched_at,
            status,
            error_kind,
            fetch.get("teasers"),
            int(failed),
            fetch.get("etag"),
            fetch.get("last_modified"),
            fetch.get("teaser_hash"),
            0 if changed is None else int(not changed),
            fetch.get("next_due"),
            None if changed is None else int(bool(changed)),
        ],
    )


def listing_states(db: Database, urls: Iterable[str]) -> dict[str, ListingState]:
    """The stored state of each of these listing URLs that has been fetched before."""
    wanted = list(dict.fromkeys(urls))
    states: dict[str, ListingState] = {}
    for start in range(0, len(wanted), _IN_CLAUSE_MAX):
        chunk = wanted[start : start + _IN_CLAUSE_MAX]
        cursor = db.execute(
            f"SELECT * FROM listings WHERE url IN ({', '.join('?' * len(chunk))})", chunk
        )
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            state = ListingState.from_row(dict(zip(names, values, strict=True)))
            states[state.url] = state
    return states


def due_revisits(
    db: Database, source: str, now: datetime, schedule: Sequence[float], limit: int
) -> list[tuple[str, str]]:
    """(URL, last fetched) of the site's articles whose next revisit is due at `now`.

    An article is due when some step of the schedule (seconds after first seen) has passed
    and it has not been fetched since that step came due; after the last step, never again.
    """
    steps = sorted(s for s in schedule if s > 0)
    if not steps or limit <= 0:
        return []
    window_start = (now - timedelta(seconds=steps[-1])).isoformat(timespec="seconds")
    # first_seen and last_fetched are ISO 8601 with offsets; julianday() reads both
    rows = db.execute(
        """
        SELECT url, first_seen, last_fetched,
               (julianday(?) - julianday(first_seen)) * 86400.0 AS age,
               (julianday(last_fetched) - julianday(first_seen)) * 86400.0 AS fetched_age
        FROM articles
        WHERE source = ? AND first_seen >= ?
        ORDER BY first_seen
        """,
        [now.isoformat(timespec="seconds"), source, window_start[:10]],
    ).fetchall()
    due: list[tuple[str, str]] = []
    for url, _first, last_fetched, age, fetched_age in rows:
        if age is None or fetched_age is None:
            continue
        passed = [s for s in steps if s <= age]
        if passed and fetched_age < passed[-1]:
            due.append((url, last_fetched))
            if len(due) >= limit:
                break
    return due


def touches_article(fetch: Mapping[str, Any]) -> bool:
    """Whether storing this fetch writes to a stored article (a 304 refreshes its state)."""
    return fetch.get("kind") == "article" and fetch.get("status") == 304


def touch_article(db: Database, url: str, fetched_at: str, run_id: int | None) -> bool:
    """Mark an article as fetched (its server said 304 Not Modified); False if unknown."""
    cursor = db.execute(
        """
        UPDATE articles SET last_fetched = max(last_fetched, ?),
                            last_run_id = coalesce(?, last_run_id)
        WHERE id = (SELECT article_id FROM article_urls WHERE url_key = ?)
        """,
        [fetched_at, run_id, normalize_url(url)],
    )
    return cursor.rowcount > 0


def gone_urls(
    db: Database, urls: Iterable[str], now: datetime, retry_after: float = RETRY_GONE
) -> set[str]:
    """The article URLs among `urls` whose latest fetch, less than `retry_after` seconds
    before `now`, found them gone: HTTP 404/410, or a host that does not resolve (counted
    only when that run got some answer, so the resolver itself was working)."""
    gone: set[str] = set()
    answered: dict[int | None, bool] = {}
    wanted = sorted(set(urls))
    for start in range(0, len(wanted), _IN_CLAUSE_MAX):
        chunk = wanted[start : start + _IN_CLAUSE_MAX]
        marks = ", ".join("?" * len(chunk))
        # each URL's latest article fetch, for the whole chunk in one query
        rows = db.execute(
            "SELECT f.url, f.error_kind, f.status, f.fetched_at, f.run_id FROM fetches f "
            "JOIN (SELECT url, max(id) AS id FROM fetches "
            f"WHERE kind = 'article' AND url IN ({marks}) GROUP BY url) latest "
            "ON f.id = latest.id",
            chunk,
        ).fetchall()
        for url, kind, status, stamp, run_id in rows:
            if not _recent(stamp, now, retry_after):
                continue
            if kind == "http_4xx" and status in _GONE_STATUSES:
                gone.add(url)
            elif kind == "dns":
                if run_id not in answered:
                    answered[run_id] = _run_got_answers(db, run_id)
                if answered[run_id]:
                    gone.add(url)
    return gone


def _recent(stamp: str | None, now: datetime, seconds: float) -> bool:
    try:
        moment = datetime.fromisoformat(stamp or "")
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return now - moment < timedelta(seconds=seconds)


def _run_got_answers(db: Database, run_id: int | None) -> bool:
    """True when some fetch of the run got an HTTP answer (a DNS failure then means the host)."""
    if run_id is None:
        return False
    row = db.execute(
        "SELECT 1 FROM fetches WHERE run_id = ? AND status IS NOT NULL LIMIT 1", [run_id]
    ).fetchone()
    return row is not None


def unfetched_teasers(
    db: Database,
    sources: Sequence[str] | None = None,
    limit: int = 1000,
    accept: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    retry_gone: float = RETRY_GONE,
) -> list[tuple[str, str]]:
    """(site, article URL) of main-region teasers whose article never arrived.

    Left out: URLs whose latest fetch failed for good (see PERMANENT_ERRORS) or found them
    gone less than `retry_gone` seconds before `now` (see gone_urls), and URLs `accept`
    refuses (e.g. another site's, which the crawl does not follow).
    """
    where = ""
    params: list[Any] = []
    if sources:
        where = f"AND t.source IN ({', '.join('?' * len(sources))})"
        params = list(sources)
    rows = db.execute(
        f"""
        SELECT t.source, t.url, max(t.last_seen) AS seen FROM teasers t
        WHERE t.article_id IS NULL AND coalesce(t.region, 'main') = 'main'
          AND NOT EXISTS (SELECT 1 FROM article_urls u WHERE u.url_key = t.url_key) {where}
        GROUP BY t.url_key ORDER BY seen DESC
        """,
        params,
    ).fetchall()
    result: list[tuple[str, str]] = []
    for source, url, _seen in rows:
        fetch_url = clean_url(url)
        if accept is not None and not accept(fetch_url):
            continue
        tries = db.execute(
            "SELECT error_kind FROM fetches WHERE url = ? ORDER BY id DESC LIMIT ?",
            [fetch_url, MAX_TRIES],
        ).fetchall()
        if tries and (tries[0][0] in PERMANENT_ERRORS or len(tries) >= MAX_TRIES):
            continue
        if tries and gone_urls(db, [fetch_url], now or datetime.now(UTC), retry_gone):
            continue
        result.append((source, fetch_url))
        if len(result) >= limit:
            break
    return result


def interrupted_sites(db: Database, sites: Sequence[str], before_run: int | None) -> set[str]:
    """Sites whose latest run before `before_run` did not finish (killed or failed)."""
    rows = db.execute(
        "SELECT id, status, sites FROM runs WHERE ? IS NULL OR id < ? ORDER BY id DESC",
        [before_run, before_run],
    )
    pending = set(sites)
    interrupted: set[str] = set()
    for _run_id, status, sites_json in rows:
        if not pending:
            break
        try:
            names = set(json.loads(sites_json or "[]"))
        except ValueError:
            continue
        for name in names & pending:
            pending.discard(name)
            if status != "finished":
                interrupted.add(name)
    return interrupted


def reset_site(db: Database, source: str) -> int:
    """Forget the crawl state of a site's listings (validators, hashes, schedule)."""
    return db.execute("DELETE FROM listings WHERE source = ?", [source]).rowcount
