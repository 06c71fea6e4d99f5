"""Test-only extraction jobs that kill or hang their worker on a marked page, a tiny site
of such pages on loopback, and a launcher of `teaserfeed` with those jobs in place.

The jobs are module-level functions so that the pool's workers import them by name;
`python -m tests.pool_hooks crawl …` runs the CLI with the spider's article job replaced.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crawlers.jobs import ArticleJob, ArticleResult, extract_article_page

DIE = b"<!-- tf-test:die -->"  # the worker SIGKILLs itself on this page
HANG = b"<!-- tf-test:hang -->"  # the worker sleeps for an hour on this page


def doomed_article(job: ArticleJob) -> ArticleResult:
    """extract_article_page, but a page marked DIE kills its worker and HANG stalls it."""
    if DIE in job.body:
        os.kill(os.getpid(), signal.SIGKILL)
    if HANG in job.body:
        time.sleep(3600)
    return extract_article_page(job)


def double(x: int) -> int:
    """A job for the pool's own tests."""
    return 2 * x


def exit_now(code: int) -> int:
    """A worker that exits in the middle of its job."""
    os._exit(code)


def sleep_for(seconds: float) -> float:
    """A job that takes its time."""
    time.sleep(seconds)
    return seconds


def fail(message: str) -> None:
    """A job that raises."""
    raise ValueError(message)


def niceness(_: object) -> int:
    """The worker's scheduling niceness."""
    return os.nice(0)


def length(data: bytes) -> int:
    """A job with a large argument."""
    return len(data)


def pid(_: object) -> int:
    """The worker's process id."""
    return os.getpid()


STORIES = 6


def _listing(n: int) -> bytes:
    teasers = "".join(
        f'<article><h2><a href="/news/story-{i}.html">Story number {i} of the harbour news</a>'
        f"</h2><p>What happened at the harbour today, part {i} of the series.</p></article>"
        for i in range(n)
    )
    return f"<html><head><title>Harbour news</title></head><body><main>{teasers}</main></body></html>".encode()


def story(i: int, marker: bytes = b"") -> bytes:
    """An article page; `marker` makes the doomed job kill or stall its worker."""
    paragraphs = "".join(
        f"<p>The harbour master said on day {i} that the ferry number {j} would sail again "
        "after the storm closed the pier for most of the week.</p>"
        for j in range(8)
    )
    return (
        f"<html><head><title>Story {i}</title></head><body>{marker.decode()}<article>"
        f"<h1>Story number {i} of the harbour news</h1>{paragraphs}</article></body></html>"
    ).encode()


class HarbourSite:
    """A listing of STORIES articles on 127.0.0.1; `markers` maps a story number to a marker."""

    def __init__(self, markers: dict[int, bytes] | None = None) -> None:
        pages = {"/news/": _listing(STORIES)}
        for i in range(STORIES):
            pages[f"/news/story-{i}.html"] = story(i, (markers or {}).get(i, b""))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def story_url(self, i: int) -> str:
        """The URL of story i."""
        return f"{self.url}/news/story-{i}.html"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    """`teaserfeed ARGS…` with the doomed article job in the spider."""
    import crawlers.spiders.teasers
    from crawlers.cli import main as cli
    from tests import pool_hooks  # by its name, not __main__: the workers import it so

    crawlers.spiders.teasers.extract_article_page = pool_hooks.doomed_article  # type: ignore[assignment]
    sys.argv = ["teaserfeed", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
