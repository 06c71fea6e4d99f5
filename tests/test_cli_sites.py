"""`teaserfeed sites suggest` and `sites check` as a user runs them, against the demo site."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from crawlers.cli import main
from crawlers.demo import DemoServer, DemoSite, demo_sites_toml
from crawlers.extract.listing import find_teasers
from crawlers.settings import USER_AGENT
from crawlers.sites import parse_sites

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def teaserfeed(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_suggest_prints_a_block_whose_selectors_find_the_listing(
    demo_server: DemoServer, demo_site: DemoSite
) -> None:
    url = f"{demo_server.url}/science/"
    result = teaserfeed("sites", "suggest", url, "--name", "demo-science")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[sites.demo-science]\n")
    config = parse_sites(result.stdout)["demo-science"]
    assert config.mode == "selectors"
    assert config.next_page is not None
    html = demo_site.render("/science/", demo_server.url)
    assert html is not None
    found = find_teasers(html, url, config)
    assert {t.url for t in found} == {
        demo_server.url + t.href for t in demo_site.teasers_on("/science/")
    }
    assert [t.title for t in found] == [
        t.title for t in find_teasers(html, url) if t.region == "main"
    ]
    # the preview lists the first teasers as comments
    assert f"#  1. {found[0].title}" in result.stdout
    assert "match in every field" in result.stdout
    # a polite fetch: robots.txt first, our user agent on both requests
    requests = [r for r in demo_server.requests if r[1] in ("/robots.txt", "/science/")]
    assert {r[2] for r in requests} == {USER_AGENT}


def test_suggest_errors_are_one_line_and_exit_2(demo_server: DemoServer) -> None:
    runner = CliRunner()
    for url, message in [
        (f"{demo_server.url}/no-such-page/", "HTTP 404"),
        (f"{demo_server.url}/private/listing/", "robots.txt does not allow"),
        ("news.example.org/world", "is not an absolute http(s) URL"),
        (f"{demo_server.url}/rss.xml", "not an HTML page"),
        ("http://127.0.0.1:9/", "cannot connect"),
    ]:
        result = runner.invoke(main, ["sites", "suggest", url])
        assert result.exit_code == 2, (url, result.output)
        assert result.stderr.startswith("teaserfeed: "), result.stderr
        assert message in result.stderr, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert len(result.stderr.strip().splitlines()) == 1


def test_check_reports_each_site_and_fails_when_one_has_no_teasers(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text(
        demo_sites_toml(demo_server.url)
        + f'\n[sites.auto-science]\nstart_urls = ["{demo_server.url}/science/"]\n'
        + f'\n[sites.about-page]\nstart_urls = ["{demo_server.url}/about/"]\nteaser = "div.teaser"\n',
        encoding="utf-8",
    )
    result = teaserfeed("sites", "check", "--sites", str(sites))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert f"demo-news: ok (selectors mode) {demo_server.url}/world/" in out
    assert "  teasers: 12; with title 12, excerpt 12, date 12, image 12" in out
    assert "  teaser    'main article.teaser': 12/12" in out
    assert f"  next page: {demo_server.url}/world/page/2/" in out
    assert "auto-science: ok (auto mode)" in out
    assert "about-page: FAILED (selectors mode)" in out
    assert "  problem: teaser selector 'div.teaser' matches nothing" in out
    assert out.rstrip().endswith("3 site(s) checked, 1 without teasers")

    good = teaserfeed("sites", "check", "--sites", str(sites), "demo-news", "auto-science")
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.rstrip().endswith("2 site(s) checked, 0 without teasers")


def test_check_configuration_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["sites", "check", "--sites", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[sites.a]\nstart_urls = ["https://x.org/"]\nmode = "sometimes"\n', encoding="utf-8"
    )
    result = runner.invoke(main, ["sites", "check", "--sites", str(bad)])
    assert result.exit_code == 2
    assert "key 'mode'" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text('[sites.a]\nstart_urls = ["https://x.org/"]\n', encoding="utf-8")
    unknown = runner.invoke(main, ["sites", "check", "--sites", str(good), "zzz"])
    assert unknown.exit_code == 2
    assert "unknown site 'zzz'" in unknown.stderr
