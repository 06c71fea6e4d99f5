"""Scaling out: pages/s of 1, 2 and 4 Redis workers on a latency-bound site; the ingest rate.

A generated site (benchmarks/sitegen.py) is served from 127.0.0.1 with a fixed delay
before every response, as real sites answer; each worker is polite to it on its own
(CONCURRENT_REQUESTS_PER_DOMAIN, 2 by default), so one worker is latency-bound and N
workers should approach N times its page rate. The script prints pages/s per worker
count, the speedup over 1 worker, and how fast one `teaserfeed ingest` stores what
1 worker produced compared with that worker's own item rate (target: 10x or more).

    .venv/bin/python benchmarks/scaling.py                    # 12 listing pages, 240 articles
    .venv/bin/python benchmarks/scaling.py --delay 0.3 --workers 1,2,4,8

Rates are taken from the server's log (first to last page request), so process start-up
and the idle wait before workers exit do not count; wall times are reported beside them.
The machine's cores are shared: CPU-bound extraction caps the speedup once the workers
need more CPU than is free (see "cpu" in the report).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.sitegen import generate_site, sites_toml  # noqa: E402

BIN = Path(sys.executable).parent
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _SlowHandler(SimpleHTTPRequestHandler):
    """Static files, each after a fixed delay; every request's path and time is logged."""

    delay = 0.2
    log: list[tuple[float, str, str]] = []  # noqa: RUF012 (one server per run)

    def do_GET(self) -> None:
        type(self).log.append((time.monotonic(), self.path, self.headers.get("User-Agent", "")))
        time.sleep(self.delay)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _serve(root: Path, delay: float) -> tuple[ThreadingHTTPServer, str]:
    _SlowHandler.delay = delay
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SlowHandler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _worker_cmd(redis_url: str, work: Path, concurrency: int, agent: str) -> list[str]:
    settings = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": 0,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "TEASERFEED_REDIS_IDLE_CLOSE": 2,
        "TEASERFEED_REDIS_POLL": 0.2,
        "TEASERFEED_PROGRESS": "off",
        "USER_AGENT": agent,
        # the generated site is on loopback, refused otherwise (SSRF guard)
        "TEASERFEED_ALLOWED_ADDRESSES": "127.0.0.1",
    }
    cmd = [str(BIN / "teaserfeed"), "crawl", "--redis", redis_url, "--sites", "sites.toml"]
    cmd += ["--archive", str(work / "none.db")]  # workers on other machines: no archive
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def crawl(workers: int, redis_url: str, work: Path, concurrency: int) -> dict[str, Any]:
    """One distributed crawl by `workers` processes; its page rate from the server log."""
    _SlowHandler.log.clear()
    cpu = _cpu_seconds()
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            _worker_cmd(redis_url, work, concurrency, f"bench-{n}"),
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    outputs = [p.communicate() for p in procs]
    wall = time.monotonic() - started
    failed = [err for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode != 0]
    if failed:
        raise SystemExit(f"a worker failed:\n{failed[0][-2000:]}")
    pages = [(t, p, ua) for t, p, ua in _SlowHandler.log if p != "/robots.txt"]
    if len(pages) != len({p for _, p, _ in pages}):
        raise SystemExit("a page was fetched twice")
    span = pages[-1][0] - pages[0][0] + _SlowHandler.delay
    # once every worker has started fetching: start-up on a busy machine is staggered
    first = {ua: t for t, _, ua in reversed(pages)}
    all_in = max(first.values())
    steady = [t for t, _, _ in pages if t >= all_in]
    steady_span = steady[-1] - all_in + _SlowHandler.delay
    items = sum(
        int(m.group(1)) for out, _ in outputs for m in re.finditer(r"items queued\s+(\d+)", out)
    )
    return {
        "workers": workers,
        "pages": len(pages),
        "seconds": round(span, 2),
        "pages_per_s": round(len(pages) / span, 2),
        "workers_fetching": len(first),
        "all_fetching_pages": len(steady),
        "all_fetching_pages_per_s": round(len(steady) / steady_span, 2),
        "items": items,
        "items_per_s": round(items / span, 2),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu, 2),
    }


def ingest(redis_url: str, work: Path) -> dict[str, Any]:
    """Drain what the workers queued into a new archive; the ingest's own rate."""
    db = work / f"ingest-{time.monotonic_ns()}.db"
    cmd = [str(BIN / "teaserfeed"), "ingest", "--redis", redis_url, "--archive", str(db), "--once"]
    result = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"ingest failed:\n{result.stderr}")
    match = re.search(r"ingested (\d+) messages into .* in ([\d.]+) s", result.stdout)
    articles = re.search(r"articles\s+(\d+) new", result.stdout)
    if match is None or articles is None:
        raise SystemExit(f"unexpected ingest output:\n{result.stdout}")
    messages, seconds = int(match.group(1)), float(match.group(2))
    return {
        "messages": messages,
        "articles": int(articles.group(1)),
        "seconds": seconds,
        "messages_per_s": round(messages / seconds, 1),
        "articles_per_s": round(int(articles.group(1)) / seconds, 1),
    }


def main() -> None:
    """Parse arguments, run the crawls, print the ratios, write the JSON report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=12, help="listing pages (20 articles each)")
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request (s)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight per worker")
    parser.add_argument("--report", type=Path, default=HERE / "scaling-report.json")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="tf-scaling-"))
    redis_port = _free_port()
    redis_proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--bind", "127.0.0.1", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = None
    try:
        generate_site(work / "site", args.pages)
        server, base = _serve(work / "site", args.delay)
        (work / "sites.toml").write_text(sites_toml(base, args.pages), encoding="utf-8")
        time.sleep(0.5)  # redis-server binds
        print(f"site: {args.pages} listing pages, {args.pages * 20} articles, {args.delay} s "
              f"per response; {args.concurrency} requests in flight per worker; "
              f"{os.cpu_count()} CPUs (shared)")  # fmt: skip
        runs = []
        for db, n in enumerate(counts, start=1):
            run = crawl(n, f"redis://127.0.0.1:{redis_port}/{db}", work, args.concurrency)
            runs.append(run)
            print(f"{n} worker(s): {run['pages']} pages in {run['seconds']:.1f} s = "
                  f"{run['pages_per_s']:.1f} pages/s; {run['all_fetching_pages_per_s']:.1f} "
                  f"pages/s once all {run['workers_fetching']} fetched "
                  f"(wall {run['wall_seconds']:.1f} s, CPU {run['cpu_seconds']:.1f} s)")  # fmt: skip
        base, base_steady = runs[0]["pages_per_s"], runs[0]["all_fetching_pages_per_s"]
        for run in runs:
            run["speedup"] = round(run["pages_per_s"] / base, 2)
            run["efficiency"] = round(run["speedup"] / run["workers"], 2)
            run["speedup_all_fetching"] = round(run["all_fetching_pages_per_s"] / base_steady, 2)
        print("speedup vs 1 worker, whole crawl: " + ", ".join(
            f"{r['workers']}: {r['speedup']:.2f}x ({r['efficiency']:.0%} of linear)" for r in runs
        ))  # fmt: skip
        print("speedup vs 1 worker, all workers fetching: " + ", ".join(
            f"{r['workers']}: {r['speedup_all_fetching']:.2f}x" for r in runs
        ))  # fmt: skip
        stored = ingest(f"redis://127.0.0.1:{redis_port}/1", work)
        ratio = stored["messages_per_s"] / runs[0]["items_per_s"]
        print(f"ingest: {stored['messages']} messages ({stored['articles']} articles) in "
              f"{stored['seconds']:.2f} s = {stored['messages_per_s']:.0f} messages/s, "
              f"{stored['articles_per_s']:.0f} articles/s; one worker queued "
              f"{runs[0]['items_per_s']:.1f} items/s: ingest/worker = {ratio:.0f}x (target >= 10x)")  # fmt: skip
        report = {
            "site": {"listing_pages": args.pages, "articles": args.pages * 20,
                     "delay_s": args.delay, "concurrency_per_worker": args.concurrency},
            "cpus": os.cpu_count(),
            "load_average_after": os.getloadavg(),
            "crawls": runs,
            "ingest": stored,
            "ingest_vs_worker_items": round(ratio, 1),
        }  # fmt: skip
        args.report.write_text(json.dumps(report, indent=2))
        print(f"report: {args.report}")
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        os.kill(redis_proc.pid, signal.SIGTERM)
        redis_proc.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
