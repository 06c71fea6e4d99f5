"""Crawl throughput and memory: raw aiohttp vs plain Scrapy+trafilatura vs teaserfeed crawl.

All of them fetch the same generated site from a local nginx in one run: (a) raw aiohttp,
(b) the plain spider, (c) `teaserfeed crawl` with its extraction pool (default workers) and
(c0) with `--workers 0` (inline). The script prints pages/s, CPU per page and peak memory for
each, and the ratios c/b, c0/b and c/a. CPU counts every process of the run: the crawl's
extraction workers and their fork server are reaped by this script (a child subreaper),
so their CPU time is in; peak RSS is the largest sum of the RSS of the run's whole process
tree, sampled every 0.1 s (PSS, which splits shared pages between processes, beside it).
For (c) and (c0) it also prints where the CPU went, from each thread's time as last sampled:
the crawl's main (reactor) thread, its other threads (the archive writer, the pool's
manager), the extraction workers and their fork server.

    .venv/bin/python benchmarks/crawl.py                 # 200 listing pages, 4,000 articles
    .venv/bin/python benchmarks/crawl.py --rounds 3      # (b) and (c) three times, alternating
    .venv/bin/python benchmarks/crawl.py --memory        # also peak RSS at 1k/4k/16k articles
    .venv/bin/python benchmarks/crawl.py --pages 0 --memory   # the memory runs only
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.sitegen import TEASERS_PER_PAGE, generate_site, sites_toml  # noqa: E402

BIN = Path(sys.executable).parent
CONCURRENCY = 16
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    index index.html;
    charset utf-8;
  }}
}}
"""


@dataclass
class Measured:
    """One contestant's figures."""

    name: str
    pages: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    max_pss_mb: float = 0.0
    load: str = ""
    parts: dict[str, float] = field(default_factory=dict)  # CPU s by thread or process

    @property
    def pages_per_s(self) -> float:
        """Throughput."""
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        """CPU cost per page."""
        return 1000 * self.cpu_s / self.pages if self.pages else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nginx:
    """A real nginx serving a directory on loopback, started and stopped by PID."""

    def __init__(self, site: Path, work: Path) -> None:
        self.port = _free_port()
        (work / "tmp").mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(root=work, port=self.port, site=site))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)])
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        "nginx did not start; is it installed (apt-get install nginx-light)?"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop nginx by its PID."""
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(timeout=10)


def _become_subreaper() -> None:
    """Orphaned descendants (the crawl's fork server, once the crawl exits) become our
    children, so that their CPU time can be collected with wait4 (Linux only)."""
    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")


def _parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    found[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return found


def _tree(root: int) -> set[int]:
    """root and every process below it."""
    parents = _parents()
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return tree


def _memory_kb(pid: int, pss: bool) -> int:
    path = f"/proc/{pid}/smaps_rollup" if pss else f"/proc/{pid}/status"
    key = "Pss:" if pss else "VmRSS:"
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of a process, by thread id."""
    found = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return found


class TreeMemory:
    """The peak of the summed RSS (and PSS) of a process tree, sampled in a thread; also
    the CPU time of each of its threads as last seen (see `parts`)."""

    def __init__(self, root: int, every: float = 0.1) -> None:
        self.root, self.every = root, every
        self.rss_kb = self.pss_kb = 0
        self.processes = 1
        self._cpu: dict[tuple[int, int], float] = {}
        self._forking: set[int] = set()  # processes with children in the tree: fork servers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.every):
            pids = _tree(self.root)
            self.processes = max(self.processes, len(pids))
            parents = _parents()
            self._forking |= {parents[p] for p in pids if p != self.root and p in parents}
            for pid in pids:
                for tid, seconds in _thread_cpu(pid).items():
                    self._cpu[pid, tid] = seconds
            self.rss_kb = max(self.rss_kb, sum(_memory_kb(p, False) for p in pids))
            if tick % 5 == 0:  # smaps_rollup costs more to read
                self.pss_kb = max(self.pss_kb, sum(_memory_kb(p, True) for p in pids))
            tick += 1

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def parts(self) -> dict[str, float]:
        """CPU seconds by part of the tree: the root's main thread, its other threads (a
        crawl's writer and pool manager), its worker processes and their fork server; each
        thread as last sampled, so up to `every` seconds of a thread's end are missed."""
        parts: dict[str, float] = {}
        for (pid, tid), seconds in self._cpu.items():
            if pid == self.root:
                part = "main thread" if tid == pid else "other threads"
            else:
                part = "fork server" if pid in self._forking else "workers"
            parts[part] = parts.get(part, 0.0) + seconds
        return parts


def _reap_orphans(keep: set[int], timeout: float = 15.0) -> float:
    """CPU seconds of the orphans we inherited (and what they reaped), once they exit."""
    cpu, deadline = 0.0, time.monotonic() + timeout
    me = os.getpid()
    while time.monotonic() < deadline:
        orphans = [p for p, parent in _parents().items() if parent == me and p not in keep]
        if not orphans:
            break
        for pid in orphans:
            try:
                done, _status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                cpu += usage.ru_utime + usage.ru_stime
        time.sleep(0.02)
    return cpu


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def _run_measured(name: str, cmd: list[str], pages: int, cwd: Path) -> Measured:
    keep = {p for p, parent in _parents().items() if parent == os.getpid()}  # nginx
    load = _load()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    memory = TreeMemory(proc.pid)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    memory.stop()
    cpu = usage.ru_utime + usage.ru_stime + _reap_orphans(keep)
    (cwd / f"{name.split(':')[0]}.log").write_bytes(err)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}): {err.decode()[-2000:]}")
    rss = max(memory.rss_kb, usage.ru_maxrss) / 1024
    return Measured(name, pages, wall, cpu, rss, memory.pss_kb / 1024, load, memory.parts())


async def _raw_fetch(urls: list[str]) -> int:
    import aiohttp

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    fetched = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal fetched
        while not queue.empty():
            url = queue.get_nowait()
            async with session.get(url) as response:
                await response.read()
                fetched += response.status == 200

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return fetched


def _articles(db: Path) -> tuple[int, int]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        articles = conn.execute("select count(*) from articles").fetchone()[0]
        fetches = conn.execute("select count(*) from fetches where error_kind is null").fetchone()[
            0
        ]
    finally:
        conn.close()
    return int(articles), int(fetches)


def teaserfeed_cmd(
    base: str, pages: int, work: Path, db: Path, workers: int | None = None
) -> list[str]:
    """The `teaserfeed crawl` command line for the generated site (default workers: None)."""
    sites = work / "sites.toml"
    sites.write_text(sites_toml(base, pages))
    extra = [] if workers is None else ["--workers", str(workers)]
    return [
        str(BIN / "teaserfeed"), "crawl", "bench", "--sites", str(sites), "--archive", str(db), *extra,
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", f"CONCURRENT_REQUESTS={CONCURRENCY}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONCURRENCY}",
        "--allow-address", "127.0.0.1",  # the local nginx: loopback is refused otherwise (SSRF guard)
    ]  # fmt: skip


def _ours(name: str, base: str, pages: int, work: Path, workers: int | None) -> Measured:
    db = work / "bench.db"
    for stale in work.glob("bench.db*"):
        stale.unlink()
    ours = _run_measured(name, teaserfeed_cmd(base, pages, work, db, workers), 0, work)
    articles, fetches = _articles(db)
    ours.pages = fetches
    if articles != pages * TEASERS_PER_PAGE:
        raise SystemExit(f"incomplete run of {name}: {articles} articles")
    return ours


def _parts_row(m: Measured) -> str:
    parts = ", ".join(f"{part} {seconds:.1f}" for part, seconds in sorted(m.parts.items()))
    return f"    {m.name.split(':')[0]} CPU s by part (sampled every 0.1 s): {parts}"


def _row(m: Measured) -> str:
    return (f"{m.name:34} {m.pages:>6} {m.wall_s:>7.1f} {m.pages_per_s:>8.1f} "
            f"{m.cpu_ms_per_page:>12.2f} {m.max_rss_mb:>12.0f} {m.max_pss_mb:>8.0f}  {m.load}")  # fmt: skip


def throughput(pages: int, work: Path, rounds: int = 1) -> dict[str, object]:
    """Run (a), then (b), (c) and (c0) in turn `rounds` times, on one generated site."""
    site = work / "site"
    t0 = time.perf_counter()
    paths = generate_site(site, pages)
    print(f"generated {len(paths)} pages ({pages} listings x {TEASERS_PER_PAGE}) in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    server = Nginx(site, work / "nginx")
    rounds_run: list[tuple[Measured, Measured, Measured]] = []
    try:
        base = server.url
        urls = [base + p for p in paths]
        started = time.perf_counter()
        cpu0 = time.process_time()
        fetched = asyncio.run(_raw_fetch(urls))
        raw = Measured("a: raw aiohttp", fetched, time.perf_counter() - started,
                       time.process_time() - cpu0, 0.0, 0.0, _load())  # fmt: skip
        for _ in range(rounds):
            out = work / "plain.jsonl"
            plain = _run_measured(
                "b: plain Scrapy + trafilatura",
                [str(BIN / "scrapy"), "runspider", str(HERE / "plain_spider.py"), "-a", f"start={base}/news/",
                 "-O", str(out), "-s", "LOG_LEVEL=WARNING", "-s", f"CONCURRENT_REQUESTS={CONCURRENCY}",
                 "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONCURRENCY}", "-s", "TELNETCONSOLE_ENABLED=False"],
                len(paths), work,
            )  # fmt: skip
            with out.open() as lines:
                extracted = sum(1 for _ in lines)
            if extracted != pages * TEASERS_PER_PAGE:
                raise SystemExit(f"incomplete run: plain extracted {extracted}")
            pool = _ours("c: teaserfeed crawl (pool)", base, pages, work, None)
            inline = _ours("c0: teaserfeed crawl --workers 0", base, pages, work, 0)
            rounds_run.append((plain, pool, inline))
            print(_row(plain), _row(pool), _row(inline), sep="\n", flush=True)
            print(_parts_row(pool), _parts_row(inline), sep="\n", flush=True)
    finally:
        server.stop()
    rows = [raw, *(m for trio in rounds_run for m in trio)]
    print(f"\n{'':34} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'CPU ms/page':>12} "
          f"{'peak RSS MB':>12} {'PSS MB':>8}  load 1/5 min")  # fmt: skip
    for m in rows:
        print(_row(m))
    # each round's c and c0 against the b just before them: all ran under the same load
    ratios = [c.pages_per_s / b.pages_per_s for b, c, _ in rounds_run]
    cpu_ratios = [c.cpu_ms_per_page / b.cpu_ms_per_page for b, c, _ in rounds_run]
    inline_ratios = [c0.pages_per_s / b.pages_per_s for b, _, c0 in rounds_run]
    inline_cpu = [c0.cpu_ms_per_page / b.cpu_ms_per_page for b, _, c0 in rounds_run]
    best_c = max(c.pages_per_s for _, c, _ in rounds_run)
    print(f"\narticles archived per teaserfeed run: {pages * TEASERS_PER_PAGE}")
    print(f"throughput c/b per round: {', '.join(f'{r:.2f}' for r in ratios)} (target >= 1.3); "
          f"c/a = {best_c / raw.pages_per_s:.3f}")  # fmt: skip
    print(
        f"CPU per page c/b per round: {', '.join(f'{r:.2f}' for r in cpu_ratios)} (target <= 1.2)"
    )
    print(f"inline: throughput c0/b {', '.join(f'{r:.2f}' for r in inline_ratios)}, "
          f"CPU per page c0/b {', '.join(f'{r:.2f}' for r in inline_cpu)}")  # fmt: skip
    return {
        "pages": pages,
        "runs": [
            {**asdict(m), "pages_per_s": m.pages_per_s, "cpu_ms_per_page": m.cpu_ms_per_page}
            for m in rows
        ],
        "ratio_c_over_b": ratios,
        "cpu_ratio_c_over_b": cpu_ratios,
        "ratio_c0_over_b": inline_ratios,
        "cpu_ratio_c0_over_b": inline_cpu,
        "ratio_c_over_a": best_c / raw.pages_per_s,
    }


def memory(work: Path, sizes: tuple[int, ...] = (50, 200, 800)) -> dict[str, object]:
    """Peak RSS (the process tree's, workers included) of `teaserfeed crawl` at 1k, 4k and
    16k articles."""
    results: list[dict[str, float]] = []
    for pages in sizes:
        run = work / f"mem{pages}"
        generate_site(run / "site", pages)
        server = Nginx(run / "site", run / "nginx")
        try:
            db = run / "bench.db"
            m = _run_measured(f"c at {pages * TEASERS_PER_PAGE} articles",
                              teaserfeed_cmd(server.url, pages, run, db), 0, run)  # fmt: skip
        finally:
            server.stop()
        results.append({"articles": pages * TEASERS_PER_PAGE, "max_rss_mb": m.max_rss_mb,
                        "max_pss_mb": m.max_pss_mb})  # fmt: skip
        print(f"{pages * TEASERS_PER_PAGE:>6} articles: peak RSS {m.max_rss_mb:.0f} MB "
              f"(PSS {m.max_pss_mb:.0f} MB; process tree)  load {m.load}")  # fmt: skip
        shutil.rmtree(run / "site")
    first = float(results[0]["max_rss_mb"])
    for result in results[1:]:
        print(f"peak RSS at {result['articles']} vs {results[0]['articles']} articles: "
              f"{float(result['max_rss_mb']) / first:.2f}x (target within 1.20x)")  # fmt: skip
    growth = max(float(r["max_rss_mb"]) for r in results) / first
    return {"memory": results, "growth": growth}


def main() -> None:
    """Parse arguments, run the benchmarks, write the JSON report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pages", type=int, default=200, help="listing pages (20 articles each); 0: skip"
    )
    parser.add_argument("--rounds", type=int, default=1, help="(b) and (c) runs, alternating")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS at 1k/4k/16k")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--report", type=Path, default=Path("benchmarks/crawl-report.json"))
    args = parser.parse_args()
    _become_subreaper()
    tmp = Path(tempfile.mkdtemp(prefix="tf-bench-"))
    tmp.chmod(0o755)  # nginx's workers run as an unprivileged user
    try:
        report = throughput(args.pages, tmp, args.rounds) if args.pages else {}
        if args.memory:
            report.update(memory(tmp))
    finally:
        if args.keep:
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    args.report.write_text(json.dumps(report, indent=2))
    print(f"report: {args.report}")


if __name__ == "__main__":
    main()
