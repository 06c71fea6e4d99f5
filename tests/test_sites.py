"""Site configuration: valid files load, invalid ones name the site, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.errors import SiteConfigError, UnknownSiteError
from crawlers.sites import SiteConfig, load_sites, parse_sites, select_sites

GOOD = """
[sites.example-news]
start_urls = ["https://news.example.org/world", "https://news.example.org/tech"]
teaser    = "article.teaser"
link      = "a.read-more::attr(href)"
title     = "h2"
excerpt   = "p.lead"
date      = "time::attr(datetime)"
image     = "img::attr(src)"
next_page = "a[rel=next]::attr(href)"
article_url_pattern = "/\\\\d{4}/\\\\d{2}/"
max_pages = 3
strip     = [".donate-box", ".newsletter"]

[sites.auto]
start_urls = ["https://other.example.net/"]
"""


def test_valid_file_loads_every_field(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(GOOD, encoding="utf-8")
    sites = load_sites(path)
    assert sorted(sites) == ["auto", "example-news"]
    news = sites["example-news"]
    assert news.start_urls == ("https://news.example.org/world", "https://news.example.org/tech")
    assert news.link == "a.read-more::attr(href)"
    assert news.max_pages == 3
    assert news.strip == (".donate-box", ".newsletter")
    assert news.selector_mode
    assert news.url_pattern is not None
    assert news.url_pattern.search("https://news.example.org/2026/11/x")
    assert not sites["auto"].selector_mode
    assert sites["auto"].max_pages == 5
    assert news.config_hash != sites["auto"].config_hash
    assert news.as_dict()["start_urls"] == list(news.start_urls)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nteaser = "div["', "[sites.a] key 'teaser': invalid CSS selector 'div['"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\ncolour = "red"', "[sites.a] key 'colour': unknown key"),
        ('[sites.a]\nstart_urls = ["ftp://x.org/"]', "[sites.a] key 'start_urls': 'ftp://x.org/' is not an absolute http(s) URL"),
        ("[sites.a]\nstart_urls = []", "[sites.a] key 'start_urls': must be a non-empty list"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\narticle_url_pattern = "(unclosed"', "[sites.a] key 'article_url_pattern': invalid regular expression"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nmax_pages = 0', "[sites.a] key 'max_pages': must be a whole number of at least 1"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nstrip = [".ok", "p[["]', "[sites.a] key 'strip': invalid CSS selector 'p[['"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\ntitle = "h2"', "[sites.a] key 'teaser': field selectors need a 'teaser' block selector"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nmode = "fast"', "[sites.a] key 'mode': must be \"auto\" or \"selectors\", not 'fast'"),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nmode = "auto"\nteaser = "div.card"\ntitle = "h2"', "[sites.a] key 'teaser': mode = \"auto\" finds teasers itself and uses no teaser selectors; remove 'teaser', 'title' or set mode = \"selectors\""),
        ('[sites.a]\nstart_urls = ["https://x.org/"]\nmode = "selectors"', "[sites.a] key 'teaser': mode = \"selectors\" needs a 'teaser' block selector"),
        ("[sites.a\nstart_urls = 1", "not valid TOML"),
        ("[other]\nx = 1", "unknown top-level table 'other'"),
        ("", "no sites defined"),
    ],
)  # fmt: skip
def test_invalid_config_names_site_key_and_reason(text: str, expected: str) -> None:
    with pytest.raises(SiteConfigError) as info:
        parse_sites(text, "my-sites.toml")
    message = str(info.value)
    assert message.startswith("my-sites.toml")
    assert expected in message


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match=r"nope\.toml: no such file; .*--sites"):
        load_sites(tmp_path / "nope.toml")


def test_select_sites_unknown_name_lists_configured() -> None:
    sites = parse_sites(GOOD)
    assert [s.name for s in select_sites(sites, [])] == ["example-news", "auto"]
    assert [s.name for s in select_sites(sites, ["auto"])] == ["auto"]
    with pytest.raises(
        UnknownSiteError, match="unknown site 'nope'; configured sites: auto, example-news"
    ):
        select_sites(sites, ["nope"])


def test_for_url_is_automatic_single_page() -> None:
    config = SiteConfig.for_url("https://news.example.org/world/")
    assert config.name == "news-example-org"  # as `sites suggest` names it
    assert config.start_urls == ("https://news.example.org/world/",)
    assert not config.selector_mode
    assert config.max_pages == 1
    with pytest.raises(SiteConfigError, match="not an absolute http"):
        SiteConfig.for_url("news.example.org/world")


def test_mode_defaults_from_teaser_and_can_be_set() -> None:
    sites = parse_sites(
        GOOD
        + '\n[sites.explicit]\nstart_urls = ["https://x.org/"]\nmode = "auto"\n'
        + 'next_page = "a.older::attr(href)"\nmax_pages = 2\n'
    )
    assert sites["example-news"].mode == "selectors"
    assert sites["auto"].mode == "auto"
    explicit = sites["explicit"]
    assert explicit.mode == "auto"
    assert not explicit.selector_mode
    assert explicit.next_page == "a.older::attr(href)"
    # the implied mode is not recorded, so configs written before `mode` keep their hash
    assert "mode" not in sites["auto"].as_dict()
    assert "mode" not in sites["example-news"].as_dict()
    assert (
        SiteConfig(name="x", start_urls=("https://x.org/",), teaser="div", mode="auto").as_dict()[
            "mode"
        ]
        == "auto"
    )
