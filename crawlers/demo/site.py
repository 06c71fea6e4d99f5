"""The Demo Daily site: a deterministic, generated news site plus its ground-truth manifest."""

from __future__ import annotations

import html
import json
import random
import re
import struct
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import MappingProxyType
from urllib.parse import urlsplit

from crawlers.demo._prose import AUTHORS, Story, StoryWriter, long_date

__all__ = [
    "APPEAL_TEXT",
    "BASE_DATE",
    "BASE_PLACEHOLDER",
    "DEMO_SITE_NAME",
    "LATER_KINDS",
    "MOST_READ_HEADING",
    "NEWSLETTER_HEADING",
    "NEWSLETTER_TEXT",
    "RELATED_HEADING",
    "ROBOTS_TXT",
    "SHARE_TEXT",
    "SITE_NAME",
    "SYNDICATION_NOTE",
    "TRACKING_QUERY",
    "DemoArticle",
    "DemoPage",
    "DemoSection",
    "DemoSite",
    "DemoSpecialPaths",
    "DemoTeaser",
    "build_demo_site",
    "demo_sites_toml",
]

SEED = 20261120
CET = timezone(timedelta(hours=1), "CET")
BASE_DATE = datetime(2026, 11, 20, tzinfo=CET)
SITE_NAME = "Demo Daily"
DEMO_SITE_NAME = "demo-news"
BASE_PLACEHOLDER = "{base}"
PAGES_PER_SECTION = 3
TEASERS_PER_PAGE = 12
TRACKING_QUERY = "utm_source=newsletter&utm_medium=email"
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"

APPEAL_TEXT = (
    "We have a small favour to ask. Demo Daily is free to read, and we want to keep it that "
    "way. Careful local reporting takes time and money, and more readers than ever rely on it. "
    "If you value what we publish, please consider supporting our newsroom with a contribution "
    "of any size."
)
NEWSLETTER_HEADING = "Sign up for the Morning Briefing"
NEWSLETTER_TEXT = (
    "The five stories you need to know, in your inbox before 7 a.m. every weekday. "
    "Free, and you can unsubscribe at any time."
)
SHARE_TEXT = "Share this article:"
RELATED_HEADING = "Read more"
MOST_READ_HEADING = "Most read"

_SECTIONS = (("world", "World"), ("business", "Business"), ("science", "Science"))
_SECTION_NAMES = dict(_SECTIONS)
_UTF8 = "utf-8"
_CP1252 = "windows-1252"
_XML_UTF8 = "application/xml; charset=utf-8"
_HTML_UTF8 = "text/html; charset=utf-8"

# (section, page, position) -> special case; every other slot is an ordinary article.
_SPECIAL_SLOTS = {
    ("world", 1, 1): "cross_listed",
    ("world", 1, 7): "shortened",
    ("world", 2, 2): "canonical_target",
    ("world", 2, 8): "non_utf8",
    ("world", 3, 4): "no_jsonld_no_meta",
    ("world", 3, 10): "svalbard",
    ("business", 1, 1): "cross_listed",
    ("business", 1, 5): "kazakhstan",
    ("business", 1, 9): "canonical_copy",
    ("business", 2, 6): "no_jsonld_meta_only",
    ("business", 3, 3): "shortened",
    ("business", 3, 8): "missing",
    ("science", 1, 1): "cross_listed",
    ("science", 1, 10): "shortened",
    ("science", 2, 5): "robots_blocked",
    ("science", 2, 11): "axolotl",
    ("science", 3, 6): "no_jsonld_modified",
}
# a later article: a moment (a plain article) or (moment, kind); an edit: a moment or
# (moment, new headline or None)
NewsItem = datetime | tuple[datetime, str]
Edit = datetime | tuple[datetime, str | None]
_HEADLINE_SUFFIXES = (", officials say", " after months of debate", " despite rising costs")

# Hand-written stories for the special cases: (section, place, topic, title, lead, paragraphs).
_KAZAKHSTAN = (
    "business",
    "Linz",
    "logistics centre",
    "Kazakhstan rail freight deal brings new orders to Linz logistics centre",
    "A freight agreement with partners in Kazakhstan could keep the logistics centre in Linz "
    "busy for years.",
    (
        "The logistics centre in Linz has signed a five-year agreement to handle rail freight "
        "travelling between Central Europe and Kazakhstan, its managers said this week. The deal "
        "covers up to 40 container trains a year, most of them carrying machine parts eastwards "
        "and returning with grain, cotton and metal goods.",
        "Trade between the region and Kazakhstan has grown steadily since new rail connections "
        "through Central Asia opened. Freight forwarders say the route is slower than air cargo "
        "but far cheaper, and more predictable than the long sea passage around southern Asia. "
        "Customs staff in Kazakhstan and in Linz will share electronic paperwork to cut waiting "
        "times at the border.",
    ),
)
_SVALBARD = (
    "world",
    "Bergen",
    "ferry route",
    "Bergen supply ship resumes winter sailings to Svalbard",
    "For the first time in three years, a supply ship from Bergen will make regular winter trips "
    "to Svalbard.",
    (
        "The supply ship, which carries food, fuel and scientific equipment, will leave Bergen "
        "every second week between December and March. Its operator said the return of winter "
        "sailings to Svalbard had become possible after the hull of the vessel was strengthened "
        "for ice during a long refit.",
        "Research stations on Svalbard have relied on air freight during the dark months, which "
        "limits what can be delivered. Station managers welcomed the decision, saying heavier "
        "instruments and spare parts could now arrive before the spring field season rather than "
        "after it.",
    ),
)
_AXOLOTL = (
    "science",
    "Leipzig",
    "regeneration study",
    "Axolotl study in Leipzig sheds new light on tissue regrowth",
    "A colony of axolotl salamanders is helping researchers in Leipzig understand how damaged "
    "tissue can regrow.",
    (
        "The axolotl, a salamander that keeps its larval form throughout its life, can regrow "
        "limbs, parts of its heart and even sections of its spinal cord. Researchers in Leipzig "
        "have followed this process in a colony of about 200 animals, recording which genes "
        "switch on in the first days after an injury.",
        "The team found that cells near a wound briefly behave like much younger cells before "
        "taking on their final role. Whether the signals seen in the axolotl could one day be "
        "encouraged in other animals is still an open question, the researchers say, and any "
        "medical use would be many years away.",
    ),
)
# Served as windows-1252: every character here exists in that encoding.
_NON_UTF8 = (
    "world",
    "Z\u00fcrich",
    "caf\u00e9 building",
    "Z\u00fcrich caf\u00e9 owners raise \u20ac2 million to save a 1920s fa\u00e7ade",
    "Critics called the plan na\u00efve \u2013 but the owners\u2019 campaign has drawn support "
    "from across the city.",
    (
        "Caf\u00e9 Sonnenhof, on the corner of a busy square in Z\u00fcrich, has served coffee "
        "since 1926, and its owners say the building\u2019s fa\u00e7ade is part of the city\u2019s "
        "memory. When engineers warned last year that the stonework was crumbling, the family "
        "behind the business decided to raise the money themselves rather than wait for public "
        "funds.",
        "\u201cPeople told us it was na\u00efve to think a caf\u00e9 could collect \u20ac2 "
        "million,\u201d said one of the owners. \u201cBut regular guests started giving a few "
        "euros at a time, and then local firms joined in.\u201d By the end of October the "
        "campaign had passed \u20ac1.8 million.",
        "Restorers will now clean and repair the fa\u00e7ade over the winter, using stone from "
        "the same quarry as the original builders. The caf\u00e9 will stay open throughout the "
        "work, although guests will have to use a side entrance until the scaffolding comes "
        "down in spring.",
    ),
)
# Published later (DemoServer.publish(kind="german")): the site's German-language service.
_GERMAN = (
    "world",
    "M\u00fcnchen",
    "B\u00e4ckerei",
    "M\u00fcnchner B\u00e4ckerei \u00f6ffnet nach dem Brand wieder",
    "Drei Monate nach dem Feuer backt die Traditionsb\u00e4ckerei am Viktualienmarkt wieder "
    "Br\u00f6tchen \u2013 mit neuen \u00d6fen und gr\u00f6\u00dferer Backstube.",
    (
        "Die B\u00e4ckerei Huber am Viktualienmarkt in M\u00fcnchen hat am Montag wieder "
        "ge\u00f6ffnet. Im August hatte ein Kurzschluss in der Backstube ein Feuer "
        "ausgel\u00f6st, das die \u00d6fen und einen gro\u00dfen Teil der Einrichtung "
        "zerst\u00f6rte. Verletzt wurde damals niemand, doch die Familie musste ihre "
        "zw\u00f6lf Mitarbeiter vor\u00fcbergehend in anderen Filialen unterbringen.",
        "Schon vor sieben Uhr standen die ersten Stammkunden vor der T\u00fcr. \u201eWir sind "
        "\u00fcberw\u00e4ltigt, wie viele Menschen uns in den letzten Wochen Mut gemacht "
        "haben\u201c, sagte die Inhaberin. Die neuen \u00d6fen verbrauchen nach Angaben "
        "des Betriebs rund ein Drittel weniger Strom als die alten, die Backstube ist "
        "gr\u00f6\u00dfer und heller.",
        "Zur Wiederer\u00f6ffnung gibt es eine Woche lang Laugenbrezen zum halben Preis. "
        "Im Dezember will die B\u00e4ckerei au\u00dferdem wieder ihren Stollen anbieten, "
        "f\u00fcr den viele Kunden jedes Jahr aus dem ganzen Umland anreisen.",
    ),
)
_HANDWRITTEN = {
    "kazakhstan": _KAZAKHSTAN,
    "svalbard": _SVALBARD,
    "axolotl": _AXOLOTL,
    "non_utf8": _NON_UTF8,
    "german": _GERMAN,
}
# kinds of article DemoServer.publish() can add besides "plain"
LATER_KINDS = ("plain", "german", "syndicated")
# the footer a syndicated copy adds to the story it copies (a near-duplicate, not a copy)
SYNDICATION_NOTE = (
    "This report first appeared in our partner paper, the Demo Evening Post, and is "
    "republished here with its permission."
)
_UNIQUE_TERMS = {"Kazakhstan": "kazakhstan", "Svalbard": "svalbard", "axolotl": "axolotl"}


@dataclass(frozen=True)
class DemoPage:
    """One servable resource; `body` may contain BASE_PLACEHOLDER where an absolute URL goes."""

    status: int
    content_type: str
    body: bytes
    last_modified: datetime | None = None

    def render(self, base_url: str) -> bytes:
        """The body with the placeholder replaced by a base URL like "http://127.0.0.1:8000"."""
        return self.body.replace(BASE_PLACEHOLDER.encode("ascii"), base_url.rstrip("/").encode())


@dataclass(frozen=True)
class DemoSection:
    """A section of the site and its listing pages (the first one is the start page)."""

    slug: str
    name: str
    listing_paths: tuple[str, ...]


@dataclass(frozen=True)
class DemoArticle:
    """Ground truth of one article URL linked from a listing (including the missing one)."""

    path: str
    section: str
    title: str
    teaser_titles: tuple[str, ...]
    lead: str
    paragraphs: tuple[str, ...]
    author: str
    published: str
    modified: str | None
    has_jsonld: bool
    has_meta_dates: bool
    charset: str
    canonical: str | None
    has_canonical_link: bool
    status: int
    robots_blocked: bool
    caption: str
    credit: str
    image: str
    image_alt: str
    language: str = "en"

    @property
    def body_text(self) -> str:
        """The body paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class DemoTeaser:
    """One teaser on one listing page; `href` is the attribute value after entity decoding."""

    listing_path: str
    position: int
    href: str
    article_path: str
    title: str
    lead: str
    date_text: str
    date_iso: str
    image: str


@dataclass(frozen=True)
class DemoSpecialPaths:
    """Article paths of the special cases, so tests need not hard-code them."""

    cross_listed: str
    canonical_copy: str
    canonical_target: str
    non_utf8: str
    missing: str
    robots_blocked: str
    no_jsonld_meta_only: str
    no_jsonld_no_meta: str
    kazakhstan: str
    headline_changed: tuple[str, ...]
    # published later (DemoServer.publish): the German article, the syndicated near-copy
    german: str | None = None
    syndicated: str | None = None
    syndicated_from: str | None = None


@dataclass(frozen=True)
class DemoSite:
    """The whole generated site: servable pages plus the manifest describing them."""

    name: str
    pages: Mapping[str, DemoPage] = field(hash=False)
    not_found: DemoPage
    articles: tuple[DemoArticle, ...]
    teasers: tuple[DemoTeaser, ...]
    sections: tuple[DemoSection, ...]
    listing_paths: tuple[str, ...]
    start_paths: tuple[str, ...]
    unique_terms: Mapping[str, str] = field(hash=False)
    special: DemoSpecialPaths
    _by_path: Mapping[str, DemoArticle] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index = MappingProxyType({article.path: article for article in self.articles})
        object.__setattr__(self, "_by_path", index)

    def article(self, path_or_url: str) -> DemoArticle:
        """The article at a path, href or full URL (query and host are ignored)."""
        return self._by_path[urlsplit(path_or_url).path]

    def teasers_on(self, listing_path: str) -> tuple[DemoTeaser, ...]:
        """The teasers of one listing page, in page order."""
        return tuple(t for t in self.teasers if t.listing_path == listing_path)

    def teasers_for(self, article_path: str) -> tuple[DemoTeaser, ...]:
        """Every teaser that links to an article."""
        return tuple(t for t in self.teasers if t.article_path == article_path)

    @property
    def ok_articles(self) -> tuple[DemoArticle, ...]:
        """Articles that are served with status 200 (including the robots-blocked one)."""
        return tuple(a for a in self.articles if a.status == 200)

    def render(self, path: str, base_url: str) -> bytes | None:
        """The body served for a path under a base URL, or None for an unknown path."""
        page = self.pages.get(path)
        return None if page is None else page.render(base_url)


@dataclass
class _Draft:
    """Mutable working copy of an article while the site is assembled."""

    kind: str
    section: str
    path: str
    story: Story
    published: datetime
    image: str
    thumb: str
    modified: datetime | None = None
    has_jsonld: bool = True
    has_meta_dates: bool = True
    charset: str = _UTF8
    canonical: str | None = None
    has_canonical_link: bool = True
    status: int = 200
    teaser_titles: list[str] = field(default_factory=list)
    related: list[_Draft] = field(default_factory=list)
    language: str = "en"

    @property
    def served(self) -> bool:
        return self.status == 200

    @property
    def plain(self) -> bool:
        return self.kind == "plain"


def _slugify(text: str, max_words: int = 8) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words])


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _placeholder_jpeg() -> bytes:
    """A valid 8x8 mid-grey baseline JPEG, so image links resolve without shipping files."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)  # one Huffman code of length 1, for symbol 0
    return b"".join(
        (
            b"\xff\xd8",
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01\x01\x11\x00"),
            segment(0xC4, b"\x00" + one_code + b"\x00" + b"\x10" + one_code + b"\x00"),
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",  # DC diff 0, then end-of-block, padded with 1 bits
            b"\xff\xd9",
        )
    )


_CSS = """
body{font-family:Georgia,serif;margin:0;color:#222}
.site-header,.site-footer{background:#17324d;color:#fff;padding:.8em 1.5em}
.site-header a,.site-footer a{color:#fff}
.main-nav ul,.site-footer ul{list-style:none;padding:0;margin:.4em 0}
.main-nav li,.site-footer li{display:inline;margin-right:1em}
.logo{font-size:1.6em;font-weight:bold;text-decoration:none}
.layout{display:flex;gap:2em;padding:1em 1.5em}
main{flex:3}
.sidebar{flex:1}
.teaser{border-bottom:1px solid #ddd;padding:.8em 0;overflow:hidden}
.teaser img{float:left;width:160px;height:90px;margin-right:1em;background:#888}
.story{max-width:42em}
.lead-image img{width:100%;max-width:42em;height:auto;background:#888}
.newsletter-box,.support-appeal{background:#f3efe4;padding:.8em;margin:1em 0}
.breadcrumbs{padding:.5em 1.5em}
""".strip()


class _Renderer:
    """Turns drafts and teasers into HTML documents."""

    def document(
        self,
        *,
        title: str,
        description: str,
        body_class: str,
        body: str,
        head_extra: Sequence[str] = (),
        lang: str = "en",
        charset: str = _UTF8,
    ) -> str:
        head = [
            f'<meta charset="{charset}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f'<meta name="description" content="{_e(description)}">',
            *head_extra,
            f'<link rel="alternate" type="application/rss+xml" title="{SITE_NAME}" '
            'href="/rss.xml">',
            f"<style>{_CSS}</style>",
        ]
        return "\n".join(
            [
                "<!DOCTYPE html>",
                f'<html lang="{lang}">',
                "<head>",
                *head,
                "</head>",
                f'<body class="{body_class}">',
                self.header(),
                body,
                self.footer(),
                "</body>",
                "</html>",
                "",
            ]
        )

    def header(self) -> str:
        links = [f'<li><a href="/{slug}/">{name}</a></li>' for slug, name in _SECTIONS]
        links += [
            '<li><a href="/about/">About</a></li>',
            '<li><a href="/contact/">Contact</a></li>',
        ]
        return "\n".join(
            [
                '<header class="site-header">',
                f'<a class="logo" href="/">{SITE_NAME}</a>',
                '<nav class="main-nav" aria-label="Sections"><ul>',
                *links,
                "</ul></nav>",
                "</header>",
            ]
        )

    def footer(self) -> str:
        return "\n".join(
            [
                '<footer class="site-footer">',
                "<ul>",
                '<li><a href="/imprint/">Imprint</a></li>',
                '<li><a href="/privacy/">Privacy</a></li>',
                '<li><a href="/rss.xml">RSS</a></li>',
                "</ul>",
                f"<p>\u00a9 2026 {SITE_NAME}. A generated demo site: every story is fictional.</p>",
                "</footer>",
            ]
        )

    def teaser(self, teaser: DemoTeaser, alt: str) -> str:
        href = _e(teaser.href)
        return "\n".join(
            [
                '<article class="teaser">',
                f'  <a class="thumb" href="{href}"><img src="{_e(teaser.image)}" alt="{_e(alt)}" '
                'width="320" height="180" loading="lazy"></a>',
                f'  <h2 class="teaser-title"><a href="{href}">{_e(teaser.title)}</a></h2>',
                f'  <p class="lead">{_e(teaser.lead)}</p>',
                f'  <time datetime="{teaser.date_iso}">{_e(teaser.date_text)}</time>',
                f'  <a class="read-more" href="{href}">Read more</a>',
                "</article>",
            ]
        )

    def listing(
        self,
        section: DemoSection,
        page_no: int,
        teasers: Sequence[tuple[DemoTeaser, str]],
        most_read: Sequence[_Draft],
    ) -> str:
        paths = section.listing_paths
        current = paths[page_no - 1]
        numbers = [
            f'<span class="current" aria-current="page">{n}</span>'
            if n == page_no
            else f'<a href="{path}">{n}</a>'
            for n, path in enumerate(paths, start=1)
        ]
        pagination = []
        head_extra = [f'<link rel="canonical" href="{BASE_PLACEHOLDER}{current}">']
        if page_no > 1:
            previous = paths[page_no - 2]
            pagination.append(f'<a rel="prev" class="prev" href="{previous}">\u2039 Previous</a>')
            head_extra.append(f'<link rel="prev" href="{previous}">')
        pagination += numbers
        if page_no < len(paths):
            pagination.append(f'<a rel="next" class="next" href="{paths[page_no]}">Next \u203a</a>')
            head_extra.append(f'<link rel="next" href="{paths[page_no]}">')
        heading = section.name if page_no == 1 else f"{section.name} \u2013 page {page_no}"
        body = "\n".join(
            [
                '<div class="layout">',
                '<main id="content">',
                f'<h1 class="section-title">{_e(heading)}</h1>',
                '<div class="teaser-list">',
                *(self.teaser(teaser, alt) for teaser, alt in teasers),
                "</div>",
                '<nav class="pagination" aria-label="Pages">',
                "\n".join(pagination),
                "</nav>",
                "</main>",
                '<aside class="sidebar">',
                f"<h2>{MOST_READ_HEADING}</h2>",
                '<ol class="most-read">',
                *(f'<li><a href="{d.path}">{_e(d.story.title)}</a></li>' for d in most_read),
                "</ol>",
                "</aside>",
                "</div>",
            ]
        )
        return self.document(
            title=f"{heading} | {SITE_NAME}",
            description=f"The latest {section.name.lower()} news from {SITE_NAME}.",
            body_class="section-front",
            body=body,
            head_extra=head_extra,
        )

    def article(self, draft: _Draft) -> str:
        story = draft.story
        section_name = _SECTION_NAMES[draft.section]
        canonical_path = draft.canonical or draft.path
        canonical_url = f"{BASE_PLACEHOLDER}{canonical_path}"
        image_url = f"{BASE_PLACEHOLDER}{draft.image}"
        author_path = f"/authors/{_slugify(story.author)}/"
        head = []
        if draft.has_canonical_link:
            head.append(f'<link rel="canonical" href="{canonical_url}">')
        head += [
            '<meta property="og:type" content="article">',
            f'<meta property="og:site_name" content="{SITE_NAME}">',
            f'<meta property="og:title" content="{_e(story.title)}">',
            f'<meta property="og:description" content="{_e(story.lead)}">',
            f'<meta property="og:image" content="{image_url}">',
            f'<meta property="og:url" content="{canonical_url}">',
            f'<meta name="author" content="{_e(story.author)}">',
            f'<meta property="article:section" content="{section_name}">',
        ]
        if draft.has_meta_dates:
            head.append(
                f'<meta property="article:published_time" content="{_iso(draft.published)}">'
            )
            if draft.modified is not None:
                head.append(
                    f'<meta property="article:modified_time" content="{_iso(draft.modified)}">'
                )
        if draft.has_jsonld:
            head.append(self.jsonld(draft, canonical_url, image_url, author_path))

        paragraphs = [f"<p>{_e(p)}</p>" for p in story.paragraphs]
        paragraphs.insert(len(paragraphs) // 2, self.newsletter_box())
        times = [
            f'<time class="published" datetime="{_iso(draft.published)}">'
            f"{_e(_date_time_text(draft.published))}</time>"
        ]
        if draft.modified is not None:
            times.append(
                f'<time class="updated" datetime="{_iso(draft.modified)}">'
                f"Updated {_e(_date_time_text(draft.modified))}</time>"
            )
        related = [f'<li><a href="{d.path}">{_e(d.story.title)}</a></li>' for d in draft.related]
        body = "\n".join(
            [
                '<nav class="breadcrumbs" aria-label="Breadcrumb">'
                f'<a href="/">Home</a> \u203a <a href="/{draft.section}/">{section_name}</a></nav>',
                '<main id="content">',
                '<article class="story">',
                f"<h1>{_e(story.title)}</h1>",
                f'<p class="byline">By <a rel="author" href="{author_path}">'
                f"{_e(story.author)}</a></p>",
                *times,
                f'<p class="standfirst">{_e(story.lead)}</p>',
                '<figure class="lead-image">'
                f'<img src="{draft.image}" alt="{_e(story.image_alt)}" width="1200" height="675">'
                f'<figcaption><span class="caption">{_e(story.caption)}</span> '
                f'<span class="credit">{_e(story.credit)}</span></figcaption></figure>',
                '<div class="story-body">',
                *paragraphs,
                "</div>",
                f'<div class="share-buttons">{SHARE_TEXT} '
                '<a href="#share" data-network="facebook">Facebook</a> '
                '<a href="#share" data-network="x">X</a> '
                '<a href="#share" data-network="email">Email</a></div>',
                f'<aside class="support-appeal"><p>{_e(APPEAL_TEXT)}</p>'
                '<a href="/support/">Continue</a></aside>',
                "</article>",
                f'<section class="related"><h2>{RELATED_HEADING}</h2><ul>',
                *related,
                "</ul></section>",
                "</main>",
            ]
        )
        return self.document(
            title=f"{story.title} | {SITE_NAME}",
            description=story.lead,
            body_class="article-page",
            body=body,
            head_extra=head,
            lang=draft.language,
            charset=draft.charset,
        )

    def newsletter_box(self) -> str:
        return (
            f'<div class="newsletter-box"><h3>{NEWSLETTER_HEADING}</h3>'
            f"<p>{_e(NEWSLETTER_TEXT)}</p>"
            '<form action="/newsletter/" method="post"><label>Email address '
            '<input type="email" name="email"></label> '
            '<button type="submit">Subscribe</button></form></div>'
        )

    def jsonld(self, draft: _Draft, canonical_url: str, image_url: str, author_path: str) -> str:
        data: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": draft.story.title,
            "description": draft.story.lead,
            "datePublished": _iso(draft.published),
        }
        if draft.modified is not None:
            data["dateModified"] = _iso(draft.modified)
        data |= {
            "author": {
                "@type": "Person",
                "name": draft.story.author,
                "url": f"{BASE_PLACEHOLDER}{author_path}",
            },
            "image": image_url,
            "articleSection": _SECTION_NAMES[draft.section],
            "inLanguage": draft.language,
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical_url},
            "publisher": {"@type": "Organization", "name": SITE_NAME},
        }
        text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
        return f'<script type="application/ld+json">\n{text}\n</script>'

    def simple(self, title: str, paragraphs: Iterable[str], extra: str = "") -> str:
        body = "\n".join(
            [
                '<main id="content">',
                f"<h1>{_e(title)}</h1>",
                *(f"<p>{_e(p)}</p>" for p in paragraphs),
                extra,
                "</main>",
            ]
        )
        return self.document(
            title=f"{title} | {SITE_NAME}",
            description=f"{title} \u2013 {SITE_NAME}",
            body_class="static-page",
            body=body,
        )


def _date_time_text(moment: datetime) -> str:
    return f"{long_date(moment)}, {moment:%H:%M}"


def _rss(drafts: Sequence[_Draft]) -> str:
    items = []
    for draft in drafts:
        url = f"{BASE_PLACEHOLDER}{draft.path}"
        items.append(
            "\n".join(
                [
                    "<item>",
                    f"<title>{_e(draft.story.title)}</title>",
                    f"<link>{url}</link>",
                    f'<guid isPermaLink="true">{url}</guid>',
                    f"<description>{_e(draft.story.lead)}</description>",
                    f"<pubDate>{format_datetime(draft.published)}</pubDate>",
                    f"<category>{_SECTION_NAMES[draft.section]}</category>",
                    "</item>",
                ]
            )
        )
    return "\n".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0">',
            "<channel>",
            f"<title>{SITE_NAME}</title>",
            f"<link>{BASE_PLACEHOLDER}/</link>",
            f"<description>Latest stories from {SITE_NAME}, a generated demo site.</description>",
            "<language>en</language>",
            *items,
            "</channel>",
            "</rss>",
            "",
        ]
    )


def _sitemap_index(paths: Sequence[str]) -> str:
    entries = "\n".join(f"<sitemap><loc>{BASE_PLACEHOLDER}{path}</loc></sitemap>" for path in paths)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{entries}\n</sitemapindex>\n"
    )


def _news_sitemap(drafts: Sequence[_Draft]) -> str:
    entries = "\n".join(
        "<url>"
        f"<loc>{BASE_PLACEHOLDER}{d.path}</loc>"
        "<news:news><news:publication>"
        f"<news:name>{SITE_NAME}</news:name><news:language>en</news:language>"
        "</news:publication>"
        f"<news:publication_date>{_iso(d.published)}</news:publication_date>"
        f"<news:title>{_e(d.story.title)}</news:title>"
        "</news:news></url>"
        for d in drafts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{entries}\n</urlset>\n"
    )


class _Builder:
    """Assembles the site in one deterministic pass over a seeded random generator."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.writer = StoryWriter(self.rng)
        self.drafts: list[_Draft] = []
        self.paths: set[str] = set()
        self.by_kind: dict[str, _Draft] = {}
        self.shortened: list[_Draft] = []
        # (listing path, position, href, draft, headline shown)
        self.slots: list[tuple[str, int, str, _Draft, str]] = []
        self.sections = tuple(
            DemoSection(
                slug,
                name,
                tuple(
                    f"/{slug}/" if n == 1 else f"/{slug}/page/{n}/"
                    for n in range(1, PAGES_PER_SECTION + 1)
                ),
            )
            for slug, name in _SECTIONS
        )

    def build(
        self, news: Sequence[NewsItem] = (), edits: Mapping[str, Edit] | None = None
    ) -> DemoSite:
        cross_time = datetime(2026, 11, 19, 19, 40, tzinfo=CET)
        for section in self.sections:
            moment = datetime(2026, 11, 19, 18, 5, tzinfo=CET)
            for page_no, listing in enumerate(section.listing_paths, start=1):
                for position in range(1, TEASERS_PER_PAGE + 1):
                    kind = _SPECIAL_SLOTS.get((section.slug, page_no, position), "plain")
                    if kind == "cross_listed":
                        published = cross_time
                    else:
                        moment -= timedelta(minutes=5 * self.rng.randint(66, 138))
                        if moment.hour < 6:  # the newsroom sleeps; move to the evening before
                            moment -= timedelta(hours=6)
                        published = moment
                    self.place(section.slug, listing, position, kind, published)
        self.decorate()
        if news or edits:
            # later news comes from its own generator: the base site stays as it was
            self.rng = random.Random(SEED + 1)
            self.writer = self.writer.fork(self.rng)
            self.publish([_news_item(item) for item in news])
            for path, change in (edits or {}).items():
                when, headline = change if isinstance(change, tuple) else (change, None)
                self.edit(path, when, headline)
        return self.assemble()

    def publish(self, news: Sequence[tuple[datetime, str]]) -> None:
        """New articles on top of their section's first page; older teasers move down."""
        fresh: dict[str, list[tuple[str, int, str, _Draft, str]]] = {}
        for n, (when, kind) in enumerate(sorted(news)):
            slug = self.sections[n % len(self.sections)].slug
            draft = (
                self.new_draft(kind, slug, when) if kind != "syndicated" else self.syndicate(when)
            )
            slug = draft.section
            self.by_kind.setdefault(kind, draft)
            draft.teaser_titles.append(draft.story.title)
            linkable = [d for d in self.drafts if d.section == slug and d.kind == "plain"]
            draft.related = self.rng.sample([d for d in linkable if d is not draft], 4)
            fresh.setdefault(slug, []).insert(0, ("", 0, draft.path, draft, draft.story.title))
        slots: list[tuple[str, int, str, _Draft, str]] = []
        sections = []
        for section in self.sections:
            own = fresh.get(section.slug, []) + [
                s for s in self.slots if s[0] in section.listing_paths
            ]
            pages = max(1, -(-len(own) // TEASERS_PER_PAGE))
            paths = tuple(
                f"/{section.slug}/" if n == 1 else f"/{section.slug}/page/{n}/"
                for n in range(1, pages + 1)
            )
            sections.append(replace(section, listing_paths=paths))
            for i, (_listing, _pos, href, draft, headline) in enumerate(own):
                page, position = divmod(i, TEASERS_PER_PAGE)
                slots.append((paths[page], position + 1, href, draft, headline))
        self.sections = tuple(sections)
        self.slots = slots

    def edit(self, path: str, when: datetime, headline: str | None = None) -> None:
        """Revise a published article: a correction paragraph and a new modification time;
        with `headline`, a new headline on the article and on its teasers."""
        draft = next((d for d in self.drafts if d.path == path and d.served), None)
        if draft is None:
            raise KeyError(f"no served demo article at {path!r}")
        note = (
            f"Correction, {long_date(when)}: an earlier version of this article gave a wrong "
            "figure in the third paragraph. The text has been updated."
        )
        draft.story = replace(draft.story, paragraphs=(*draft.story.paragraphs, note))
        draft.modified = when
        if headline is not None:
            draft.story = replace(draft.story, title=headline)
            self.writer.reserve_title(headline)
            if headline not in draft.teaser_titles:
                draft.teaser_titles.append(headline)
            self.slots = [
                (listing, pos, href, d, headline if d is draft else shown)
                for listing, pos, href, d, shown in self.slots
            ]

    def syndicate(self, when: datetime) -> _Draft:
        """A partner paper's copy of the Svalbard story under a new URL: a near-duplicate."""
        original = self.by_kind["svalbard"]
        story = replace(
            original.story,
            title=f"{original.story.title} (partner report)",
            paragraphs=(*original.story.paragraphs, SYNDICATION_NOTE),
        )
        self.writer.reserve_title(story.title)
        path = self.new_path("business", when, story.title)
        slug = path.rstrip("/").rsplit("/", 1)[1]
        draft = _Draft(
            "syndicated",
            "business",
            path,
            story,
            when,
            f"/img/{when:%Y/%m}/{slug}.jpg",
            f"/img/{when:%Y/%m}/{slug}-thumb.jpg",
        )
        self.drafts.append(draft)
        return draft

    def new_path(self, section: str, published: datetime, title: str) -> str:
        slug = _slugify(title)
        prefix = f"/{section}/{published:%Y/%m/%d}/"
        path, n = f"{prefix}{slug}/", 2
        while path in self.paths:
            path, n = f"{prefix}{slug}-{n}/", n + 1
        self.paths.add(path)
        return path

    def new_draft(self, kind: str, section: str, published: datetime) -> _Draft:
        if kind in _HANDWRITTEN:
            section, place, topic, title, lead, fixed = _HANDWRITTEN[kind]
            story = self.writer.story(
                section,
                published,
                title=title,
                lead=lead,
                fixed=fixed,
                place=place,
                topic=topic,
                # the German story is all hand-written: no English filler paragraphs
                count=len(fixed) if kind == "german" else self.rng.randint(len(fixed) + 3, 8),
            )
        else:
            story = self.writer.story(section, published)
        url_section = "private" if kind == "robots_blocked" else section
        path = self.new_path(url_section, published, story.title)
        slug = path.rstrip("/").rsplit("/", 1)[1]
        image = f"/img/{published:%Y/%m}/{slug}.jpg"
        thumb = f"/img/{published:%Y/%m}/{slug}-thumb.jpg"
        draft = _Draft(kind, section, path, story, published, image, thumb)
        if kind == "german":
            draft.language = "de"
        elif kind == "non_utf8":
            draft.charset = _CP1252
        elif kind == "no_jsonld_no_meta":
            draft.has_jsonld = draft.has_meta_dates = False
        elif kind in ("no_jsonld_meta_only", "no_jsonld_modified"):
            draft.has_jsonld = False
        elif kind == "missing":
            draft.status = 404
        self.drafts.append(draft)
        return draft

    def place(self, section: str, listing: str, position: int, kind: str, when: datetime) -> None:
        if kind == "cross_listed" and kind in self.by_kind:
            draft = self.by_kind[kind]
        elif kind == "canonical_copy":
            target = self.by_kind["canonical_target"]
            path = f"/{section}/{when:%Y/%m/%d}/{target.path.rstrip('/').rsplit('/', 1)[1]}/"
            self.paths.add(path)
            draft = _Draft(
                kind,
                section,
                path,
                target.story,
                when,
                target.image,
                target.thumb,
                canonical=target.path,
            )
            self.drafts.append(draft)
        else:
            draft = self.new_draft(kind, section, when)
        self.by_kind.setdefault(kind, draft)
        headline = draft.story.title
        if kind == "shortened":
            # The article's own headline is longer than the one its teaser shows.
            suffix = _HEADLINE_SUFFIXES[len(self.shortened)]
            self.shortened.append(draft)
            draft.story = replace(draft.story, title=headline + suffix)
            self.writer.reserve_title(draft.story.title)
        href = draft.path
        if kind == "cross_listed" and section == "science":
            href = f"{draft.path}?{TRACKING_QUERY}"
        if headline not in draft.teaser_titles:
            draft.teaser_titles.append(headline)
        self.slots.append((listing, position, href, draft, headline))

    def decorate(self) -> None:
        """Modification dates, missing canonical links and related links, chosen at random."""
        rng = self.rng
        latest = BASE_DATE - timedelta(minutes=30)
        for draft in self.drafts:
            wants = draft.kind == "no_jsonld_modified" or (draft.plain and rng.random() < 0.28)
            if wants and draft.served:
                modified = draft.published + timedelta(minutes=5 * rng.randint(9, 240))
                draft.modified = min(modified, latest)
        plain = [d for d in self.drafts if d.plain]
        for draft in rng.sample(plain, 4):
            draft.has_canonical_link = False
        linkable = [d for d in self.drafts if d.served and d.kind in ("plain", "shortened")]
        for draft in self.drafts:
            if draft.served:
                pool = [d for d in linkable if d.section == draft.section and d.path != draft.path]
                draft.related = rng.sample(pool, 4)

    def assemble(self) -> DemoSite:
        renderer = _Renderer()
        rng = self.rng
        pages: dict[str, DemoPage] = {}
        teasers = tuple(
            DemoTeaser(
                listing_path=listing,
                position=position,
                href=href,
                article_path=draft.path,
                title=headline,
                lead=draft.story.lead,
                date_text=long_date(draft.published),
                date_iso=_iso(draft.published),
                image=draft.thumb,
            )
            for listing, position, href, draft, headline in self.slots
        )
        alts = {draft.thumb: draft.story.image_alt for draft in self.drafts}
        plain = [d for d in self.drafts if d.plain]

        home_links = "\n".join(
            f'<li><a href="{s.listing_paths[0]}">{s.name}</a></li>' for s in self.sections
        )
        pages["/"] = _html_page(
            renderer.simple(
                SITE_NAME,
                ["Fictional news, generated for testing and demonstrating teaserfeed."],
                f'<ul class="sections">\n{home_links}\n</ul>',
            ),
            BASE_DATE,
        )
        pages["/robots.txt"] = DemoPage(
            200, "text/plain; charset=utf-8", ROBOTS_TXT.encode(), BASE_DATE
        )
        for section in self.sections:
            most_read = rng.sample([d for d in plain if d.section != section.slug], 5)
            for page_no, listing in enumerate(section.listing_paths, start=1):
                on_page = [t for t in teasers if t.listing_path == listing]
                markup = renderer.listing(
                    section, page_no, [(t, alts[t.image]) for t in on_page], most_read
                )
                newest = max(datetime.fromisoformat(t.date_iso) for t in on_page)
                pages[listing] = _html_page(markup, newest)

        jpeg = _placeholder_jpeg()
        for draft in self.drafts:
            pages[draft.thumb] = DemoPage(200, "image/jpeg", jpeg, draft.published)
            if not draft.served:
                continue
            pages[draft.image] = DemoPage(200, "image/jpeg", jpeg, draft.published)
            pages[draft.path] = DemoPage(
                200,
                f"text/html; charset={draft.charset}",
                renderer.article(draft).encode(draft.charset),
                draft.modified or draft.published,
            )

        for author in AUTHORS:
            own = [d for d in self.drafts if d.served and d.story.author == author]
            items = "\n".join(f'<li><a href="{d.path}">{_e(d.story.title)}</a></li>' for d in own)
            pages[f"/authors/{_slugify(author)}/"] = _html_page(
                renderer.simple(
                    author,
                    [f"{author} reports for {SITE_NAME}."],
                    f'<ul class="author-articles">\n{items}\n</ul>',
                ),
                BASE_DATE,
            )
        for path, title, text in _STATIC_PAGES:
            pages[path] = _html_page(renderer.simple(title, [text]), BASE_DATE)
        feed = sorted(
            (d for d in self.drafts if d.served and d.kind != "robots_blocked"),
            key=lambda d: d.published,
            reverse=True,
        )[:20]
        pages["/rss.xml"] = DemoPage(
            200, "application/rss+xml; charset=utf-8", _rss(feed).encode(), feed[0].published
        )
        # a sitemap index that also names itself (a loop a crawler must not follow)
        pages["/sitemap.xml"] = DemoPage(
            200,
            _XML_UTF8,
            _sitemap_index(["/sitemap.xml", "/sitemap-news.xml"]).encode(),
            feed[0].published,
        )
        pages["/sitemap-news.xml"] = DemoPage(
            200, _XML_UTF8, _news_sitemap(feed).encode(), feed[0].published
        )

        not_found = DemoPage(
            404,
            _HTML_UTF8,
            renderer.simple(
                "Page not found",
                ["Sorry, there is no page at this address."],
                '<p><a href="/">Back to the front page</a></p>',
            ).encode(),
        )
        articles = tuple(_to_article(d) for d in self.drafts)
        kinds = self.by_kind
        special = DemoSpecialPaths(
            cross_listed=kinds["cross_listed"].path,
            canonical_copy=kinds["canonical_copy"].path,
            canonical_target=kinds["canonical_target"].path,
            non_utf8=kinds["non_utf8"].path,
            missing=kinds["missing"].path,
            robots_blocked=kinds["robots_blocked"].path,
            no_jsonld_meta_only=kinds["no_jsonld_meta_only"].path,
            no_jsonld_no_meta=kinds["no_jsonld_no_meta"].path,
            kazakhstan=kinds["kazakhstan"].path,
            headline_changed=tuple(d.path for d in self.shortened),
            german=kinds["german"].path if "german" in kinds else None,
            syndicated=kinds["syndicated"].path if "syndicated" in kinds else None,
            syndicated_from=kinds["svalbard"].path if "syndicated" in kinds else None,
        )
        return DemoSite(
            name=SITE_NAME,
            pages=MappingProxyType(pages),
            not_found=not_found,
            articles=articles,
            teasers=teasers,
            sections=self.sections,
            listing_paths=tuple(p for s in self.sections for p in s.listing_paths),
            start_paths=tuple(s.listing_paths[0] for s in self.sections),
            unique_terms=MappingProxyType(
                {term: kinds[kind].path for term, kind in _UNIQUE_TERMS.items()}
            ),
            special=special,
        )


_STATIC_PAGES = (
    ("/about/", "About", f"{SITE_NAME} is a generated news site bundled with teaserfeed."),
    ("/contact/", "Contact", "This demo has no newsroom; write to the teaserfeed maintainers."),
    ("/imprint/", "Imprint", f"{SITE_NAME} is generated by teaserfeed. No real publisher."),
    ("/privacy/", "Privacy", "This demo site sets no cookies and keeps no logs."),
    ("/support/", "Support us", "Thank you for considering it. This is a demo: nothing to pay."),
)


def _html_page(markup: str, last_modified: datetime) -> DemoPage:
    return DemoPage(200, _HTML_UTF8, markup.encode(), last_modified)


def _to_article(draft: _Draft) -> DemoArticle:
    story = draft.story
    served = draft.served
    return DemoArticle(
        path=draft.path,
        section=draft.section,
        title=story.title,
        teaser_titles=tuple(draft.teaser_titles),
        lead=story.lead,
        paragraphs=story.paragraphs if served else (),
        author=story.author if served else "",
        published=_iso(draft.published),
        modified=_iso(draft.modified) if draft.modified else None,
        has_jsonld=draft.has_jsonld and served,
        has_meta_dates=draft.has_meta_dates and served,
        charset=draft.charset,
        canonical=draft.canonical,
        has_canonical_link=draft.has_canonical_link and served,
        status=draft.status,
        robots_blocked=draft.kind == "robots_blocked",
        caption=story.caption if served else "",
        credit=story.credit if served else "",
        image=draft.image if served else "",
        image_alt=story.image_alt if served else "",
        language=draft.language,
    )


def _news_item(item: NewsItem) -> tuple[datetime, str]:
    when, kind = item if isinstance(item, tuple) else (item, "plain")
    if kind not in LATER_KINDS:
        raise ValueError(f"cannot publish a {kind!r} article; kinds: {', '.join(LATER_KINDS)}")
    return when, kind


def build_demo_site(
    news: Sequence[NewsItem] = (), edits: Mapping[str, Edit] | None = None
) -> DemoSite:
    """Generate the Demo Daily site; the same every time (fixed seed, fixed dates).

    `news` publishes one more article per moment, or per (moment, kind) of LATER_KINDS
    (newest on top of the sections' first pages); `edits` revises the articles at these
    paths at these moments, or (moment, new headline).
    """
    return _Builder().build(news, edits)


def demo_sites_toml(base_url: str) -> str:
    """A sites.toml document with one site, DEMO_SITE_NAME, crawling the demo at base_url."""
    base = base_url.rstrip("/")
    start_urls = ", ".join(json.dumps(f"{base}/{slug}/") for slug, _ in _SECTIONS)
    strip = ", ".join(
        json.dumps(s) for s in (".newsletter-box", ".support-appeal", ".share-buttons", ".related")
    )
    return (
        f"# The bundled demo site ({SITE_NAME}); every story on it is generated.\n"
        f"[sites.{DEMO_SITE_NAME}]\n"
        f"start_urls = [{start_urls}]\n"
        'teaser    = "main article.teaser"\n'
        'link      = "h2.teaser-title a::attr(href)"\n'
        'title     = "h2.teaser-title"\n'
        'excerpt   = "p.lead"\n'
        'date      = "time::attr(datetime)"\n'
        'image     = "img::attr(src)"\n'
        'next_page = "a[rel=next]::attr(href)"\n'
        "max_pages = 5\n"
        f"strip     = [{strip}]\n"
    )
