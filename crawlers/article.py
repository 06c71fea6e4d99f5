"""Article fields from an article page: JSON-LD and meta first, body by trafilatura."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import lxml.html
import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement

from crawlers.cleanup import Removal, apply_rules, global_rules, site_rules
from crawlers.sites import SiteConfig
from crawlers.textutil import absolute_http_url, clean_text

__all__ = ["EXTRACTOR_VERSION", "Article", "Image", "extract_article", "extract_from_tree"]

EXTRACTOR_VERSION = "1.0"

logger = logging.getLogger(__name__)

_ARTICLE_TYPES = {
    "newsarticle",
    "article",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "liveblogposting",
    "techarticle",
    "scholarlyarticle",
    "report",
    "socialmediaposting",
    "posting",
}
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publishdate",
    "pubdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
)
_URL_DATE_RE = re.compile(
    r"/(20\d{2}|19\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|$|-)"
)
_CREDIT_RE = re.compile(
    r"\s*[\(\[]?\s*((?:photo|photograph|image|picture|foto|bild|credit|source|"
    r"quelle|copyright|©)\s*[:©]?.*)$",
    re.I,
)


@dataclass(frozen=True)
class Image:
    """A content image with its caption and credit."""

    url: str
    alt: str | None = None
    caption: str | None = None
    credit: str | None = None
    position: int = 0


@dataclass
class Article:
    """Everything extracted from one article page."""

    url: str
    title: str | None = None
    lead: str | None = None
    body: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    published_from: str | None = None
    published_raw: str | None = None
    modified: str | None = None
    modified_from: str | None = None
    modified_raw: str | None = None
    language: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    top_image: str | None = None
    canonical_url: str | None = None
    images: list[Image] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)
    word_count: int = 0
    extractor_version: str = EXTRACTOR_VERSION


# -- JSON-LD -----------------------------------------------------------------------------


def _walk_jsonld(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item)
    elif isinstance(node, dict):
        yield node
        if "@graph" in node:
            yield from _walk_jsonld(node["@graph"])


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type", [])
    types = t if isinstance(t, list) else [t]
    return {str(x).lower() for x in types}


def _jsonld_article(root: HtmlElement) -> dict[str, Any]:
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            # Some sites put raw newlines or trailing commas in JSON-LD; try once more leniently.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw.replace("\n", " ")))
            except ValueError:
                continue
        for obj in _walk_jsonld(data):
            if _types(obj) & _ARTICLE_TYPES:
                return obj
    return {}


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
    if isinstance(value, (str, int, float)):
        return clean_text(str(value)) or None
    return None


def _ld_names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _ld_text(item)
        if name and not name.startswith("http"):
            names.append(name)
    return names


def _ld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return str(value) if isinstance(value, str) else None


# -- meta ------------------------------------------------------------------------------


def _meta(root: HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and content.strip():
            found.setdefault(key, []).append(content.strip())
    return found


def _first(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        if key in meta:
            return meta[key][0]
    return None


# -- dates -----------------------------------------------------------------------------


def _iso(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        match = re.match(r"^(\d{4}-\d{2}-\d{2})", text)
        return match.group(1) if match else None
    if len(text) <= 10:
        return value.date().isoformat()
    return value.isoformat()


def _time_element(root: HtmlElement, container: HtmlElement | None) -> str | None:
    scopes = [container] if container is not None else []
    scopes.append(root)
    for scope in scopes:
        for el in scope.iter("time"):
            value = str(el.get("datetime") or "")
            if value and _iso(value):
                return value
    return None


def _url_date(url: str) -> str | None:
    match = _URL_DATE_RE.search(url)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


# -- images ----------------------------------------------------------------------------


def _split_credit(caption: str) -> tuple[str | None, str | None]:
    match = _CREDIT_RE.search(caption)
    if match and match.start() > 0:
        return clean_text(caption[: match.start()]) or None, clean_text(match.group(1)) or None
    return caption or None, None


def _images(container: HtmlElement, base: str) -> list[Image]:
    images: list[Image] = []
    seen: set[str] = set()
    for img in container.iter("img"):
        src = img.get("src") or img.get("data-src")
        url = absolute_http_url(src, base)
        if url is None or url in seen:
            continue
        figure = next((a for a in img.iterancestors("figure")), None)
        caption = credit = None
        if figure is not None:
            cap_el = figure.find(".//figcaption")
            if cap_el is not None:
                credit_els = [
                    el
                    for el in cap_el.iter()
                    if any(w in (el.get("class") or "").lower() for w in ("credit", "copyright"))
                ]
                credit = clean_text(" ".join(el.text_content() for el in credit_els)) or None
                for el in credit_els:
                    if el is not cap_el and el.getparent() is not None:
                        el.drop_tree()
                caption = clean_text(cap_el.text_content()) or None
                if caption and not credit:
                    caption, credit = _split_credit(caption)
                cap_el.drop_tree()
        seen.add(url)
        images.append(
            Image(
                url=url,
                alt=clean_text(img.get("alt")) or None,
                caption=caption,
                credit=credit,
                position=len(images),
            )
        )
    return images


# -- body ------------------------------------------------------------------------------


def _container(root: HtmlElement) -> HtmlElement | None:
    articles = [el for el in root.iter("article") if len(el.text_content()) > 200]
    if articles:
        return max(articles, key=lambda el: len(el.text_content()))
    for css_class in ("article-body", "story-body", "entry-content", "post-content"):
        found = root.find_class(css_class)
        if found:
            return found[0]
    main = root.find(".//main")
    return main


def _body_text(root: HtmlElement, url: str, title: str | None, lead: str | None) -> str:
    try:
        text = trafilatura.extract(
            root, url=url, include_comments=False, include_tables=True, favor_precision=False
        )
    except Exception as exc:  # trafilatura on hostile input: fall back, never raise
        logger.debug("trafilatura failed on %s: %s", url, exc)
        text = None
    paragraphs = [clean_text(line) for line in (text or "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        paragraphs = [clean_text(p.text_content()) for p in root.iter("p")]
        paragraphs = [p for p in paragraphs if len(p) > 40]
    # The headline and the standfirst are stored apart; the body does not repeat them.
    for known in (title, lead):
        if paragraphs and known and paragraphs[0].casefold() == clean_text(known).casefold():
            paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def _strip_site_suffix(title: str) -> str:
    parts = re.split(r"\s+[|\u2013\u2014-]\s+", title)
    return parts[0] if len(parts) > 1 and len(parts[0]) >= 10 else title


# -- entry points ----------------------------------------------------------------------


def extract_from_tree(root: HtmlElement, url: str, config: SiteConfig | None = None) -> Article:
    """Extract an article from a parsed page; the tree is cleaned in place."""
    ld = _jsonld_article(root)
    meta = _meta(root)
    article = Article(url=url)

    canonical = next(
        (
            el.get("href")
            for el in root.iter("link")
            if "canonical" in (el.get("rel") or "").lower().split()
        ),
        None,
    ) or _first(meta, "og:url")
    article.canonical_url = absolute_http_url(canonical, url)

    h1 = root.find(".//h1")
    h1_text = clean_text(h1.text_content()) if h1 is not None else ""
    title_el = root.find(".//title")
    page_title = clean_text(title_el.text_content()) if title_el is not None else ""
    article.title = (
        _ld_text(ld.get("headline"))
        or _ld_text(ld.get("name"))
        or _first(meta, "og:title", "twitter:title")
        or h1_text
        or (_strip_site_suffix(page_title) if page_title else None)
    )
    if article.title:
        article.title = clean_text(article.title)

    article.lead = _ld_text(ld.get("description")) or _first(
        meta, "og:description", "description", "twitter:description"
    )

    authors = _ld_names(ld.get("author")) if ld.get("author") else []
    if not authors:
        meta_author = _first(meta, "author", "article:author", "parsely-author", "dc.creator")
        if meta_author and not meta_author.startswith("http"):
            authors = [a.strip() for a in re.split(r",| and ", meta_author) if a.strip()]
    if not authors:
        authors = [
            t for t in (clean_text(a.text_content()) for a in root.xpath("//a[@rel='author']")) if t
        ]
    article.authors = list(dict.fromkeys(authors))

    container = _container(root)
    published: tuple[str | None, str] = (_ld_text(ld.get("datePublished")), "jsonld")
    if not published[0]:
        published = (_first(meta, *_PUBLISHED_META), "meta")
    if not published[0]:
        published = (_time_element(root, container), "time")
    if not published[0]:
        published = (_url_date(url), "url")
    modified: tuple[str | None, str] = (_ld_text(ld.get("dateModified")), "jsonld")
    if not modified[0]:
        modified = (_first(meta, *_MODIFIED_META), "meta")
    for raw, source, prefix in ((*published, "published"), (*modified, "modified")):
        if raw and _iso(raw):
            setattr(article, prefix, _iso(raw))
            setattr(article, f"{prefix}_from", source)
            setattr(article, f"{prefix}_raw", raw)

    article.language = (
        _ld_text(ld.get("inLanguage"))
        or (root.get("lang") or "").strip()
        or _first(meta, "og:locale", "content-language", "language")
        or None
    )
    if article.language:
        article.language = article.language.replace("_", "-").split("-")[0].lower() or None

    article.section = _ld_text(ld.get("articleSection")) or _first(meta, "article:section")
    keywords = ld.get("keywords")
    tags: list[str] = []
    if isinstance(keywords, list):
        tags = [clean_text(str(k)) for k in keywords]
    elif isinstance(keywords, str):
        tags = [clean_text(k) for k in keywords.split(",")]
    if not tags:
        tags = meta.get("article:tag", []) or [
            clean_text(k) for k in (_first(meta, "keywords", "news_keywords") or "").split(",")
        ]
    article.tags = [t for t in dict.fromkeys(tags) if t]

    scope = container if container is not None else root
    article.images = _images(scope, url)
    top = _ld_image(ld.get("image")) or _first(meta, "og:image", "twitter:image")
    article.top_image = absolute_http_url(top, url) or (
        article.images[0].url if article.images else None
    )

    rules = global_rules()
    if config is not None and config.strip:
        rules = rules + site_rules(config.name, config.strip)
    article.removed = apply_rules(root, rules)

    article.body = _body_text(root, url, article.title, article.lead)
    if not article.body:
        body = ld.get("articleBody")
        if isinstance(body, str):
            article.body = "\n\n".join(p for p in (clean_text(x) for x in body.split("\n")) if p)

    article.word_count = len(article.body.split())

    if article.published is None:
        try:
            found = find_date(root, extensive_search=True, original_date=True, url=url)
        except Exception:  # htmldate on hostile input: no date rather than no article
            found = None
        if found:
            article.published, article.published_from, article.published_raw = (
                found,
                "text",
                found,
            )
    return article


_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def extract_article(html: str | bytes, url: str, config: SiteConfig | None = None) -> Article:
    """Extract an article from HTML without Scrapy or network; never raises on bad HTML."""
    try:
        if isinstance(html, bytes):
            root = lxml.html.document_fromstring(html)
        else:
            root = lxml.html.document_fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    except Exception as exc:  # empty or unparseable documents
        logger.warning("could not parse article page %s: %s", url, exc)
        return Article(url=url)
    try:
        return extract_from_tree(root, url, config)
    except Exception as exc:  # extraction of web input must never raise
        logger.warning("article extraction failed on %s: %s", url, exc)
        return Article(url=url)
