"""Requests per run on the demo site: a full crawl vs incremental runs as the newsroom moves on.

    .venv/bin/python benchmarks/incremental.py

Each run is a real `teaserfeed crawl` process with its clock set (TEASERFEED_NOW) against a
demo server on loopback whose own clock the script moves; the server counts the requests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.demo import demo_sites_toml, serve_demo

BIN = Path(sys.executable).parent
T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def main() -> None:
    """Run the scenario and print one line per run."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve_demo() as server:
        sites = Path(tmp) / "sites.toml"
        sites.write_text(demo_sites_toml(server.url), encoding="utf-8")
        archive = Path(tmp) / "news.db"
        steps: list[tuple[str, timedelta, int, bool]] = [
            ("full crawl (empty archive)", timedelta(0), 0, False),
            ("nothing new", timedelta(minutes=15), 0, False),
            ("2 new articles", timedelta(minutes=30), 2, False),
            ("nothing new", timedelta(minutes=45), 0, False),
            ("1 h later: revisits due, 1 edited", timedelta(hours=1, minutes=10), 0, True),
            ("nothing new", timedelta(hours=1, minutes=25), 0, False),
        ]
        for label, offset, news, edit in steps:
            server.clock = T0 + offset - timedelta(minutes=1)
            if news:
                server.publish(news)
            if edit:
                server.edit(server.site.ok_articles[3].path)
            served = len(server.requests)
            proc = subprocess.run(
                [
                    str(BIN / "teaserfeed"),
                    "crawl",
                    "--sites",
                    str(sites),
                    "--archive",
                    str(archive),
                    "-s",
                    "DOWNLOAD_DELAY=0",
                    "-s",
                    "AUTOTHROTTLE_ENABLED=0",
                    "-s",
                    f"TEASERFEED_NOW={(T0 + offset).isoformat()}",
                    # the demo site is on loopback, refused otherwise (SSRF guard)
                    "--allow-address",
                    "127.0.0.1",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode not in (0, 3):
                sys.exit(f"crawl failed ({proc.returncode}): {proc.stderr[-2000:]}")
            requests = [p for _, p, _ in server.requests[served:] if p != "/robots.txt"]
            listings = sum(1 for p in requests if p in server.site.listing_paths)
            rows.append(
                {
                    "run": label,
                    "requests": len(requests),
                    "listing": listings,
                    "article": len(requests) - listings,
                }
            )
    print(f"{'run':<36} {'requests':>8} {'listing':>8} {'article':>8}")
    for row in rows:
        print(f"{row['run']:<36} {row['requests']:>8} {row['listing']:>8} {row['article']:>8}")
    full, steady = rows[0]["requests"], rows[1]["requests"]
    print(f"steady-state run / full crawl = {steady}/{full} = {steady / full:.3f}")
    Path(__file__).with_name("incremental-report.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
