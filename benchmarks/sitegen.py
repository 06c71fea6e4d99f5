"""Generate a static teaser site for benchmarks: listing pages and ~60 KB article pages."""

from __future__ import annotations

import argparse
import html
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.demo._prose import StoryWriter

__all__ = ["generate_site", "sites_toml"]

TEASERS_PER_PAGE = 20
_BASE_DATE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _nav(rng: random.Random, links: int) -> str:
    items = "".join(
        f'<li><a href="/topics/{rng.randrange(10_000)}/">Topic {rng.randrange(10_000)}</a></li>'
        for _ in range(links)
    )
    return f'<nav class="menu"><ul>{items}</ul></nav>'


def _blob(rng: random.Random, kind: str, size: int) -> str:
    # Inline CSS/JS as real pages carry it: bulk that the parser must skip.
    words = [f"{kind}{rng.randrange(1000)}" for _ in range(size // 32)]
    if kind == "css":
        return "<style>" + " ".join(f".{w}{{margin:0;padding:1px}}" for w in words) + "</style>"
    return "<script>" + ";".join(f"var {w}=function(){{return 1}}" for w in words) + "</script>"


def _article_page(
    rng: random.Random, writer: StoryWriter, index: int, path: str, related: list[tuple[str, str]]
) -> tuple[str, str, str]:
    published = _BASE_DATE - timedelta(minutes=37 * index)
    story = writer.story("world", published, title=f"Story {index}: news from the region")
    title = f"{story.paragraphs[0].split('.')[0][:70]} ({index})"
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    comments = "".join(
        f'<li class="comment"><b>reader{rng.randrange(999)}</b> '
        f"<p>{html.escape(writer.paragraphs('world', writer.context('world', published), 1)[0])}</p></li>"
        for _ in range(6)
    )
    rel = "".join(f'<li><a href="{h}">{html.escape(t)}</a></li>' for h, t in related)
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": published.isoformat(),
            "author": {"@type": "Person", "name": story.author},
            "description": story.lead,
        }
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | Bench Times</title>
<meta name="description" content="{html.escape(story.lead)}">
<meta property="og:title" content="{html.escape(title)}">
<link rel="canonical" href="{path}">
<script type="application/ld+json">{ld}</script>
{_blob(rng, "css", 12000)}{_blob(rng, "js", 28000)}
</head><body>
<header><a href="/">Bench Times</a>{_nav(rng, 90)}</header>
<main><article class="story">
<h1>{html.escape(title)}</h1>
<p class="byline">By <a rel="author" href="/authors/x/">{html.escape(story.author)}</a></p>
<time datetime="{published.isoformat()}">{published:%d %B %Y}</time>
<p class="standfirst">{html.escape(story.lead)}</p>
<figure><img src="/img/{index}.jpg" alt="{html.escape(story.image_alt)}">
<figcaption><span class="caption">{html.escape(story.caption)}</span>
<span class="credit">{html.escape(story.credit)}</span></figcaption></figure>
<div class="story-body">{paragraphs}
<div class="newsletter-box"><h3>Sign up</h3><p>Get the morning briefing in your inbox.</p></div>
</div>
<div class="share-buttons">Share this article: <a>Facebook</a> <a>Email</a></div>
<aside class="support-appeal"><p>We have a small favour to ask. Support independent
journalism today.</p><a href="/support/">Continue</a></aside>
</article>
<section class="related"><h2>Read more</h2><ul>{rel}</ul></section>
<section class="comments"><h2>Comments</h2><ol>{comments}</ol></section>
</main>
<footer>{_nav(rng, 60)}<p>© Bench Times</p></footer>
{_blob(rng, "js", 6000)}
</body></html>"""
    return page, title, story.lead


def _listing_page(
    page_no: int, pages: int, teasers: list[tuple[str, str, str, str]], rng: random.Random
) -> str:
    blocks = "".join(
        f"""<article class="teaser"><a class="thumb" href="{href}"><img src="/img/t{i}.jpg" alt=""></a>
<h2><a href="{href}">{html.escape(title)}</a></h2><p class="lead">{html.escape(lead)}</p>
<time datetime="{date}">{date[:10]}</time> <a class="read-more" href="{href}">Read more</a></article>"""
        for i, (href, title, lead, date) in enumerate(teasers)
    )
    nxt = (
        f'<a rel="next" href="/news/page/{page_no + 1}/">Next &rsaquo;</a>'
        if page_no < pages
        else ""
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>News, page
{page_no}</title>{_blob(rng, "css", 4000)}</head><body><header>{_nav(rng, 40)}</header>
<main><h1>News</h1>{blocks}<nav class="pagination">{nxt}</nav></main>
<aside class="sidebar"><h3>Most read</h3><ul>{"".join(f'<li><a href="{t[0]}">{html.escape(t[1])}</a></li>' for t in teasers[:5])}</ul></aside>
<footer>{_nav(rng, 30)}</footer></body></html>"""


def generate_site(root: Path, pages: int, seed: int = 7) -> list[str]:
    """Write `pages` listing pages of 20 teasers and their articles under root; return URLs."""
    rng = random.Random(seed)
    writer = StoryWriter(random.Random(seed + 1))
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    paths = [f"/news/2026/11/{1 + i % 28:02d}/story-{i}/" for i in range(pages * TEASERS_PER_PAGE)]
    urls: list[str] = []
    meta: list[tuple[str, str, str, str]] = []
    for i, path in enumerate(paths):
        related = [(paths[(i + k) % len(paths)], f"Related story {k}") for k in range(1, 9)]
        page, title, lead = _article_page(rng, writer, i, path, related)
        target = root / path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        date = (_BASE_DATE - timedelta(minutes=37 * i)).isoformat()
        meta.append((path, title, lead, date))
        urls.append(path)
    for page_no in range(1, pages + 1):
        chunk = meta[(page_no - 1) * TEASERS_PER_PAGE : page_no * TEASERS_PER_PAGE]
        listing = "news/" if page_no == 1 else f"news/page/{page_no}/"
        target = root / listing / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_listing_page(page_no, pages, chunk, rng), encoding="utf-8")
        urls.append("/" + listing)
    return urls


def sites_toml(base_url: str, pages: int) -> str:
    """A sites.toml for the generated site (selector mode)."""
    return f"""[sites.bench]
start_urls = ["{base_url}/news/"]
teaser = "main article.teaser"
link = "h2 a::attr(href)"
title = "h2"
excerpt = "p.lead"
date = "time::attr(datetime)"
next_page = "a[rel=next]::attr(href)"
max_pages = {pages}
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    written = generate_site(args.root, args.pages)
    print(f"wrote {len(written)} pages under {args.root}")
