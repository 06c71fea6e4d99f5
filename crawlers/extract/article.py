"""Article fields from an article page: JSON-LD and meta first, body from the cleaned tree."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from html import unescape as html_unescape
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import Extractor

from crawlers.extract.cleanup import (
    CleanupRule,
    ImageRules,
    Removal,
    apply_rules,
    filter_paragraphs,
    global_rules,
    image_rules,
    matches_within_words,
    paragraph_chars,
    site_rules,
    words_matching,
)
from crawlers.extract.page import (
    ATTRIBUTE_LIMIT_RULE,
    ATTRIBUTES_CUT,
    SIZE_LIMIT_RULE,
    Page,
    bound_page,
    parse_again,
    parse_page,
)
from crawlers.extract.pagedate import page_date
from crawlers.extract.text import absolute_http_url, clean_text
from crawlers.extract.xpathguard import guarded
from crawlers.sites import SiteConfig

__all__ = [
    "ATTRIBUTES_CUT",
    "ATTRIBUTE_LIMIT_RULE",
    "BODY_SOURCE_RULE",
    "EXTRACTOR_VERSION",
    "SIZE_LIMIT_RULE",
    "Article",
    "Image",
    "extract_article",
    "extract_from_page",
    "extract_from_tree",
]

# Bump when a change makes the extractor's output differ: `teaserfeed reextract --since`
# compares stored versions with this one.
EXTRACTOR_VERSION = "2.6"

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
    "askpublicnewsarticle",
    "satiricalarticle",
    "liveblogposting",
    "techarticle",
    "scholarlyarticle",
    "report",
    "socialmediaposting",
    "discussionforumposting",
    "posting",
    "webpage",
}
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "datecreated",
    "publishdate",
    "publish-date",
    "published_time",
    "pubdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "dc.date.created",
    "dcterms.created",
    "dcterms.issued",
    "sailthru.date",
    "parsely-pub-date",
    "citation_publication_date",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "article:modified",
    "og:updated_time",
    "datemodified",
    "modified_time",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
)
_AUTHOR_META = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "citation_author",
    "twitter:creator",
)
_URL_DATE_RE = re.compile(
    r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])(?:[/-](0?[1-9]|[12]\d|3[01]))?(?=/|$|-|\.)"
)
_URL_COMPACT_DATE_RE = re.compile(r"/((?:19|20)\d{2})(0[1-9]|1[0-2])([0-2]\d|3[01])(?=/|$|-|_)")
_ZONE_SPACE_RE = re.compile(r"\s+([+-]\d{2}:?\d{2})$")
_DATE_PREFIX_RE = re.compile(r"^((?:19|20)\d{2})-(\d{2})-(\d{2})")
_AUTHOR_SPLIT_RE = re.compile(
    r"\s*(?:,|;|\band\b|&|\bund\b|\by\b|\bet\b|\be\b|\bog\b|\bsowie\b)\s*"
)
_NOT_NAMES = ("http://", "https://", "@")
# (attribute values found, then their elements: faster than a predicate on every element)
_BYLINE_XPATH = etree.XPath(
    "//body//*/@class[contains(., 'author') or contains(., 'byline')]"
    "/parent::*[not(self::script or self::style or self::img or self::meta)]"
)
_AUTHOR_XPATH = etree.XPath("(//@rel[. = 'author'] | //@itemprop[. = 'author'])/parent::*")
_AUTHOR_NAME_XPATH = etree.XPath(".//*[@itemprop='name']")
_BYLINE_CLASS_RE = re.compile(
    r"(?<![a-z])(?:author-?name|byline-?name|byline-?author|author|byline|by-?author)(?![a-z-])"
)
# lower-case function words that names of people do not have
_ORGANISATION_RE = re.compile(r"\s(?:for|of|the|on|in|at|to|from|with)\s")
_NAME_EDGES = " -|/:\u00b7\u2022\u2013\u2014"
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# an initials tag after a name: "(obe)", "[dpa/jm]"
_TAG_RE = re.compile(r"[(\[][^()\[\]]{1,12}[)\]]")
_ALPHA_RE = re.compile(r"[^\W\d_]{2}")
# initials only ("obe", "jm/dpa"), never a name
_INITIALS_RE = re.compile(r"^[a-z]{1,3}(?:/[a-z]{1,4})*$")
# an academic or professional credential after a name ("MD", "Ph.D.", "CEPF®")
_CREDENTIAL_RE = re.compile(r"^(?:[A-Z][A-Z.®\d-]{1,9}|Ph\.?\s?D\.?|Jr\.?|Sr\.?|Esq\.?)$")
# news agencies: authors only when no person is named
_AGENCIES = frozenset(
    {
        *("dpa", "afp", "ap", "reuters", "apa", "sda", "kna", "epd", "ansa", "efe", "upi"),
        *("ddp", "dapd", "sid", "anp", "belga", "ntb", "tt", "pap", "ctk", "mti", "tass"),
        *("xinhua", "kyodo", "yonhap", "aap", "pti", "ians", "ani", "pa", "pa media"),
        *("associated press", "the associated press", "agence france-presse", "press association"),
    }
)
# "By", "Written by:", "Author:", "Von" before a name ("Written byJane Roe" too)
_BY_RE = re.compile(
    r"^(?:(?i:(?:(?:written|posted|text|words|story|reported|published)\s+)?by)"
    r"(?:\s*:\s*|\s+|(?=[A-Z]))|(?i:author)(?:\s*:\s*|\s+(?=[A-Z]))"
    r"|(?i:von|por|par|di|de|door|af|av)\s+)"
)
# a date after the name in a visible byline ("Jane Roe - Mar 27", "Jane Roe on 04-05-2021")
_DATE_TAIL_RE = re.compile(
    r"\s*(?:[-|\u00b7\u2022]|\bon\b|\bupdated\b)\s*[\w ,.:/-]*\d[\w ,.:/-]*$", re.I
)
_WORD_RE = re.compile(r"\w+")
# a text run this long outside a <p> counts as prose in the page's text mass
_LOOSE_RUN_CHARS = 150
_NOT_WORD_RE = re.compile(r"\W+")
_TITLE_SEPARATOR_RE = re.compile(r"\s+(?:[|\u2013\u2014\u00b7\u2022-]|::)\s+")
# The visible <h1> is the title when it is a full headline: this many words (or characters,
# for scripts without spaces), and this share of its words in a title the page declares.
# Measured on the WCXB set: 0.82 exact titles against 0.55 for JSON-LD > og:title > <h1>.
_H1_MIN_WORDS = 3
_H1_MIN_CHARS = 12
_H1_AGREES = 0.3
_ALNUM_RE = re.compile(r"[^\W_]")
# comment and CDATA wrappers some pages put around their JSON-LD
_JSONLD_WRAPPER_RE = re.compile(r"^\s*(?:<!--|(?://\s*)?<!\[CDATA\[)|(?://\s*)?(?:\]\]>|-->)\s*$")
_DECK_RE = re.compile(
    r"(?<![a-z])(dek|deck|sub-?head(line)?|subline|sub-?title|summary|abstract|excerpt|"
    r"standfirst|lead-?paragraph|heading-?des|description|alternativeheadline)(?![a-z])"
)
_BODY_CLASS_RE = re.compile(
    r"(?<![a-z])(article|story|entry|post|content)[-_]*(body|content|text|chunk)(?![a-z])"
)
# runs of text of prose length outside <p> (and outside code the cleanup strips)
_LOOSE_RUNS = etree.XPath(
    f".//text()[string-length(normalize-space(.)) >= {_LOOSE_RUN_CHARS}]"
    "[not(ancestor::p or ancestor::script or ancestor::style or ancestor::template)]"
)
# class tokens of disclosure widgets: accordions, collapsible panels, toggles, tab panes
_DISCLOSURE_RE = re.compile(
    r"(?<![a-z])(accordion|collaps(e|ed|ible)|toggle|tab-?(pane|panel|content)|disclosure)"
)
_INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "br",
        "cite",
        "code",
        "em",
        "i",
        "mark",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
    }
)
_CAPTION_TAGS = frozenset({"figcaption", "p", "div", "span", "small", "cite", "em"})
_DECK_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "p", "div", "span"})
_SPLIT_BODY_TAGS = frozenset({"div", "section"})
# only the tags some markup step looks at: links, list items and images carry most classes
_MARKED_TAGS = tuple(sorted(_CAPTION_TAGS | _DECK_TAGS | _SPLIT_BODY_TAGS))
# images in these (outside an article), or smaller than this, are not content images
_CHROME_TAGS = frozenset({"header", "footer", "nav", "aside", "form", "button"})
_MIN_IMAGE_PX = 100
# A page's JSON-LD articleBody replaces the extracted text when it is this much longer and
# holds nearly all of it (the extractor then missed parts of the story, e.g. split layouts).
_LD_BODY_GAIN = 1.4
_LD_BODY_COVER = 0.8
# No collapse: a body shorter than this share of the page's own paragraph text (counted
# before cleanup) may have lost the story, and fuller candidates are tried in turn (the
# extractor's full pipeline, the page without the cleanup rules, JSON-LD articleBody).
_PLAUSIBLE_SHARE = 0.5
# ... on a page with at least this much paragraph text (a bare page keeps its empty body)
_MIN_MASS = 400
# the page without cleanup is tried only for a body under this share
_UNCLEANED_SHARE = 0.2
# the cleanup rule that takes comment threads (rules.toml)
_COMMENTS_RULE = "comments"
# a candidate replaces the body when it is this much longer and holds most of its text
_FALLBACK_GAIN = 1.3
_FALLBACK_COVER = 0.6
# the `removed` row that records a body taken from a fallback: `body:<source>`
BODY_SOURCE_RULE = "body"


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
    # which path produced the body: "extractor", "full", "uncleaned", "jsonld", "page-text"
    body_source: str = "extractor"
    extractor_version: str = EXTRACTOR_VERSION


# -- JSON-LD -----------------------------------------------------------------------------


def _walk_jsonld(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if isinstance(node.get(key), (list, dict)):
                yield from _walk_jsonld(node[key], depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type", [])
    types = t if isinstance(t, list) else [t]
    return {str(x).lower() for x in types}


def _load_jsonld(raw: str) -> Any:
    # strict=False admits raw newlines and tabs inside strings, the most common breakage
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    text = _JSONLD_WRAPPER_RE.sub("", raw)
    text = re.sub(r",\s*([}\]])", r"\1", text)
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    # several objects one after another, not in a list
    decoder = json.JSONDecoder(strict=False)
    found, pos = [], 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        found.append(obj)
    return found or None


@dataclass
class _LinkedData:
    """The page's article object from JSON-LD and every node by @id, for references."""

    article: dict[str, Any] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)


def _jsonld(root: HtmlElement) -> _LinkedData:
    found = _LinkedData()
    candidates: list[dict[str, Any]] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        for obj in _walk_jsonld(_load_jsonld(raw)):
            if isinstance(obj.get("@id"), str):
                found.by_id.setdefault(obj["@id"], obj)
            types = _types(obj)
            if types & _ARTICLE_TYPES:
                candidates.append(obj)
    # a NewsArticle beats a WebPage; the first of the best kind wins
    for obj in candidates:
        if _types(obj) - {"webpage"}:
            found.article = obj
            break
    else:
        if candidates and (candidates[0].get("headline") or candidates[0].get("articleBody")):
            found.article = candidates[0]
    return found


def _ld_value(value: Any) -> Any:
    # a first item, a thing's name or a typed value, nested at most a few levels deep
    for _ in range(4):
        if isinstance(value, list):
            value = value[0] if value else None
        elif isinstance(value, dict):
            value = value.get("name") or value.get("@value") or value.get("text")
        else:
            break
    return value


def _ld_text(value: Any) -> str | None:
    value = _ld_value(value)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return clean_text(_unescape(str(value))) or None
    return None


def _unescape(text: str) -> str:
    # some sites leave HTML entities in JSON-LD strings
    return html_unescape(text) if "&" in text else text


def _ld_names(value: Any, ld: _LinkedData) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
            item = ld.by_id.get(item["@id"], item)
        value = _ld_value(item)
        name = clean_text(_unescape(value)) if isinstance(value, str) else ""
        if name and not name.startswith(("http://", "https://", "/", "#")):
            names.append(name)
    return names


def _ld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
        if isinstance(value, list):
            value = value[0] if value else None
    return str(value) if isinstance(value, str) else None


# -- meta ------------------------------------------------------------------------------


def _meta(root: HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for el in root.iter("meta"):
        key = (
            (
                (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv"))
                or ""
            )
            .strip()
            .lower()
        )
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
    """ISO 8601 for a date string: with its zone when it has one, date only when no time."""
    text = clean_text(raw)
    if not text or len(text) > 64:
        return None
    candidate = _ZONE_SPACE_RE.sub(r"\1", text)
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            value = None
    if value is None:
        match = _DATE_PREFIX_RE.match(text)
        if not match:
            return None
        year, month, day = (int(g) for g in match.groups())
        try:
            return datetime(year, month, day).date().isoformat()
        except ValueError:
            return None
    if not 1900 <= value.year <= 2100:
        return None
    if len(candidate) <= 10 and value.hour == value.minute == value.second == 0:
        return value.date().isoformat()
    return value.isoformat()


def _time_elements(root: HtmlElement) -> tuple[str | None, str | None]:
    """The published and modified `datetime` of <time> elements, by markup hints."""
    published = modified = fallback = None
    for el in root.iter("time"):
        value = str(el.get("datetime") or "").strip()
        if not value or _iso(value) is None:
            continue
        hint = " ".join(str(el.get(a) or "") for a in ("itemprop", "class", "id")).lower()
        if el.get("pubdate") is not None:
            hint += " pubdate"
        if modified is None and any(w in hint for w in ("modified", "updated", "update")):
            modified = value
        elif published is None and any(w in hint for w in ("published", "pubdate", "created")):
            published = value
        elif fallback is None:
            fallback = value
    return published or fallback, modified


def _url_date(url: str) -> str | None:
    for regex in (_URL_DATE_RE, _URL_COMPACT_DATE_RE):
        match = regex.search(url)
        if match and match.group(3):
            year, month, day = (int(g) for g in match.groups())
            try:
                return datetime(year, month, day).date().isoformat()
            except ValueError:
                continue
    return None


def _dates(
    root: HtmlElement, url: str, ld: dict[str, Any], meta: dict[str, list[str]]
) -> tuple[tuple[str, str, str] | None, tuple[str, str, str] | None]:
    """(value, source, raw) for the published and the modified date, each or None."""
    time_published, time_modified = _time_elements(root)
    published_candidates = (
        (_ld_text(ld.get("datePublished")) or _ld_text(ld.get("dateCreated")), "jsonld"),
        (_first(meta, *_PUBLISHED_META), "meta"),
        (time_published, "time"),
        (_url_date(url), "url"),
    )
    modified_candidates = (
        (_ld_text(ld.get("dateModified")), "jsonld"),
        (_first(meta, *_MODIFIED_META), "meta"),
        (time_modified, "time"),
    )
    results: list[tuple[str, str, str] | None] = []
    for candidates in (published_candidates, modified_candidates):
        chosen = None
        for raw, source in candidates:
            value = _iso(raw) if raw else None
            if raw and value:
                chosen = (value, source, raw)
                break
        results.append(chosen)
    return results[0], results[1]


# -- images ----------------------------------------------------------------------------


def _split_credit(caption: str, rules: ImageRules) -> tuple[str | None, str | None]:
    """A caption text cut where its credit ("Photo: …", "© …") begins; either may be None."""
    match = rules.credit_text.search(caption)
    if match is None:
        return caption or None, None
    credit = clean_text(caption[match.start() :]).strip("()[] ") or None
    return clean_text(caption[: match.start()]) or None, credit


def _class_key(el: HtmlElement) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}".lower()


def _image_url(img: HtmlElement, base: str) -> str | None:
    for attr in ("src", "data-src", "data-original", "data-lazy-src", "data-url"):
        url = absolute_http_url(img.get(attr), base)
        if url:
            return url
    srcset = img.get("srcset") or img.get("data-srcset") or ""
    first = srcset.strip().split(" ")[0] if srcset.strip() else None
    return absolute_http_url(first, base)


def _caption_parts(cap: HtmlElement, rules: ImageRules) -> tuple[str | None, str | None]:
    """Caption and credit text of a caption element; credit sub-elements are taken apart."""
    credit_els = [el for el in cap.iter() if el is not cap and rules.credit.search(_class_key(el))]
    credit = clean_text(" ".join(el.text_content() for el in credit_els)) or None
    for el in credit_els:
        if el.getparent() is not None:
            el.drop_tree()
    caption = clean_text(cap.text_content()) or None
    if caption and not credit:
        caption, credit = _split_credit(caption, rules)
    return caption, credit


class _Marks(NamedTuple):
    """Elements with a class, id or itemprop, with their tags and those values lower-cased
    (each read once, as lxml makes a new string per read), in page order; in three lists,
    not a tuple per element, which the garbage collector would walk again and again."""

    elements: list[HtmlElement]
    tags: list[str]
    keys: list[str]


def _markup(scope: HtmlElement) -> _Marks:
    """Every element of the tags the markup steps look at with a class, id or itemprop.

    One scan shared by the steps that look at markup names: making element objects is
    the costly part of walking a tree from Python (iter's tag filter, in C, makes fewer).
    """
    marks = _Marks([], [], [])
    for el in scope.iter(*_MARKED_TAGS):
        names, ident, prop = el.get("class"), el.get("id"), el.get("itemprop")
        if names is not None or ident is not None or prop is not None:
            marks.elements.append(cast(HtmlElement, el))
            marks.tags.append(cast(str, el.tag))
            marks.keys.append(f"{names or ''} {ident or ''} {prop or ''}".lower())
    return marks


def _by_markup(marks: _Marks, pattern: re.Pattern[str], tags: frozenset[str]) -> list[HtmlElement]:
    """Elements of these tags whose class, id or itemprop the pattern finds, in page order."""
    pairs = zip(marks.tags, marks.keys, strict=True)
    found = _matching_keys(pattern, {key for tag, key in pairs if tag in tags})
    if not found:
        return []
    triples = zip(*marks, strict=True)
    return [el for el, tag, key in triples if key in found and tag in tags]


def _matching_keys(pattern: re.Pattern[str], keys: set[str]) -> set[str]:
    """The class keys in which the pattern finds a match: the keys' words in one scan where
    no match can span a space, else each key whole."""
    if not matches_within_words(pattern.pattern):
        return {key for key in keys if pattern.search(key)}
    hits = words_matching(pattern, keys).keys()
    return {key for key in keys if not hits.isdisjoint(key.split())} if hits else set()


def _content_image(img: HtmlElement) -> bool:
    """Not a logo, icon or tracking pixel by its markup: not in page chrome, not tiny."""
    for attr in ("width", "height"):
        size = (img.get(attr) or "").strip().removesuffix("px")
        if size.isdigit() and int(size) < _MIN_IMAGE_PX:
            return False
    for anc in img.iterancestors():
        if anc.tag in ("article", "main"):
            return True  # an article's own <header> holds its lead image
        if anc.tag in _CHROME_TAGS:
            return False
    return True


def _images(scope: HtmlElement, marks: _Marks, base: str, rules: ImageRules) -> list[Image]:
    """Content images with captions and credits; captions and credits leave the tree."""
    found: dict[str, dict[str, str | None]] = {}
    owner: dict[HtmlElement, str] = {}
    for img in scope.iter("img"):
        # the markup first: resolving the URL costs more, and half the images are chrome
        if not _content_image(img):
            continue
        url = _image_url(img, base)
        if url is None or urlsplit(url).path.lower().endswith(".svg"):  # a vector: an icon
            continue
        owner[img] = url
        if url not in found:
            found[url] = {
                "alt": clean_text(img.get("alt")) or None,
                "caption": None,
                "credit": None,
            }
    # captions: <figcaption> and elements whose class says caption or credit; a wrapper of
    # the image and its caption ("wp-caption") is not the caption
    marked = {
        el: None
        for el in (*scope.iter("figcaption"), *_by_markup(marks, rules.any, _CAPTION_TAGS))
        if el.find(".//img") is None
    }
    for el in marked:
        if el.getparent() is None or any(a in marked for a in el.iterancestors()):
            continue
        if len(el.text_content()) > 1000:
            continue  # a caption class on a container: leave it to the body extractor
        url = _nearest_image(el, owner)
        if el.tag == "figcaption" or rules.caption.search(_class_key(el)):
            caption, credit = _caption_parts(el, rules)
        else:
            caption, credit = None, clean_text(el.text_content()) or None
        if url is None and not (caption or credit):
            continue
        if url is not None:
            entry = found[url]
            entry["caption"] = entry["caption"] or caption
            entry["credit"] = entry["credit"] or credit
        el.drop_tree()
    return [
        Image(url=url, alt=v["alt"], caption=v["caption"], credit=v["credit"], position=i)
        for i, (url, v) in enumerate(found.items())
    ]


def _nearest_image(el: HtmlElement, owner: dict[HtmlElement, str]) -> str | None:
    node: HtmlElement | None = el
    for _ in range(4):
        node = node.getparent() if node is not None else None
        if node is None:
            return None
        for img in node.iter("img"):
            if img in owner:
                return owner[img]
    return None


# -- body ------------------------------------------------------------------------------


def _top(el: HtmlElement) -> HtmlElement:
    """The outermost ancestor of an element: the page's root unless it was dropped."""
    top = el
    for top in el.iterancestors():  # noqa: B007 - only the last one is wanted
        pass
    return top


def _open_disclosures(scope: HtmlElement) -> None:
    """Make a disclosure widget's panel of prose (inline markup only) a <p>.

    trafilatura's fast path drops such a <div> between paragraphs, and an accordion or
    collapsible panel is the page's own text shown on a click. Other loose <div>s stay as
    they are: they are as often teaser excerpts and widgets as story.
    """
    for el in list(scope.iter("div")):
        if el.text is None or len(el.text.strip()) < 2:
            continue
        parent = el.getparent()
        classes = (
            f"{el.get('class') or ''} {parent.get('class') or '' if parent is not None else ''}"
        )
        if not _DISCLOSURE_RE.search(classes.lower()):
            continue
        if any(not isinstance(child.tag, str) or child.tag not in _INLINE_TAGS for child in el):
            continue
        if len(clean_text(el.text_content())) >= _LOOSE_RUN_CHARS:
            el.tag = "p"


def _join_split_body(root: HtmlElement, marks: _Marks) -> None:
    """Move the story's later body blocks into its first one, when a page splits it up.

    Some sites cut the story into several sibling blocks with the same body class (ads and
    embeds in between); body extractors take the first block for the whole story.
    """
    groups: dict[tuple[str, str], list[HtmlElement]] = {}
    for el in _by_markup(marks, _BODY_CLASS_RE, _SPLIT_BODY_TAGS):
        # still in the page: cleanup may have dropped it, or a block around it (a dropped
        # element stays in lxml's document, so its getroottree() is still the page's)
        if _top(el) is root:
            groups.setdefault((el.tag, el.get("class") or ""), []).append(el)
    for blocks in groups.values():
        if len(blocks) < 2 or len(blocks) > 50:
            continue
        first, rest = blocks[0], blocks[1:]
        if any(first in set(b.iterancestors()) for b in rest):
            continue
        for block in rest:
            if block.getparent() is None or block.find(".//p") is None:
                continue
            first.extend(list(block))
            block.drop_tree()


def _drop_standfirst(scope: HtmlElement, marks: _Marks, descriptions: Sequence[str | None]) -> None:
    """Remove the standfirst: an element repeating the page's description as a deck.

    Many sites also use their first paragraph as the description, so a plain paragraph
    with the same text stays; a heading, a description item or a deck-like class goes.
    """
    wanted = {_norm(d) for d in descriptions if d}
    wanted = {d for d in wanted if len(d) >= 20}
    if not wanted:
        return
    headings = scope.iter("h2", "h3", "h4", "h5", "h6")
    for el in (*headings, *_by_markup(marks, _DECK_RE, _DECK_TAGS)):
        if el.getparent() is None:
            continue
        text = el.text_content()
        if len(text) <= 1000 and _norm(text) in wanted:
            el.drop_tree()


def _norm(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.casefold()))


# trafilatura's options for its fast pass (favouring recall) and for its full pipeline
_TRAFILATURA_OPTIONS = {
    fast: Extractor(fast=fast, recall=fast, comments=False, tables=True, dedup=False)
    for fast in (True, False)
}


def _trafilatura_paragraphs(root: HtmlElement, url: str, *, fast: bool = True) -> list[str]:
    """trafilatura's paragraphs: fast and favouring recall, or its full pipeline as it is.

    (favor_recall with the full pipeline makes its fallback comparison keep the smaller text.)
    """
    # trafilatura builds these options from its config file on every call otherwise
    options = copy.copy(_TRAFILATURA_OPTIONS[fast])
    options.url = url
    options.source = url.encode("utf-8", "replace").decode("utf-8")
    try:
        with guarded():  # its regex tests of absent attributes skipped: the same text
            text = trafilatura.extract(root, options=options)
    except Exception as exc:  # trafilatura on hostile input: fall back, never raise
        logger.debug("trafilatura failed on %s: %s", url, exc)
        text = None
    return [p for p in (clean_text(line) for line in (text or "").split("\n")) if p]


def _drop_repeats(paragraphs: list[str], heads: Sequence[str | None], url: str) -> list[str]:
    """The paragraphs without the headline near the top, the page's URL, repeats, separators."""
    known = {_norm(h) for h in heads if h}
    known.discard("")
    kept: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        # the headline is looked for near the top only: no normalising the rest
        if not _ALNUM_RE.search(paragraph) or (i < 3 and _norm(paragraph) in known):
            continue
        if paragraph == url:
            continue
        if kept and paragraph == kept[-1]:
            continue
        kept.append(paragraph)
    return kept


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD_RE.findall(text.casefold())
    return {tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3))}


def _ld_body(ld: dict[str, Any]) -> list[str]:
    body = ld.get("articleBody")
    if isinstance(body, list):
        body = "\n".join(str(b) for b in body if isinstance(b, str))
    if not isinstance(body, str):
        return []
    if "<" in body and ">" in body:
        # markup in JSON-LD that lxml cannot read stays as text
        with contextlib.suppress(Exception):
            body = lxml.html.fragment_fromstring(body, create_parent="div").text_content()
    return [p for p in (clean_text(x) for x in _unescape(body).split("\n")) if p]


def _best_body(extracted: list[str], from_ld: list[str]) -> list[str]:
    """The extracted paragraphs, unless JSON-LD articleBody is clearly more complete."""
    if not from_ld:
        return extracted
    if not extracted:
        return from_ld
    ld_text, ex_text = " ".join(from_ld), " ".join(extracted)
    if len(ld_text) < _LD_BODY_GAIN * len(ex_text):
        return extracted
    ours, theirs = _shingles(ex_text), _shingles(ld_text)
    if ours and len(ours & theirs) >= _LD_BODY_COVER * len(ours):
        return from_ld
    return extracted


def _site_keys(url: str, names: Sequence[str | None]) -> frozenset[str]:
    """The site's names (og:site_name, publisher) and host, lower-cased without punctuation."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    keys = {_key(n) for n in names if n} | {_key(host), _key(host.split(".")[0])}
    return frozenset(k for k in keys if k)


def _key(text: str) -> str:
    return _NOT_WORD_RE.sub("", text.casefold())


def _strip_site_suffix(title: str, sites: frozenset[str] = frozenset()) -> str:
    """The title without the site's name before or after a separator ("Headline | Site").

    Without known names (the <title> element's last resort) everything after the first
    separator goes, as long as a headline of 10 characters is left.
    """
    cuts = list(_TITLE_SEPARATOR_RE.finditer(title))
    if not cuts:
        return title
    if not sites:
        head = title[: cuts[0].start()]
        return head if len(head) >= 10 else title
    start, end = 0, len(title)
    for cut in reversed(cuts):
        if _key(title[cut.end() : end]) not in sites:
            break
        end = cut.start()
    for cut in cuts:
        if cut.start() >= end or _key(title[start : cut.start()]) not in sites:
            break
        start = cut.end()
    return title[start:end].strip() or title


def _full_headline(h1: str, declared: Sequence[str]) -> bool:
    """Whether the visible <h1> is the page's headline: long enough, and in line with a
    title the page declares (JSON-LD, og:title, <title>), when it declares any."""
    if len(h1.split()) < _H1_MIN_WORDS and len(h1) < _H1_MIN_CHARS:
        return False
    words = set(_WORD_RE.findall(h1.casefold()))
    if not declared or not words:
        return bool(words)
    return any(
        len(words & set(_WORD_RE.findall(d.casefold()))) >= _H1_AGREES * len(words)
        for d in declared
    )


# a fallback's source name, whether it is worth trying for a body, and how to make its body
_Fallback = tuple[str, "Callable[[_Body], bool]", "Callable[[], _Body]"]


@dataclass(frozen=True)
class _Body:
    """A candidate body: the path that produced it, its paragraphs, what its filter dropped."""

    source: str
    paragraphs: list[str]
    removed: list[Removal] = field(default_factory=list)
    tree: HtmlElement | None = None  # the tree it was extracted from

    @property
    def chars(self) -> int:
        """Characters of text, separators aside."""
        return sum(len(p) for p in self.paragraphs)


def _fuller(current: _Body, candidate: _Body, mass: int) -> bool:
    """Whether the candidate is clearly longer than the body, holds most of its text (or the
    body is near-empty and the candidate has the page's text mass) and adds no other post."""
    if candidate.chars < _FALLBACK_GAIN * current.chars or not candidate.paragraphs:
        return False
    ours = _shingles(" ".join(current.paragraphs))
    if ours:
        theirs = _shingles(" ".join(candidate.paragraphs))
        # a near-empty body the candidate does not hold is a wrong block, not a short story
        wrong_block = (
            current.chars < _UNCLEANED_SHARE * mass and candidate.chars >= _PLAUSIBLE_SHARE * mass
        )
        if len(ours & theirs) < _FALLBACK_COVER * len(ours) and not wrong_block:
            return False
    return candidate.tree is None or not _adds_other_posts(candidate.tree, current, candidate)


def _adds_other_posts(tree: HtmlElement, current: _Body, candidate: _Body) -> bool:
    """Whether most of what the candidate adds is in <article>s that hold none of the body.

    Related posts and teaser cards are often <article>s of their own: the full pipeline
    takes their excerpts for the story when the story is short. Sibling <article>s of the
    story's own are its sections (a guide's steps), not other posts.
    """
    body = set(current.paragraphs)
    added = {p for p in candidate.paragraphs if p not in body}
    home: dict[str, HtmlElement | None] = {}
    for el in tree.iter("p"):
        text = clean_text(el.text_content())
        if text in body or text in added:
            home.setdefault(text, next(el.iterancestors("article"), None))
    story: set[HtmlElement | None] = {home.get(p) for p in body} - {None}
    if len(story) != 1:
        return False  # no story <article>, or a body of teaser cards itself
    parents = {el.getparent() for el in story if el is not None}
    by_post: dict[HtmlElement, int] = {}
    for p in added:
        el = home.get(p)
        if el is not None and el not in story and el.getparent() not in parents:
            by_post[el] = by_post.get(el, 0) + len(p)
    # a teaser card adds an excerpt; one <article> adding more than the whole body is the
    # rest of the story in a block of its own (a recipe's method under its introduction)
    other = sum(chars for chars in by_post.values() if chars <= current.chars)
    return other > 0.5 * sum(len(p) for p in added)


def _text_mass(scope: HtmlElement) -> int:
    """Characters of prose on the page: its paragraphs, with long runs of text outside any <p>
    (a story set in <div>s with <br>s) at half weight, never less than the paragraphs alone.

    Runs outside <p> are as often teaser excerpts and widgets as story, so they count half.
    """
    paragraphs = paragraph_chars(scope)
    loose = sum(len(run.strip()) for run in cast(list[str], _LOOSE_RUNS(scope)))
    return max(paragraphs, (paragraphs + loose) // 2)


def _without_threads(mass: int, threads: Sequence[HtmlElement], body: _Body) -> int:
    """The text mass less the comment threads': every fallback leaves comments out, so they
    are no story the cleanup lost. A block that holds most of the body is the story's,
    whatever its class says ("post has-comments"), and stays in."""
    for thread in threads:
        text = clean_text(thread.text_content())
        held = sum(len(p) for p in body.paragraphs if p in text)
        if held < _PLAUSIBLE_SHARE * body.chars:
            mass -= _text_mass(thread)
    return max(0, mass)


def _no_collapse(body: _Body, mass: int, fallbacks: Sequence[_Fallback]) -> _Body:
    """The body, or a fuller fallback while it is implausibly small for the page's text."""
    for source, due, make in fallbacks:
        if mass < _MIN_MASS or body.chars >= _PLAUSIBLE_SHARE * mass:
            break
        if source != body.source and due(body):
            candidate = make()
            if _fuller(body, candidate, mass):
                body = candidate
    return body


# -- entry points ----------------------------------------------------------------------


def extract_from_tree(
    root: HtmlElement,
    url: str,
    config: SiteConfig | None = None,
    *,
    rules: Sequence[CleanupRule] | None = None,
) -> Article:
    """Extract an article from a parsed page; the tree is cleaned in place. Never raises.

    `rules` replaces the global cleanup rules (the site's `strip` rule still applies).
    """
    return extract_from_page(bound_page(root, url), config, rules=rules)


def extract_from_page(
    page: Page,
    config: SiteConfig | None = None,
    *,
    rules: Sequence[CleanupRule] | None = None,
) -> Article:
    """Extract an article from a page read by `parse_page` (its tree is cleaned in place),
    with the page's cuts among its `removed` rows. Never raises.

    The tree must be as `parse_page` left it: a fallback may read `page.html` again.
    """
    article = Article(url=page.url)
    if not page.parsed:
        return article
    try:
        _extract(page.root, page.url, config, rules, article, page.html)
    except Exception as exc:  # web input must never stop a crawl: keep what was found
        page.failed("article extraction", exc)
    article.removed.extend(page.removed)
    return article


def _extract(
    root: HtmlElement,
    url: str,
    config: SiteConfig | None,
    rules: Sequence[CleanupRule] | None,
    article: Article,
    html: str | None = None,
) -> None:
    ld_data = _jsonld(root)
    ld = ld_data.article
    meta = _meta(root)

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
    og_title = _first(meta, "og:title", "twitter:title")
    sites = _site_keys(url, (_first(meta, "og:site_name", "application-name"), _publisher(ld_data)))
    headline = _ld_text(ld.get("headline")) or ""
    declared = [t for t in (headline, clean_text(og_title or ""), page_title) if t]
    if _full_headline(h1_text, declared):
        article.title = _strip_site_suffix(h1_text, sites)
    else:
        article.title = (
            _strip_site_suffix(headline, sites)
            or _strip_site_suffix(clean_text(og_title or ""), sites)
            or h1_text
            or _strip_site_suffix(_strip_site_suffix(page_title, sites))
            or _ld_text(ld.get("name"))
        )

    description = _first(meta, "og:description", "description", "twitter:description")
    article.lead = _ld_text(ld.get("description")) or (
        clean_text(description) if description else None
    )

    article.authors = _authors(root, ld_data, meta, sites)

    published, modified = _dates(root, url, ld, meta)
    if published:
        article.published, article.published_from, article.published_raw = published
    if modified:
        article.modified, article.modified_from, article.modified_raw = modified
    if published is None:
        found = _htmldate(root, url)
        if found:
            article.published, article.published_from, article.published_raw = found

    article.language = _language(root, ld, meta)
    article.section = _ld_text(ld.get("articleSection")) or _first(meta, "article:section")
    article.tags = _tags(ld, meta)

    body_el = root.find("body")
    scope = body_el if body_el is not None else root
    marks = _markup(scope)
    article.images = _images(scope, marks, url, image_rules())
    top = _ld_image(ld.get("image")) or _first(meta, "og:image", "twitter:image")
    article.top_image = absolute_http_url(top, url) or (
        article.images[0].url if article.images else None
    )

    descriptions = (article.lead, description, _first(meta, "twitter:description"))
    _drop_comments_and_standfirst(root, scope, marks, descriptions)
    active = tuple(rules) if rules is not None else global_rules()
    if config is not None and config.strip:
        active = active + site_rules(config.name, config.strip)
    # the page as it was before cleanup, for the no-collapse check and its fallbacks
    mass = _text_mass(scope)
    _drop_svg(root)
    # (no fallback runs on a page with less text than _MIN_MASS: no copy needed; a page
    # parsed from its text is parsed again for the one that needs it, which few pages run)
    before = copy.deepcopy(root) if html is None and mass >= _MIN_MASS else root

    def pristine() -> HtmlElement:
        return _parsed_again(html, url, descriptions) if html is not None else before

    threads: list[HtmlElement] = []  # what the comments rule matched, gone or kept
    article.removed = apply_rules(root, active, on_match={_COMMENTS_RULE: threads.append})
    _join_split_body(root, marks)
    _open_disclosures(scope)

    def extracted(source: str, tree: HtmlElement, fast: bool) -> _Body:
        paragraphs = _trafilatura_paragraphs(tree, url, fast=fast)
        kept, late = filter_paragraphs(paragraphs, active)
        return _Body(source, kept, late, tree)

    from_ld = _ld_body(ld)
    # the fast path reads the <body> alone: ~15% faster, the same text on all 974 benchmark
    # pages (the full pipeline's readability and justext read the whole page: not so there)
    body = extracted("extractor", scope, True)
    if from_ld and _best_body(body.paragraphs, from_ld) is from_ld:
        body = _Body("jsonld", from_ld)
    if body.chars < _PLAUSIBLE_SHARE * mass:
        mass = _without_threads(mass, threads, body)
    if body.chars < _PLAUSIBLE_SHARE * mass:
        # the page without cleanup (the costliest, noisiest path) only for a near-empty body
        fallbacks: tuple[_Fallback, ...] = (
            ("full", lambda _: True, lambda: extracted("full", root, False)),
            (
                "uncleaned",
                lambda current: current.chars < _UNCLEANED_SHARE * mass,
                lambda: extracted("uncleaned", pristine(), False),
            ),
            ("jsonld", lambda _: bool(from_ld), lambda: _Body("jsonld", from_ld)),
        )
        body = _no_collapse(body, mass, fallbacks)
    article.removed.extend(body.removed)
    # not the description: many sites repeat their first paragraph as description, and a
    # standfirst element went by its markup already
    heads = (article.title, h1_text, og_title, _strip_site_suffix(page_title), page_title)
    paragraphs = _drop_repeats(body.paragraphs, heads, url)
    if not paragraphs:
        # the extractor found nothing: the page's own longer lines of text, if it has any
        lines = [clean_text(p.text_content()) for p in scope.iter("p")]
        if not any(lines):
            lines = [clean_text(line) for line in scope.text_content().split("\n")]
        paragraphs = _drop_repeats([t for t in lines if len(t) > 40], heads, url)
        body = _Body("page-text", paragraphs)
    article.body = "\n\n".join(paragraphs)
    article.word_count = len(article.body.split())
    article.body_source = body.source
    if body.source != "extractor" and article.body:
        text = f"body from {body.source}: {len(article.body):,} characters"
        article.removed.append(Removal(rule=f"{BODY_SOURCE_RULE}:{body.source}", text=text))


def _drop_comments_and_standfirst(
    root: HtmlElement, scope: HtmlElement, marks: _Marks, descriptions: Sequence[str | None]
) -> None:
    """What every path reads the page without, before its text mass is taken."""
    # trafilatura strips comments with their tails: "When <!-- -->President" loses the rest
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    _drop_standfirst(scope, marks, descriptions)


def _drop_svg(root: HtmlElement) -> None:
    """Inline SVG out: icons and charts, no text of the story's, and often most elements."""
    etree.strip_elements(root, "svg", with_tail=False)


def _parsed_again(html: str, url: str, descriptions: Sequence[str | None]) -> HtmlElement:
    """The page as `_extract` had it before cleanup, from a second parse of its text."""
    page = parse_again(html, url)
    body = page.root.find("body")
    scope = body if body is not None else page.root
    marks = _markup(scope)
    _images(scope, marks, url, image_rules())  # captions and credits leave the tree
    _drop_comments_and_standfirst(page.root, scope, marks, descriptions)
    _drop_svg(page.root)
    return page.root


def _publisher(ld: _LinkedData) -> str | None:
    publisher = ld.article.get("publisher")
    if isinstance(publisher, dict) and "name" not in publisher:
        publisher = ld.by_id.get(str(publisher.get("@id")), publisher)
    return _ld_text(publisher)


def _authors(
    root: HtmlElement, ld: _LinkedData, meta: dict[str, list[str]], sites: frozenset[str]
) -> list[str]:
    """Authors from JSON-LD, then meta, then rel/itemprop=author: each byline split into
    people, without what is not a person (see _people)."""
    found: list[str] = []
    if ld.article.get("author"):
        found = _people(_ld_names(ld.article.get("author"), ld), sites)
    if not found:
        for key in _AUTHOR_META:
            values = [
                v for v in meta.get(key, []) if not v.startswith(("http://", "https://", "@"))
            ]
            found = _people(values, sites)
            if found:
                break
    if not found:
        names = []
        for el in cast(list[HtmlElement], _AUTHOR_XPATH(root)):
            name_el = next(iter(cast(list[HtmlElement], _AUTHOR_NAME_XPATH(el))), el)
            name = clean_text(name_el.text_content())
            if name and len(name) <= 80:
                names.append(name)
        found = _people(names, sites)
    if not found:
        # the visible byline: a short element whose class says author or byline
        for el in cast(list[HtmlElement], _BYLINE_XPATH(root)):
            if _BYLINE_CLASS_RE.search(_class_key(el)):
                name = _DATE_TAIL_RE.sub("", clean_text(el.text_content()))
                if name and len(name) <= 80:
                    found = _people([name], sites)
            if found:
                break
    return found


def _people(bylines: Sequence[str], sites: frozenset[str]) -> list[str]:
    """The people named in bylines ("A and B", "A und B, dpa", "X; Y", "A, B and C").

    E-mail addresses, numbers and initials tags ("(obe)") are not authors; a news agency
    ("dpa", "AFP") or the site's own name is kept only when the bylines name no one else.
    """
    people: list[str] = []
    fallback: list[str] = []
    for byline in bylines:
        text = _EMAIL_RE.sub(" ", _TAG_RE.sub(" ", clean_text(byline)))
        # "Center for Drug Evaluation and Research" is one organisation, not two people
        parts = [text] if _ORGANISATION_RE.search(text) else _AUTHOR_SPLIT_RE.split(text)
        for raw in parts:
            name = clean_text(_BY_RE.sub("", raw.strip(_NAME_EDGES)))
            if not name or not _ALPHA_RE.search(name):
                continue
            if name.casefold() in _AGENCIES or _key(name) in sites:
                fallback.append(name)
            elif _CREDENTIAL_RE.match(name) and people:
                people[-1] = f"{people[-1]}, {name}"  # "Jane Roe, MD": one person
            elif not _INITIALS_RE.match(name):
                people.append(name)
    return list(dict.fromkeys(people or fallback))


def _language(root: HtmlElement, ld: dict[str, Any], meta: dict[str, list[str]]) -> str | None:
    raw = (
        _ld_text(ld.get("inLanguage"))
        or (root.get("lang") or root.get("xml:lang") or "").strip()
        or _first(meta, "og:locale", "content-language", "language", "dc.language")
        or ""
    )
    code = raw.replace("_", "-").split("-")[0].strip().lower()
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def _tags(ld: dict[str, Any], meta: dict[str, list[str]]) -> list[str]:
    keywords = ld.get("keywords")
    tags: list[str] = []
    if isinstance(keywords, list):
        tags = [clean_text(str(k)) for k in keywords if isinstance(k, (str, int, float))]
    elif isinstance(keywords, str):
        tags = [clean_text(k) for k in keywords.split(",")]
    if not tags:
        tags = [clean_text(t) for t in meta.get("article:tag", [])] or [
            clean_text(k) for k in (_first(meta, "keywords", "news_keywords") or "").split(",")
        ]
    return [t for t in dict.fromkeys(tags) if t]


def _htmldate(root: HtmlElement, url: str) -> tuple[str, str, str] | None:
    # Only when the page names no date in JSON-LD, meta, <time> or its URL: htmldate is slow.
    found = page_date(root, url)
    return (found, "text", found) if found else None


def extract_article(
    html: str | bytes,
    url: str,
    config: SiteConfig | None = None,
    *,
    rules: Sequence[CleanupRule] | None = None,
) -> Article:
    """Extract an article from HTML without Scrapy or network; never raises on bad HTML."""
    return extract_from_page(parse_page(html, url), config, rules=rules)
