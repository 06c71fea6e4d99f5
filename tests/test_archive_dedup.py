"""URL normalisation (dedup keys), fetch-URL cleaning and content hashes."""

from __future__ import annotations

import random
import string

import pytest

from archive import clean_url, content_hash, normalize_url
from archive.dedup import is_tracking_param, teaser_key

NORMALIZE_CASES = [
    # scheme and host lower-cased, default ports dropped, fragment dropped
    ("HTTP://Example.COM/a", "http://example.com/a"),
    ("https://Example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com/a#comments", "https://example.com/a"),
    # trailing slash stripped except for the root; empty path is the root
    ("https://example.com/world/", "https://example.com/world"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com", "https://example.com/"),
    # tracking parameters dropped, the rest sorted
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?b=2&fbclid=xyz&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?gclid=1&mc_cid=2&mc_eid=3&ref=hn", "https://example.com/a"),
    ("https://example.com/a?UTM_Campaign=x&id=7", "https://example.com/a?id=7"),
    # content parameters courlan would drop are kept
    ("https://example.com/a?page=2&gallery=3", "https://example.com/a?gallery=3&page=2"),
    ("https://example.com/a?source=rss&print", "https://example.com/a?print&source=rss"),
    ("https://example.com/index.php?p=123", "https://example.com/index.php?p=123"),
    # host kept as is (www and subdomains are different hosts)
    ("https://www.example.com/a", "https://www.example.com/a"),
    # dot segments, double slashes, escapes
    ("https://example.com/a//b/../c/./d", "https://example.com/a/c/d"),
    ("https://example.com/%7euser/%e2%82%ac", "https://example.com/~user/%E2%82%AC"),
    ("https://example.com/ä ö", "https://example.com/%C3%A4%20%C3%B6"),
    ("https://xn--mnchen-3ya.de/x", "https://münchen.de/x"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://example.com/a;jsessionid=ABC123/b", "https://example.com/a/b"),
    # surrounding whitespace and embedded newlines
    ("  https://example.com/a\n/b  ", "https://example.com/a/b"),
    ("http://[::1]:80/x", "http://[::1]/x"),
    ("https://user:pw@Example.com:8080/", "https://user:pw@example.com:8080/"),
]

GARBAGE = [
    "",
    "   ",
    "garbage",
    "mailto:someone@example.com",
    "javascript:void(0)",
    "ftp://example.com/file",
    "//example.com/scheme-relative",
    "/relative/path",
    "http://",
    "http:///path-without-host",
    "http://[::1",
    "https://example.com:abc/p",
    "https://example.com:99999999/p",
    "\udcff",
    "http://example.com/\udcff",
    "http://exa mple.com/",
    "http://%zz/",
    "https://" + "a" * 100_000,
    "https://example.com/" + "é/" * 20_000 + "?x=" + "%" * 5000,
    "\x00\x01\x02",
    "http://例子.测试/路径?查询=值#片段",
]


@pytest.mark.parametrize(("url", "expected"), NORMALIZE_CASES)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
    assert normalize_url(expected) == expected


@pytest.mark.parametrize("url", GARBAGE)
def test_normalize_url_never_raises_and_is_idempotent(url: str) -> None:
    key = normalize_url(url)
    assert isinstance(key, str)
    assert normalize_url(key) == key
    assert isinstance(clean_url(url), str)


def test_non_http_urls_come_back_stripped() -> None:
    assert normalize_url("  mailto:a@b.c ") == "mailto:a@b.c"
    assert normalize_url("/relative/") == "/relative/"


def test_normalize_url_idempotent_on_random_strings() -> None:
    rnd = random.Random(20261123)
    alphabet = string.printable + "üß€%/?#&=:;@[]\u200b"
    for _ in range(20_000):
        prefix = rnd.choice(["", "http://", "https://", "HTTPS://Ex.com", "https://x.org/"])
        url = prefix + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        key = normalize_url(url)
        assert normalize_url(key) == key, (url, key)
        clean_url(url)


def test_variants_share_a_key() -> None:
    variants = [
        "https://news.example.org/2024/05/story",
        "https://news.example.org/2024/05/story/",
        "https://NEWS.example.org:443/2024/05/story?utm_source=twitter#top",
        "https://news.example.org/2024/05/story?fbclid=abc&utm_medium=social",
        "https://news.example.org/2024/05/./story",
    ]
    assert len({normalize_url(url) for url in variants}) == 1


def test_clean_url_keeps_the_path_and_drops_tracking() -> None:
    assert clean_url("https://ex.com/a/?utm_source=x#frag") == "https://ex.com/a/"
    assert clean_url("https://ex.com/a/?b=2&utm_source=x&a=1") == "https://ex.com/a/?b=2&a=1"
    assert clean_url("https://Ex.com/A/B/?x=1") == "https://Ex.com/A/B/?x=1"
    assert clean_url("  https://ex.com/a  ") == "https://ex.com/a"
    assert clean_url("mailto:x@y.z") == "mailto:x@y.z"
    assert clean_url("https://ex.com/a?print") == "https://ex.com/a?print"


def test_clean_url_and_normalize_url_agree_on_the_key() -> None:
    url = "https://ex.com/a/b/?z=1&utm_campaign=c&a=2#x"
    assert normalize_url(clean_url(url)) == normalize_url(url)


@pytest.mark.parametrize(
    ("name", "tracking"),
    [
        ("utm_source", True),
        ("UTM_MEDIUM", True),
        ("fbclid", True),
        ("gclid", True),
        ("mc_eid", True),
        ("ref", True),
        ("ref_src", True),
        ("id", False),
        ("page", False),
        ("source", False),
        ("refresh", False),
        ("gallery", False),
        ("q", False),
    ],
)
def test_is_tracking_param(name: str, tracking: bool) -> None:
    assert is_tracking_param(name) is tracking


def test_content_hash_ignores_whitespace_and_case() -> None:
    base = content_hash("A Title", "Body text.\n\nSecond para.")
    assert content_hash("  a   title ", "body TEXT. second para.") == base
    assert content_hash("A Title", "Body text. Second para!") != base
    assert content_hash(None, None) == content_hash("", "")
    assert len(base) == 64
    # title and body do not bleed into each other
    assert content_hash("ab", "c") != content_hash("a", "bc")


def test_teaser_key_changes_with_the_headline_only() -> None:
    key = normalize_url("https://ex.com/a")
    first = teaser_key("https://ex.com/world", key, "Headline", "Excerpt")
    assert teaser_key("https://ex.com/world/", key, " Headline ", "Excerpt") == first
    assert teaser_key("https://ex.com/world", key, "New headline", "Excerpt") != first
    assert teaser_key("https://ex.com/europe", key, "Headline", "Excerpt") != first
