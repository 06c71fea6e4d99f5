"""Automatic teaser and next-page detection on listing pages, without configured selectors.

How the teaser detector decides:

1. Every visible link (outside scripts, hidden blocks and running prose) gets a URL score
   (a slug of words, a numeric or generated id, a date path or ``?p=N`` count for an article;
   category, tag, author, user, page, feed, file, home, section and sponsored links count
   against it) and a title text (its words, an empty overlay's ``aria-label``, or for an
   image-only link its ``title``/``alt``). A headline that is no link gets its card's article
   link ("Full story", "Comments (N)", "Read more", an empty overlay) as a link of its own.
2. Links are grouped by their tag path from the root; a group is split where its links sit
   in differently shaped containers (main column and sidebar share paths, rows of one grid
   share a shape). Links to one URL with no other link of the group between them are one
   card. A link's *record* is its highest ancestor that holds no other link of the group: a
   card, a list item, a table row, a post.
3. Groups of distinct article-like URLs (by score, or by one URL shape the group repeats)
   with title-like texts are listings. The best group claims its records first; a group
   inside records already claimed shows the same teasers through other links (image,
   read-more, category) and is dropped, unless its heading links go to other articles
   (small cards inside a hero's block): those are teasers of their own.
4. Listings in sidebars, footers, menus or widgets (by tag, by class/id words such as
   sidebar/widget/menu, or under a "Most read"-style heading) or much poorer in text, images,
   dates and headings than the best listing are ``secondary``; the rest are ``main``, on
   whatever site they link to. A lone heading link beside the main listing (a hero or a post
   shown in full) joins it. Menus of short section names and sponsored items are dropped.
5. Per record: the title is the link text (or the record's heading for image and read-more
   links); the excerpt is the record's prose without the title, links back to the article,
   link lists, dates, captions, meta lines and text repeated in every record; the image is
   the first real image; the date comes from ``<time>``, a date-classed element or a
   date-shaped text.
6. When no listing is main, the best rejected groups of headline-like links, else loose
   headline-like links, are main teasers with a lower ``confidence`` rather than nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import median
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

from lxml import etree

from crawlers.extract.text import absolute_http_url, clean_text, is_read_more, strip_read_more

__all__ = [
    "DATE_RE",
    "BlockFields",
    "DetectedTeaser",
    "Detection",
    "NextPage",
    "detect",
    "detect_next_page",
    "element_text",
    "image_src",
    "is_hidden",
    "read_blocks",
    "same_site",
    "url_score",
    "wordish",
]

Element = etree._Element
SkipFn = Callable[[Element], bool]

SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "math", "select", "option",
        "textarea", "iframe", "object", "embed", "canvas", "head", "button",
    }
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "br", "hr", "td", "th", "tr", "table", "tbody", "thead", "tfoot", "caption",
        "article", "section", "header", "footer", "aside", "nav", "main", "figure",
        "figcaption", "blockquote", "pre", "address", "form", "fieldset", "legend",
        "details", "summary", "center",
    }
)  # fmt: skip
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SR_ONLY = frozenset({"screen-reader-text", "sr-only", "visually-hidden", "visuallyhidden"})
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD_RE = re.compile(r"[^\W_]+")
_ALNUM_RE = re.compile(r"[^\W_]")
_DIGIT_RE = re.compile(r"\d")
_DIGITS_RE = re.compile(r"\d+")

# URL path segments of hubs, tools and files rather than articles. The English words are the
# conventions of most CMSs; a few common translations follow.
_HUB_SEGMENTS = frozenset(
    {
        "category", "categories", "tag", "tags", "author", "authors", "autor", "auteur",
        "autore", "u", "user", "users", "profile", "profiles", "members", "feed", "rss", "atom",
        "search", "suche", "buscar", "recherche", "login", "logout", "register", "signup",
        "signin", "wp-login.php", "wp-admin", "cart", "checkout", "account", "my-account",
        "label", "labels", "kategorie", "kategori", "categoria", "categorie", "rubrik",
        "rubrique", "etiqueta", "etiquetas", "schlagwort", "schlagworte", "sharer",
        "sharer.php", "share.php", "intent", "wp-content", "uploads", "cdn-cgi", "spons",
        "sponsored", "sponsor", "advertorial", "advertorials", "paid-content", "paidpost",
        "partner-content", "brandstudio",
    }
)  # fmt: skip
# Segments that mark a hub only at the end of a path (/archive/2016/ but not /archive/…/story).
_HUB_END_SEGMENTS = frozenset(
    {
        "page", "seite", "pagina", "página", "strona", "archive", "archives", "archiv",
        "date", "topic", "topics", "section", "sections", "ressort", "comments", "comment",
        "subscribe", "newsletter", "contact", "about", "impressum", "imprint", "privacy",
        "datenschutz", "terms", "static", "index", "home",
    }
)  # fmt: skip
_HUB_QUERY_KEYS = frozenset(
    {"cat", "tag", "s", "q", "query", "search", "paged", "page", "author", "m", "replytocom"}
)
_ARTICLE_QUERY_KEYS = frozenset({"p", "id", "article", "story", "post", "aid", "articleid", "nid"})
_PAGE_EXT_RE = re.compile(r"\.(html?|php|aspx?|jsp|shtml|cms)$", re.I)
_PAGE_EXTS = frozenset({"html", "htm", "php", "asp", "aspx", "jsp", "shtml", "cms"})
_FILE_EXTS = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "svg", "bmp", "ico", "pdf", "zip", "rar", "gz",
        "mp3", "mp4", "avi", "mov", "wmv", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "xml",
        "rss", "atom", "css", "js", "json", "txt", "exe", "dmg", "apk",
    }
)  # fmt: skip
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?=[/?#]|$)")
# Paths urljoin would change: dot segments, whitespace it strips, backslashes.
_UNUSUAL_PATH_RE = re.compile(r"/\.|[\s\\]")
_ABSOLUTE_RE = re.compile(r"^https?://[^/?#\s@]+(?=[/?#]|$)", re.I)
_HOST_RE = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)", re.I)
_ID_RE = re.compile(r"\d{3,}")
_PIECE_SPLIT_RE = re.compile(r"[-_+.,~]+")
_COMMENT_FRAGMENT_RE = re.compile(r"^(comments?|respond|disqus_thread|comment-\d+|reply)", re.I)
# Comment-count link texts: "Comments (4 posted)", "12 comments", "comments: none", "7".
_COMMENT_TEXT_RE = re.compile(
    r"^\W*(?:\d+\s*)?(?:comments?|kommentare?|commentaires?|comentarios?|commenti|reacties|"
    r"komentarze?|комментари\w*|コメント|评论|댓글)\b|^\W*\d+\W*$",
    re.I,
)

# Class/id words of containers of secondary material: sidebars, widgets, menus, footers.
_SECONDARY_SUBSTR_RE = re.compile(
    r"sidebar|widget|footer|dropdown|blogroll|ticker|breadcrumb|megamenu|submenu|"
    r"mostread|most-read|most_read|popular|trending|related",
    re.I,
)
_SECONDARY_TOKENS = frozenset({"menu", "nav", "navbar", "navigation", "aside", "rss", "side"})
_SECONDARY_TAGS = frozenset({"aside", "nav", "footer"})
# Labels of advertisers' items, in a few languages.
_SPONSORED_LABEL_RE = re.compile(
    r"^\W*(sponsored(\s+(content|post|story|by\b.*))?|paid(\s+(content|post|for\s+by\b.*))|"
    r"partner(\s+content)|promoted(\s+content)?|advertorial|advertisement|anzeige|werbung|"
    r"gesponsert|publicidad|patrocinado|contenido\s+patrocinado|publicité|sponsorisé|"
    r"contenu\s+sponsorisé|publireportage|реклама|広告|スポンサー)\W*$",
    re.I,
)
_MENU_SUBSTR_RE = re.compile(r"dropdown|megamenu|submenu|navbar|navigation", re.I)
_MENU_TOKENS = frozenset({"menu", "nav", "navbar", "navigation"})
_WIDGET_BOX_RE = re.compile(r"sidebar|widget", re.I)
# Headings of widget boxes ("Most read", "Popular", "Related", …) in a few languages.
_WIDGET_HEADING_RE = re.compile(
    r"^\W*(most\s+(read|popular|viewed|shared|commented|emailed)|popular(\s+(posts|stories|now))?|"
    r"trending(\s+now)?|related(\s+(posts|stories|articles))?|you\s+may\s+also\s+like|"
    r"also\s+read|read\s+next|read\s+more|see\s+also|more\s+on\s+this(\s+story|\s+topic)?|"
    r"meistgelesen|meistgelesene|beliebteste|verwandte\s+artikel|lesen\s+sie\s+auch|"
    r"mehr\s+zum\s+thema|(también\s+)?te\s+puede\s+interesar|(à\s+)?lire\s+aussi|"
    r"читайте\s+также|あわせて読みたい|"
    r"lo\s+más\s+(leído|visto)|más\s+leídos|relacionad[oa]s|les\s+plus\s+lus|"
    r"articles\s+similaires|самое\s+(читаемое|популярное)|популярное|похожие|人気記事|関連記事|"
    r"热门|相关)\W*$",
    re.I,
)
_META_CLASS_RE = re.compile(
    r"(^|[-_\s])(meta|byline|author|authors|date|time|posted|postmeta|tags?|categor(y|ies)|"
    r"share|sharing|social|comments?|footer|utility|rating|breadcrumbs?|bookmark|subscribe|"
    r"cats|filed|captions?|credits?)($|[-_\s])",
    re.I,
)
_DATE_CLASS_RE = re.compile(
    r"date|time|published|updated|posted|pubdate|timestamp|fecha|datum", re.I
)
_TITLE_CLASS_RE = re.compile(r"title|headline|heading", re.I)
_MONTHS = (
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|"
    r"june|july|august|september|october|november|december|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
    r"octubre|noviembre|diciembre|janvier|février|mars|avril|juin|juillet|août|septembre|"
    r"octobre|novembre|décembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|"
    r"ottobre|dicembre|januari|februari|maret|mei|agustus|desember|"
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
)
# Dates as pages show them: 2016-03-18, 18.03.2016, 2016年3月18日, 18 March 2016, March 18,
# 2016, "4 hours ago".
DATE_RE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"|\b\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\b\d{{1,2}}\s+de\s+(?:{_MONTHS})(?:\s+de\s+\d{{4}})?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{_MONTHS})\b\.?"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|\b\d+\s+(?:minutes?|hours?|days?|weeks?|months?)\s+ago\b",
    re.I,
)


# ---------------------------------------------------------------- text


def is_hidden(el: Element) -> bool:
    """True for elements a browser does not show (hidden attribute, inline display:none)."""
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    return bool(style and _hidden_style(style))


# Class, id and style values repeat across a page's records: each is matched once.
@lru_cache(maxsize=8192)
def _hidden_style(style: str) -> bool:
    """True for an inline style that hides the element."""
    return _HIDDEN_STYLE_RE.search(style) is not None


@lru_cache(maxsize=8192)
def _meta_class(cls: str) -> bool:
    """True for class words of a meta line (byline, date, tags, share buttons)."""
    return _META_CLASS_RE.search(cls) is not None


@lru_cache(maxsize=8192)
def _date_class(names: str) -> bool:
    """True for class or itemprop words of a date."""
    return _DATE_CLASS_RE.search(names) is not None


@lru_cache(maxsize=8192)
def _title_class(cls: str) -> bool:
    """True for class words of a title."""
    return _TITLE_CLASS_RE.search(cls) is not None


@lru_cache(maxsize=8192)
def _sr_only_class(cls: str) -> bool:
    """True for class words of screen-reader-only text."""
    return not _SR_ONLY.isdisjoint(cls.split())


def element_text(el: Element, skip: SkipFn | None = None) -> str:
    """Visible text of an element with spaces between blocks; `skip` drops subtrees."""
    if not len(el):
        return clean_text(el.text) if isinstance(el.tag, str) else ""
    parts: list[str] = []
    _collect_text(el, parts, skip, top=True)
    return clean_text("".join(parts))


def _invisible(el: Element) -> bool:
    """is_hidden or screen-reader-only text, in one call."""
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    if style and _hidden_style(style):
        return True
    cls = el.get("class")
    return bool(cls and _sr_only_class(cls))


def _collect_text(el: Element, parts: list[str], skip: SkipFn | None, top: bool = False) -> None:
    """Append el's visible text to parts (see element_text)."""
    tag = el.tag
    if not isinstance(tag, str):
        return  # a comment or processing instruction (its tail is the caller's)
    if not top and (tag in SKIP_TAGS or _invisible(el) or (skip is not None and skip(el))):
        return
    block = tag in BLOCK_TAGS
    if block:
        parts.append(" ")
    if el.text:
        parts.append(el.text)
    for child in el:
        if len(child):
            _collect_text(child, parts, skip)
        else:  # a leaf (most elements): what the call would append, without the call
            ctag = child.tag
            if isinstance(ctag, str) and not (
                ctag in SKIP_TAGS or _invisible(child) or (skip is not None and skip(child))
            ):
                text = child.text
                if ctag in BLOCK_TAGS:
                    parts.append(" ")
                    if text:
                        parts.append(text)
                    parts.append(" ")
                elif text:
                    parts.append(text)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append(" ")


def wordish(text: str) -> float:
    """A word count that also works for CJK text (two characters count as one word)."""
    if text.isascii() or _CJK_RE.search(text) is None:
        return float(len(text.split()))
    cjk = len(_CJK_RE.findall(text))
    return len(_WORD_RE.findall(_CJK_RE.sub(" ", text))) + cjk / 2


def _date_like(text: str, words: float | None = None) -> bool:
    """Short text that contains a date."""
    if (wordish(text) if words is None else words) > 8 or not _DIGIT_RE.search(text):
        return False
    return DATE_RE.search(text) is not None


# ---------------------------------------------------------------- URLs


@lru_cache(maxsize=4096)
def _host(url: str) -> str:
    """The URL's host without a leading www."""
    match = _HOST_RE.match(url)
    return match.group(1).lower().removeprefix("www.") if match else ""


def same_site(url: str, base: str) -> bool:
    """True when url is on the host of base (or a subdomain of either), or both are files."""
    if url[:5].lower() == "file:" and base[:5].lower() == "file:":
        return True
    host, base_host = _host(url), _host(base)
    if not host or not base_host:
        return False
    return host == base_host or host.endswith("." + base_host) or base_host.endswith("." + host)


def _path_query(url: str) -> tuple[str, str]:
    """The decoded path and the query of an absolute URL (cheaper than urlsplit)."""
    match = _HOST_RE.match(url)
    rest = url[match.end() :] if match else url
    rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    slash = path.find("/")
    path = path[slash:] if slash >= 0 else ""  # drops a ":port"
    return (unquote(path) if "%" in path else path), query


@lru_cache(maxsize=8192)
def url_score(url: str) -> float:
    """How much a URL looks like one article's page (> 0) or a hub, file or tool (< 0)."""
    path, query_text = _path_query(url)
    segments = [s for s in path.lower().split("/") if s]
    score = 0.0
    if query_text:
        query = parse_qsl(query_text, keep_blank_values=True)
        keys = {k.lower() for k, _ in query}
        if any(k.lower() in _ARTICLE_QUERY_KEYS and (v.isdigit() or len(v) > 8) for k, v in query):
            score += 2.5
        elif keys & _HUB_QUERY_KEYS:
            score -= 3
    if not segments:
        return score if score > 0 else score - 3
    if not _HUB_SEGMENTS.isdisjoint(segments) or not _HUB_END_SEGMENTS.isdisjoint(segments[-2:]):
        score -= 3
    last = segments[-1]
    stem, dot, ext = last.rpartition(".")
    if dot and ext in _FILE_EXTS:
        return score - 5
    page_ext = bool(dot) and ext in _PAGE_EXTS
    for i, seg in enumerate(segments):
        if _is_year(seg):
            if all(s.isdigit() and len(s) <= 2 for s in segments[i + 1 :]):
                score -= 3  # a date archive: /2014/, /2014/03/, /2014/03/31/
            else:
                score += 1.5
            break
    score += max(_slug_points(seg) for seg in segments[-3:])
    if page_ext and len(stem) >= 6:
        score += 0.5
    if len(segments) == 1 and not page_ext and len(_PIECE_SPLIT_RE.split(last)) <= 1:
        score -= 1  # /world/, /tech/: a section front
    return score


def _is_year(segment: str) -> bool:
    """True for a path segment like 2016."""
    return len(segment) == 4 and segment.isdigit() and segment[:2] in ("19", "20")


@lru_cache(maxsize=8192)
def _slug_points(segment: str) -> float:
    """Points for a path segment that names one item: a slug of words or a long id."""
    if _is_year(segment):
        return 0.0
    stem = _PAGE_EXT_RE.sub("", segment)
    pieces = [p for p in _PIECE_SPLIT_RE.split(stem) if p]
    points = 0.0
    if len(pieces) >= 3 or (len(pieces) >= 2 and len(stem) >= 12):
        points += 2
    elif len(stem) >= 16 or _CJK_RE.search(stem):
        points += 1.5
    if _ID_RE.search(stem) or _opaque_id(stem):
        points += 1.5
    elif stem.isdigit():
        points += 0.5
    return points


def _opaque_id(stem: str) -> bool:
    """A generated id of letters and digits (c05v28eqjyvo, a1b2c3d4): one item, not a hub."""
    if len(stem) < 8 or len(stem) > 40 or not stem.isalnum() or not stem.isascii():
        return False
    digits = sum(map(str.isdigit, stem))
    return 2 <= digits <= len(stem) - 2


@lru_cache(maxsize=8192)
def _url_shape(url: str) -> tuple[str, ...]:
    """Coarse shape of a URL path: fixed words kept, years, numbers and slugs as classes."""
    path, _ = _path_query(url)
    segments = [s for s in path.lower().split("/") if s]
    shape: list[str] = []
    for i, seg in enumerate(segments):
        if _is_year(seg):
            shape.append("Y")
        elif seg.isdigit():
            shape.append("N")
        elif i == len(segments) - 1 or _DIGIT_RE.search(seg) or "-" in seg or "_" in seg:
            ext = _PAGE_EXT_RE.search(seg)
            shape.append("S" + (ext.group(0) if ext else ""))
        else:
            shape.append(seg)
    return tuple(shape)


# ---------------------------------------------------------------- links


@dataclass(eq=False, slots=True)
class _Link:
    el: Element
    url: str
    fragment: str
    text: str
    path: tuple[str, ...]
    order: int
    heading: Element | None
    title_el: Element
    from_attr: bool = False
    words: float = 0.0
    score: float = 0.0
    site: bool = True


class _Page:
    """The visible links of a page with their tag paths, and URL resolution."""

    def __init__(self, root: Element, url: str, collect: bool = True) -> None:
        self.root = root
        self.url = url
        self.base = url
        self.page_key = url.split("#")[0].rstrip("/")
        self.links: list[_Link] = []
        self._urls: dict[str, tuple[str, str] | None] = {}
        self._ancestor_info: dict[Element, tuple[tuple[str, ...], Element | None] | None] = {}
        self._origin = _origin(url)
        for base_el in root.iter("base"):
            href = base_el.get("href")
            resolved = self.resolve(href) if href else None
            if resolved is not None:
                self.base = resolved[0]
                self._origin = _origin(self.base)
                self._urls.clear()
            break
        if collect:
            self._collect_links()

    def resolve(self, href: str) -> tuple[str, str] | None:
        """(absolute URL without fragment, fragment) of an href, or None if not http(s)
        (nor file:// on a saved page)."""
        if href in self._urls:
            return self._urls[href]
        result: tuple[str, str] | None = None
        value = href.strip()
        if _ABSOLUTE_RE.match(value):
            url, _, fragment = value.partition("#")
            result = (url, fragment)
        elif (
            value.startswith("/")
            and not value.startswith("//")
            and self._origin
            and not _UNUSUAL_PATH_RE.search(value)
        ):
            # a plain root-relative path (most links): what urljoin gives, without its cost
            url, _, fragment = (self._origin + value).partition("#")
            result = (url, fragment)
        elif value and not value.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            try:
                absolute = urljoin(self.base, value)
                parts = urlsplit(absolute)
                web = parts.scheme in ("http", "https") and bool(parts.hostname)
                # a saved page's own links to saved pages; a page from the web has none
                saved = parts.scheme == "file" and self.base[:5].lower() == "file:"
                if web or saved:
                    result = (absolute.split("#")[0], parts.fragment)
            except ValueError:
                result = None
        self._urls[href] = result
        return result

    def target(self, el: Element) -> str | None:
        """The absolute URL (without fragment) an element's href points to."""
        href = el.get("href")
        resolved = self.resolve(href) if href else None
        return resolved[0] if resolved is not None else None

    def _collect_links(self) -> None:
        # Only the ancestors of links are looked at; what is learnt about an element (tag
        # path, visibility, enclosing heading) is kept for the links that share it.
        root = self.root
        # Kept on the page: it also keeps lxml's element proxies alive for later passes.
        info = self._ancestor_info
        info[root] = ((str(root.tag),), None) if isinstance(root.tag, str) else None
        order_of: dict[Element, int] = {}
        for order, el in enumerate(root.iter("a"), 1):
            order_of[el] = order
            state = self._info(el, info)
            if state is not None:
                self._add_link(el, state[0], state[1], order)
        self._headline_links(order_of)

    def _headline_links(self, order_of: dict[Element, int]) -> None:
        """Headlines that are no link, each with the article link of its card ("Full story",
        "Comments (N)", "Read more", an empty overlay): one link with the headline as text."""
        info = self._ancestor_info
        for heading in self.root.iter(*HEADINGS):
            if next(heading.iter("a"), None) is not None:
                continue
            state = self._info(heading, info)
            if state is None or any(a.tag == "a" for a in heading.iterancestors()):
                continue
            text = element_text(heading)
            words = wordish(text)
            if words < 1.5 or words > 45:
                continue
            anchor = _card_link(heading, self)
            if anchor is None or anchor not in order_of:
                continue
            link = self.make_link(anchor, (*state[0], "a"), heading, order_of[anchor], False)
            if link is None or link.score <= -1:
                continue
            link.text, link.words, link.title_el, link.from_attr = text, words, heading, False
            self.links.append(link)

    def _info(
        self, el: Element, info: dict[Element, tuple[tuple[str, ...], Element | None] | None]
    ) -> tuple[tuple[str, ...], Element | None] | None:
        """(tag path, enclosing heading) of a shown element, None if hidden or skipped."""
        pending: list[Element] = []
        node: Element | None = el
        while node is not None and node not in info:
            pending.append(node)
            node = node.getparent()
        state = info.get(node) if node is not None else None
        for item in reversed(pending):
            tag = item.tag
            if (
                state is None
                or not isinstance(tag, str)
                or tag in SKIP_TAGS
                or item.get("hidden") is not None  # is_hidden, without the call
                or _hidden_style(item.get("style") or "")
            ):
                state = None
            else:
                state = ((*state[0], tag), item if tag in HEADINGS else state[1])
            info[item] = state
        return state

    def _add_link(
        self, el: Element, path: tuple[str, ...], heading: Element | None, order: int
    ) -> None:
        link = self.make_link(el, path, heading, order)
        if link is not None:
            self.links.append(link)

    def make_link(
        self,
        el: Element,
        path: tuple[str, ...],
        heading: Element | None,
        order: int,
        strict: bool = True,
    ) -> _Link | None:
        """The link's URL, title text and context; None for no target or (when strict) for
        wrapper links around other links and links inside running prose."""
        href = el.get("href")
        resolved = self.resolve(href) if href else None
        if resolved is None:
            return None
        url, fragment = resolved
        if strict and url.rstrip("/") == self.page_key:
            return None
        inner_heading: Element | None = None
        if len(el):
            if strict and next(el.iterdescendants("a"), None) is not None:
                return None  # broken markup: a link wrapped around other links
            # the tree walks are lxml's (C), not a Python loop over the descendants
            inner_heading = next(el.iter(*HEADINGS), None)
            title_el = inner_heading if inner_heading is not None else el
            text = element_text(title_el)
        else:
            title_el, text = el, clean_text(el.text)
        from_attr = False
        if not text and el.get("aria-label"):
            # an empty overlay anchor over a card: its label is the card's headline
            text = clean_text(el.get("aria-label"))
        if not text:
            image = next(el.iter("img"), None)
            text = clean_text(el.get("title") or (image.get("alt") if image is not None else ""))
            from_attr = bool(text)
        elif strict and _prose_link(el, text):
            return None
        link = _Link(
            el=el,
            url=url,
            fragment=fragment,
            text=text,
            path=path,
            order=order,
            heading=heading if heading is not None else inner_heading,
            title_el=title_el,
            from_attr=from_attr,
        )
        link.words = wordish(text)
        link.score = url_score(url)
        if "sponsored" in (el.get("rel") or "").lower().split():
            link.score -= 5  # an advertiser's link (rel=sponsored)
        link.site = same_site(url, self.url)
        return link


def _card_link(heading: Element, page: _Page) -> Element | None:
    """The article link of an unlinked headline's card: in the blocks after it (up to the next
    heading), else in the smallest ancestor holding no other heading; None when the card has
    a link with its own headline-like text (that link is the teaser)."""
    for sibling, _ in zip(heading.itersiblings(), range(4), strict=False):
        if not isinstance(sibling.tag, str):
            continue
        if sibling.tag in HEADINGS or next(sibling.iter(*HEADINGS), None) is not None:
            break
        found = _not_title_link(sibling.iter("a"), page)
        if found is not None:
            return found
    node = heading.getparent()
    for _ in range(3):
        if node is None or node.tag in ("body", "html"):
            return None
        if sum(1 for _ in node.iter(*HEADINGS)) > 1:
            return None
        if next(node.iter("a"), None) is not None:
            return _not_title_link(node.iter("a"), page)
        node = node.getparent()
    return None


def _not_title_link(anchors: Iterator[Element], page: _Page) -> Element | None:
    """The first of these links whose text is not a headline: read-more, comment count, empty;
    None when a headline-like link comes first."""
    for a in anchors:
        if page.target(a) is None:
            continue
        text = element_text(a)
        if not text or is_read_more(text) or _COMMENT_TEXT_RE.match(text):
            return a
        if wordish(text) >= 2 and not _in_prose(a, text):
            return None
    return None


def _in_prose(a: Element, text: str) -> bool:
    """True for a link inside a paragraph with much more text than its own, or in the middle
    of a sentence (words before it and after it)."""
    block = a.getparent()
    while block is not None and block.tag not in BLOCK_TAGS:
        block = block.getparent()
    if block is None:
        return False
    whole = element_text(block)
    if len(whole) >= 2 * len(text) + 30:
        return True
    before, _, after = whole.partition(text)
    return len(before.strip()) >= 3 and len(after.strip()) >= 3


def _origin(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, or "" (then links resolve through urljoin)."""
    match = _ORIGIN_RE.match(url)
    return match.group(0) if match else ""


def _prose_link(el: Element, text: str) -> bool:
    """True for a link in the middle of a paragraph of running text (not a teaser title)."""
    block = el.getparent()
    for _ in range(3):
        if block is None or block.tag in BLOCK_TAGS:
            break
        block = block.getparent()
    if block is None or block.tag not in ("p", "dd", "blockquote"):
        return False
    before: list[str] = [block.text or ""]
    for node in block.iterdescendants():
        if node is el:
            break
        if node.text and isinstance(node.tag, str):
            before.append(node.text)
        if node.tail:
            before.append(node.tail)
    ahead = len(clean_text("".join(before)))
    return ahead >= 15 and len(str(block.xpath("string()"))) >= 2 * len(text) + 30


# ---------------------------------------------------------------- grouping


def _class_key(el: Element) -> str:
    """The shape of a container, to tell rows of one grid from unrelated boxes."""
    return _shape_key(str(el.tag), el.get("id") or "", el.get("class") or "")


@lru_cache(maxsize=4096)
def _shape_key(tag: str, ident: str, classes: str) -> str:
    """tag#id.classes without numbered (per-item) ids and classes."""
    kept = " ".join(sorted(c for c in classes.split() if not _DIGIT_RE.search(c)))
    return f"{tag}#{_DIGITS_RE.sub('', ident)}.{kept}"


def _split(links: list[_Link]) -> Iterator[list[_Link]]:
    """Split a tag-path group where its links sit in differently shaped containers."""
    if len(links) < 2:
        yield links
        return
    chains = [[*reversed(list(link.el.iterancestors())), link.el] for link in links]
    yield from _split_chains(links, chains)


def _split_chains(links: list[_Link], chains: list[list[Element]]) -> Iterator[list[_Link]]:
    """_split, given each link's path from the root (computed once for all levels)."""
    if len(links) < 2:
        yield links
        return
    shortest = min(len(c) for c in chains)
    first = chains[0]
    depth = shortest
    for chain in chains:
        # chains are paths from the root: equal at one depth means equal above it
        while depth and chain[depth - 1] is not first[depth - 1]:
            depth -= 1
    if depth >= shortest:
        yield links
        return
    partitions: dict[Element, list[int]] = {}
    for i, chain in enumerate(chains):
        partitions.setdefault(chain[depth], []).append(i)
    multi: dict[str, list[Element]] = {}
    singles: list[int] = []
    for child, members in partitions.items():
        if len(members) == 1:
            singles.extend(members)
        else:
            multi.setdefault(_class_key(child), []).append(child)
    if len(multi) == 1 and all(_class_key(chains[i][depth]) in multi for i in singles):
        yield links  # one listing, possibly in rows of the same shape
        return
    for children in multi.values():
        if len(children) == 1:
            members = partitions[children[0]]
            yield from _split_chains([links[i] for i in members], [chains[i] for i in members])
        else:
            yield [links[i] for child in children for i in partitions[child]]
    tags = Counter(str(chains[i][depth].tag) for i in singles)
    if singles and tags.most_common(1)[0][1] >= 0.6 * len(singles):
        yield [links[i] for i in singles]
    else:
        for i in singles:
            yield [links[i]]


def _title_like(link: _Link) -> bool:
    """True for link text that reads like a headline (not read-more, a count or a date)."""
    return _title_like_text(link.text, link.words, link.fragment)


@lru_cache(maxsize=8192)
def _title_like_text(text: str, words: float, fragment: str) -> bool:
    """_title_like of a link's text, word count and URL fragment."""
    if not text or words < 1.5 or words > 45:
        return False
    if _COMMENT_FRAGMENT_RE.match(fragment) or is_read_more(text):
        return False
    if words <= 5 and _date_like(text, words):
        return False
    return sum(map(str.isdigit, text)) <= 0.5 * len(text)


def _listing_quality(links: list[_Link]) -> tuple[bool, float]:
    """Whether a link group looks like a list of article titles, and how much."""
    n = len(links)
    urls = {link.url for link in links}
    if len(urls) < 2:
        return False, 0.0
    article = _article_share(links)
    title = sum(_title_like(link) for link in links) / n
    heading = sum(link.heading is not None for link in links) / n
    from_attr = sum(link.from_attr for link in links) / n
    texts = {link.text.casefold() for link in links}
    words = median(link.words for link in links)
    ok = (
        article >= 0.5
        and title >= 0.5
        and len(urls) >= 0.75 * n
        and len(texts) >= 0.7 * n
        and words >= 1.5
    )
    quality = (
        article + title + 0.5 * heading - 0.5 * from_attr + min(words, 10) / 10 + 0.1 * math.log2(n)
    )
    return ok, quality


def _article_share(links: list[_Link]) -> float:
    """Share of the links that point to articles: by URL score, or by the page's own URL
    pattern (one shape below a fixed path, a different last segment each, headline texts:
    /blog/gofix, /news/12345)."""
    plain = sum(link.score >= 1 for link in links)
    if plain == len(links):
        return 1.0
    shapes = Counter(
        shape for link in links if len(shape := _url_shape(link.url)) >= 2 and link.score > -1
    )
    common, count = shapes.most_common(1)[0] if shapes else ((), 0)
    learned = count >= 3 and count >= 0.5 * len(links)
    return sum(
        link.score >= 1
        or (learned and link.score > -1 and link.words >= 3 and _url_shape(link.url) == common)
        for link in links
    ) / len(links)


def _record_roots(links: list[_Link]) -> list[Element]:
    """Each link's highest ancestor that holds no other link of the group."""
    # A walk up from a link stops at the first ancestor an earlier walk reached: that one
    # holds two links. The lowest such ancestor of every link is found so, as the first two
    # walks to reach it come from different branches below it.
    seen: set[Element] = set()
    shared: set[Element] = set()
    for link in links:
        for ancestor in link.el.iterancestors():
            if ancestor in seen:
                shared.add(ancestor)
                break
            seen.add(ancestor)
    roots: list[Element] = []
    for link in links:
        root = link.el
        for ancestor in link.el.iterancestors():
            if ancestor in shared or ancestor.tag in ("body", "html"):
                break
            root = ancestor
        roots.append(root)
    return roots


def _extend_flat(roots: list[Element]) -> list[list[Element]]:
    """Records that are only a heading or a link take the siblings up to the next record;
    other records too when every one is followed by the same number of siblings (a title
    paragraph, then its summary paragraph)."""
    parts = [[r] for r in roots]
    if len(roots) < 2:
        return parts
    parent = roots[0].getparent()
    if parent is None or any(r.getparent() is not parent for r in roots):
        return parts
    bare = all(r.tag in HEADINGS or r.tag in _INLINE_ROOTS for r in roots)
    index = {r: i for i, r in enumerate(roots)}
    current: int | None = None
    gaps: list[int] = []
    pending: list[Element] = []
    following: list[list[Element]] = [[] for _ in roots]
    for child in parent:
        if child in index:
            if current is not None:
                gaps.append(len(pending))
                following[current] = pending
            current, pending = index[child], []
        elif current is not None and isinstance(child.tag, str):
            pending.append(child)
    if not gaps or (not bare and (len(set(gaps)) != 1 or not gaps[0])):
        return parts
    if current is not None:
        # The last record takes as many siblings as the others usually have.
        following[current] = pending[: int(median(gaps))]
    for part, extra in zip(parts, following, strict=True):
        part.extend(extra)
    return parts


_INLINE_ROOTS = frozenset({"a", "span", "strong", "b", "em", "dt"})


def _heading_titles(links: list[_Link]) -> bool:
    """For links that are not titles themselves (image or read-more links): take the title
    from the heading of each link's record; True when that made them a title group."""
    roots = _record_roots(links)
    found = 0
    for link, root in zip(links, roots, strict=True):
        heading = _record_heading(root)
        if heading is None:
            heading = _preceding_heading(root)
        if heading is not None:
            text = element_text(heading)
            if text and text != link.text:
                link.text, link.words, link.from_attr = text, wordish(text), False
                link.title_el = link.heading = heading
                found += 1
    return found >= 0.5 * len(links)


def _record_heading(root: Element) -> Element | None:
    """The record's first visible heading, else its first title-classed element."""
    for el in root.iter(*HEADINGS):
        if not is_hidden(el):
            return el
    for el in root.iter():
        cls = el.get("class")
        if cls and _title_class(cls) and isinstance(el.tag, str) and el.tag != "a":
            return el
    return None


def _preceding_heading(root: Element) -> Element | None:
    """An unlinked heading just before a record (a headline over a "Full story" block)."""
    sibling = root.getprevious()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getprevious()
    if sibling is None or sibling.tag not in HEADINGS or is_hidden(sibling):
        return None
    return None if next(sibling.iter("a"), None) is not None else sibling


class _Claims:
    """Records already taken: their elements (roots) and the ancestors of those."""

    def __init__(self) -> None:
        self.roots: set[Element] = set()
        self.above: set[Element] = set()
        self.owner: dict[Element, str] = {}

    def add(self, parts: list[Element], url: str = "") -> None:
        """Take a record made of these elements (the teaser of url)."""
        for part in parts:
            self.roots.add(part)
            self.owner[part] = url
            self.above.update(part.iterancestors())

    def covers(self, el: Element) -> bool:
        """True when el is inside (or is) a record already taken."""
        return self.covering(el) is not None

    def covering(self, el: Element) -> Element | None:
        """The taken record element el is in (or is), if any."""
        if el in self.roots:
            return el
        return next((a for a in el.iterancestors() if a in self.roots), None)


# ---------------------------------------------------------------- records


@dataclass(eq=False, slots=True)
class _Record:
    link: _Link
    parts: list[Element]
    title: str = ""
    excerpt: str | None = None
    excerpt_els: list[Element] = field(default_factory=list)
    excerpt_texts: list[str] = field(default_factory=list)
    meta_texts: list[str] = field(default_factory=list)
    image: str | None = None
    image_el: Element | None = None
    date_text: str | None = None
    date_el: Element | None = None
    has_read_more: bool = False
    excerpt_words: float = 0.0
    confidence: float = 1.0


@dataclass(eq=False)
class _Listing:
    links: list[_Link]
    records: list[_Record] = field(default_factory=list)
    richness: float = 0.0
    secondary_ctx: bool = False
    under_widget_heading: bool = False
    site_share: float = 1.0
    region: str = "main"


@dataclass(slots=True)
class _Segment:
    text: str
    block: Element
    key: str


class _RecordReader:
    """Reads title, excerpt, image, date and read-more of the records of one listing."""

    def __init__(
        self, page: _Page, records: list[_Record], taken: set[Element] | None = None
    ) -> None:
        self.page = page
        self.records = records
        self.taken = taken or set()  # elements of every record: one nested in another is skipped

    def read(self) -> None:
        """Fill in every record's fields."""
        bare = [_bare_link(r) for r in self.records]
        segment_lists = [
            [] if b else self._segments(r) for r, b in zip(self.records, bare, strict=True)
        ]
        template = _template_keys(segment_lists)
        for record, segments, only_link in zip(self.records, segment_lists, bare, strict=True):
            record.title = record.link.text
            if only_link:  # a list item that is just the link: nothing else to read
                self._image(record)
                continue
            kept = [s for s in segments if s.key not in template]
            record.meta_texts.extend(s.text for s in segments if s.key in template)
            excerpt = strip_read_more(clean_text(" ".join(s.text for s in kept)))
            if excerpt.casefold() == record.title.casefold():
                excerpt = ""
            record.excerpt = excerpt or None
            record.excerpt_texts = [s.text for s in kept]
            record.excerpt_els = list(dict.fromkeys(s.block for s in kept))
            record.excerpt_words = wordish(excerpt[:400]) if excerpt else 0.0
            self._image(record)
            self._date(record)
            self._read_more(record)

    def _skip(self, record: _Record) -> SkipFn:
        """Subtrees that are not excerpt text: the title and short links back to the article."""
        link = record.link
        title = link.heading if link.heading is not None else link.title_el
        card = link.title_el is not link.el  # a link around a whole card (heading inside)
        target = self.page.target
        taken, own = self.taken, set(record.parts)

        def skip(el: Element) -> bool:
            if el is title or (el is link.el and not card):
                return True
            if el in taken and el not in own:
                return True
            if el.tag == "a" and el is not link.el and target(el) == link.url:
                text = element_text(el)
                return wordish(text) <= 4 or text.casefold() == link.text.casefold()
            return False

        return skip

    def _segments(self, record: _Record) -> list[_Segment]:
        """The text blocks of a record that may be its excerpt (meta lines set aside)."""
        skip = self._skip(record)
        out: list[_Segment] = []
        for part in record.parts:
            self._walk(part, record, skip, out, meta=False, top=True)
        return out

    def _walk(
        self,
        el: Element,
        record: _Record,
        skip: SkipFn,
        out: list[_Segment],
        meta: bool,
        top: bool = False,
    ) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in SKIP_TAGS or is_hidden(el) or skip(el):
            return
        cls = el.get("class")
        if tag in ("time", "figcaption") or (not top and cls and _meta_class(cls)):
            meta = True  # dates, bylines and image captions are not the excerpt
        texts: list[str] = [el.text] if el.text else []
        link_chars = 0
        for child in el:
            ctag = child.tag
            if isinstance(ctag, str) and (
                ctag in BLOCK_TAGS or (ctag == "a" and _wraps_blocks(child))
            ):
                self._flush(texts, link_chars, el, record, out, meta)
                texts, link_chars = [], 0
                self._walk(child, record, skip, out, meta)
            elif isinstance(ctag, str) and not (
                ctag in SKIP_TAGS or _invisible(child) or skip(child)
            ):
                child_text = element_text(child, skip)
                child_cls = child.get("class")
                if ctag == "time" or (child_cls and _meta_class(child_cls)):
                    link_chars += len(child_text)  # inline meta counts like a link
                elif ctag == "a":
                    if self.page.target(child) != record.link.url:
                        link_chars += len(child_text)
                elif next(child.iter("a"), None) is not None:
                    link_chars += self._foreign_link_chars(child, record, skip)
                texts.append(f" {child_text} ")
            if child.tail:
                texts.append(child.tail)
        self._flush(texts, link_chars, el, record, out, meta)

    def _foreign_link_chars(self, el: Element, record: _Record, skip: SkipFn) -> int:
        """Characters of links to other pages inside el."""
        anchors = [el] if el.tag == "a" else list(el.iter("a"))
        return sum(
            len(element_text(a, skip)) for a in anchors if self.page.target(a) != record.link.url
        )

    def _flush(
        self,
        texts: list[str],
        link_chars: int,
        el: Element,
        record: _Record,
        out: list[_Segment],
        meta: bool,
    ) -> None:
        if not texts:
            return
        text = clean_text("".join(texts))
        if not text or not _ALNUM_RE.search(text):
            return
        words = wordish(text)
        if (
            meta
            or link_chars >= 0.5 * len(text)
            or is_read_more(text)
            or (words <= 6 and _date_like(text, words))
        ):
            record.meta_texts.append(text)
            return
        out.append(_Segment(text, el, _template_key(text)))

    def _image(self, record: _Record) -> None:
        for part in record.parts:
            for img in part.iter("img"):
                if _hidden_below(img, part) or _tiny(img):
                    continue
                src = image_src(img)
                resolved = self.page.resolve(src) if src else None
                if resolved is not None:
                    record.image, record.image_el = resolved[0], img
                    return

    def _date(self, record: _Record) -> None:
        for part in record.parts:
            for el in part.iter("time"):
                text = element_text(el) or clean_text(el.get("datetime"))
                if text:
                    record.date_text, record.date_el = text, el
                    return
        for part in record.parts:
            for el in part.iter():
                names = el.get("class")
                itemprop = el.get("itemprop")
                if itemprop:
                    names = f"{names or ''} {itemprop}"
                if not names or not _date_class(names):
                    continue
                if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
                    continue
                text = element_text(el)
                if text and _DIGIT_RE.search(text) and wordish(text) <= 10:
                    match = DATE_RE.search(text)
                    keep_whole = match is None or wordish(text) <= 6
                    record.date_text = text if keep_whole or match is None else match.group(0)
                    record.date_el = el
                    return
        # A date in a meta line, or at the start of the excerpt ("12 May 2016 - The ...").
        for text in [*record.meta_texts, *(t[:80] for t in record.excerpt_texts[:1])]:
            # every form of DATE_RE has a digit: a text without one needs no costly search
            match = DATE_RE.search(text) if _DIGIT_RE.search(text) else None
            if match:
                record.date_text = match.group(0)
                return

    def _read_more(self, record: _Record) -> None:
        link = record.link
        if link.el.text and is_read_more(element_text(link.el)):
            record.has_read_more = True  # the title came from the heading of a read-more link
            return
        for part in record.parts:
            for a in part.iter("a"):
                if a is link.el:
                    continue
                href = a.get("href")
                resolved = self.page.resolve(href) if href else None
                if resolved is None or resolved[0] != link.url:
                    continue
                if _COMMENT_FRAGMENT_RE.match(resolved[1]):
                    continue
                text = element_text(a)
                icon_only = not _ALNUM_RE.search(text) and next(a.iter("img"), None) is None
                if icon_only or is_read_more(text):
                    record.has_read_more = True
                    return


def _bare_link(record: _Record) -> bool:
    """True for a record that holds nothing but its link (and maybe an image in it)."""
    if len(record.parts) != 1:
        return False
    part, link = record.parts[0], record.link.el
    if part is link:
        return record.link.title_el is link
    return (
        len(part) == 1
        and part[0] is link
        and not (part.text or "").strip()
        and not (link.tail or "").strip()
        and record.link.title_el is link
    )


def _wraps_blocks(el: Element) -> bool:
    """True for an inline element (a card link) around block elements."""
    return el.tag == "a" and len(el) > 0 and next(el.iter(*BLOCK_TAGS), None) is not None


def _template_key(text: str) -> str:
    """The first words of a short text, numbers folded: equal in every record's meta line."""
    if len(text) > 160:
        return ""  # longer than ten words anyway
    tokens = _WORD_RE.findall(_DIGITS_RE.sub("0", text.lower()))
    return "" if len(tokens) > 10 else " ".join(tokens[:3])


def _template_keys(segment_lists: list[list[_Segment]]) -> set[str]:
    """Keys of short texts that start the same way in at least half of the records."""
    if len(segment_lists) < 3:
        return set()
    seen: Counter[str] = Counter()
    for segments in segment_lists:
        seen.update({s.key for s in segments if s.key})
    limit = max(2, math.ceil(0.5 * len(segment_lists)))
    return {key for key, n in seen.items() if n >= limit}


def _hidden_below(el: Element, top: Element) -> bool:
    """True when el, or an ancestor below top, is hidden or not content."""
    node: Element | None = el
    while node is not None and node is not top:
        if isinstance(node.tag, str) and (node.tag in SKIP_TAGS or is_hidden(node)):
            return True
        node = node.getparent()
    return False


def image_src(img: Element) -> str | None:
    """The address of an <img>: lazy-loading attributes first, then src, then srcset."""
    for attr in ("data-src", "data-lazy-src", "data-original", "src"):
        value = (img.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            return value
    srcset = img.get("data-srcset") or img.get("srcset")
    if srcset:
        return srcset.split(",")[0].strip().split(" ")[0] or None
    return None


def _tiny(img: Element) -> bool:
    """Spacers, tracking pixels and icons (by their declared size)."""
    try:
        width = int(img.get("width") or 100)
        height = int(img.get("height") or 100)
    except ValueError:
        return False
    return width <= 24 or height <= 24


# ---------------------------------------------------------------- regions


def _secondary_context(el: Element, memo: dict[Element, bool]) -> bool:
    """True when an ancestor of el is a sidebar, footer, menu or widget."""
    pending: list[Element] = []
    node = el.getparent()
    result = False
    while node is not None:
        if node in memo:
            result = memo[node]
            break
        pending.append(node)
        if _secondary_marker(node):
            result = True
            break
        node = node.getparent()
    for item in pending:
        memo[item] = result
    return result


def _secondary_marker(el: Element) -> bool:
    """True for a sidebar, footer, menu or widget container (by tag, id or class)."""
    tag = el.tag
    if not isinstance(tag, str) or tag in ("body", "html"):
        return False  # page-level classes describe the layout, not one block
    if tag in _SECONDARY_TAGS:
        return True
    if tag == "header" and not any(a.tag in ("article", "main") for a in el.iterancestors()):
        return True
    ident, cls = el.get("id"), el.get("class")
    return bool((ident or cls) and _secondary_names(f"{ident or ''} {cls or ''}"))


@lru_cache(maxsize=4096)
def _secondary_names(names: str) -> bool:
    """True when id/class words name a sidebar, widget, menu, footer or the like."""
    if _SECONDARY_SUBSTR_RE.search(names):
        return True
    tokens = {t for t in re.split(r"[\s_]+", names.lower()) if t}
    tokens |= {p for t in tokens for p in t.split("-")}
    return not tokens.isdisjoint(_SECONDARY_TOKENS)


def _sponsored_record(record: _Record) -> bool:
    """True for an advertiser's item: a "Sponsored"/"Partner content" label line."""
    return any(
        len(text) <= 40 and _SPONSORED_LABEL_RE.match(text)
        for text in (*record.meta_texts, *record.excerpt_texts[:2])
    )


def _labelled_box(records: list[_Record]) -> bool:
    """True when the box holding the records is labelled as paid or sponsored content (a
    label before the first record in the box or its parent, not in another box of links)."""
    first = records[0].parts[0]
    container = first.getparent()
    if len(records) > 1:
        shared = set(records[1].parts[0].iterancestors())
        container = next((a for a in first.iterancestors() if a in shared), container)
    top = container
    for _ in range(2):  # the box, its wrapper and the wrapper's header
        parent = top.getparent() if top is not None else None
        if parent is None or parent.tag in ("body", "html"):
            break
        top = parent
    return top is not None and _label_before(top, first)


def _label_before(node: Element, first: Element) -> bool:
    """A sponsored label in node before first, skipping boxes of more than three links."""
    ancestors = set(first.iterancestors())
    for child in node:
        if child is first:
            return False
        if child in ancestors:
            return _label_before(child, first)
        if not isinstance(child.tag, str) or sum(1 for _ in child.iter("a")) > 3:
            continue
        for el in child.iter():
            text = el.text
            if text and len(text) <= 40 and _SPONSORED_LABEL_RE.match(text.strip()):
                return True
    return False


def _in_menu(el: Element) -> bool:
    """True inside the site's navigation: a nav element or a menu/nav-named container, but
    not one inside a sidebar widget (themes build "Most viewed" boxes as menus)."""
    menu = False
    for node in el.iterancestors():
        names = f"{node.get('id') or ''} {node.get('class') or ''}"
        if node.tag == "aside" or _WIDGET_BOX_RE.search(names):
            return False
        menu = menu or node.tag == "nav" or bool(names.strip() and _menu_names(names))
    return menu


@lru_cache(maxsize=4096)
def _menu_names(names: str) -> bool:
    """True when id/class words name a menu or navigation."""
    if _MENU_SUBSTR_RE.search(names):
        return True
    tokens = {t for t in re.split(r"[\s_]+", names.lower()) if t}
    tokens |= {p for t in tokens for p in t.split("-")}
    return not tokens.isdisjoint(_MENU_TOKENS)


def _widget_heading(records: list[_Record]) -> bool:
    """True when the listing sits under a "Most read"/"Related"-style heading."""
    first = records[0].parts[0]
    container = first.getparent()
    if len(records) > 1:
        shared = set(records[1].parts[0].iterancestors())
        container = next((a for a in first.iterancestors() if a in shared), container)
    node = container
    for _ in range(2):
        if node is None:
            return False
        heading = _heading_before(node, first, records[0].link.el)
        for sibling in node.itersiblings(preceding=True):
            if isinstance(sibling.tag, str):
                if sibling.tag in HEADINGS or (heading is None and len(sibling) <= 2):
                    heading = sibling
                break
        if heading is not None and _WIDGET_HEADING_RE.match(element_text(heading)):
            return True
        node = node.getparent()
    return False


def _heading_before(container: Element, first: Element, link: Element) -> Element | None:
    """The container's first heading if it comes before the first record (a box's title; a
    heading further down belongs to what follows it) and is not the link's own heading."""
    own = set(link.iterancestors())
    for el in container.iter():
        if el is first:
            return None
        if el.tag in HEADINGS and el not in own:
            return el
    return None


def _richness(listing: _Listing) -> float:
    """How much a listing looks like the page's content: records with headings, excerpts,
    images and dates, and how many there are."""
    scores: list[float] = []
    for record in listing.records:
        value = 1.0
        value += 1.0 if record.link.heading is not None else 0.0
        value += min(record.excerpt_words, 40) / 20
        value += 0.5 if record.image else 0.0
        value += 0.5 if record.date_text else 0.0
        value += min(record.link.words, 10) / 10
        scores.append(value)
    if not scores:
        return 0.0
    return sum(scores) / len(scores) * math.log2(1 + len(scores))


def _assign_regions(listings: list[_Listing]) -> None:
    """Main: the richest listing outside widgets and those close to it; secondary: the rest
    (same-site ones unlike the main articles and with short texts are dropped)."""
    # Structure and prominence decide, not the host: aggregators and press-mention pages
    # list other sites' articles (the config's article_url_pattern decides what is followed).
    primary = [lst for lst in listings if not lst.secondary_ctx]
    # When every listing sits in a widget-like box, the best one is still the page's own
    # (themes that build pages from "widgets"), unless a "Related"-style heading says not.
    pool = primary or [lst for lst in listings if not lst.under_widget_heading]
    best = max(pool, key=lambda lst: lst.richness, default=None)
    for listing in listings:
        if listing is best or (
            best is not None and listing in primary and listing.richness >= 0.35 * best.richness
        ):
            listing.region = "main"
        else:
            listing.region = "secondary"
    if best is None:
        return
    shapes = {
        _url_shape(r.link.url) for lst in listings if lst.region == "main" for r in lst.records
    }
    for listing in listings:
        site_records = [r for r in listing.records if r.link.site]
        if listing.region != "secondary" or not site_records:
            continue
        words = median(r.link.words for r in listing.records)
        if words < 4 and _in_menu(listing.records[0].parts[0]):
            listing.region = "drop"  # a menu of section names, not headlines
            continue
        fit = sum(_url_shape(r.link.url) in shapes for r in site_records) / len(site_records)
        if fit < 0.5 and words < 4:
            listing.region = "drop"  # same-site links unlike the articles: pages, tools


def _heroes(
    page: _Page,
    singles: list[_Link],
    main: list[_Listing],
    claims: _Claims,
    memo: dict[Element, bool],
) -> list[_Record]:
    """Lone heading links beside the main listing: a hero teaser or a post shown in full."""
    if not main:
        return []
    containers = [p for lst in main if (p := lst.records[0].parts[0].getparent()) is not None]
    known = {r.link.url for lst in main for r in lst.records}
    holders: Counter[Element] = Counter()
    for other in singles:
        if other.heading is not None:
            holders.update(other.el.iterancestors())
    heroes: list[_Record] = []
    # Heading links first: a hero's heading link, not its image, gives the title.
    for link in sorted(singles, key=lambda lnk: (lnk.heading is None, lnk.order)):
        if (
            link.url in known
            or link.from_attr
            or not link.site
            or link.score < 1
            or not _title_like(link)
            or (link.heading is None and link.words < 4)
            or claims.covers(link.el)
            or _secondary_context(link.el, memo)
        ):
            continue
        ancestors = set(link.el.iterancestors())
        if not any(_near(container, ancestors) for container in containers):
            continue
        root = link.el
        for ancestor in link.el.iterancestors():
            if ancestor.tag in ("body", "html") or ancestor in claims.above:
                break
            if holders[ancestor] > (1 if link.heading is not None else 0):
                break  # the block of another heading link starts here
            root = ancestor
        heroes.append(_Record(link=link, parts=[root]))
        known.add(link.url)
    heroes.sort(key=lambda r: r.link.order)
    _RecordReader(page, heroes).read()
    return heroes


def _near(container: Element, ancestors: set[Element]) -> bool:
    """True when the container, its parent or its grandparent holds the link."""
    node: Element | None = container
    for _ in range(3):
        if node is None or node.tag in ("body", "html"):
            return False
        if node in ancestors:
            return True
        node = node.getparent()
    return False


def _lone_widget_links(
    page: _Page,
    singles: list[_Link],
    main: list[_Record],
    claims: _Claims,
    memo: dict[Element, bool],
) -> list[_Record]:
    """Single article links in a sidebar or footer box (a one-item "most read" list)."""
    if not main:
        return []
    shapes = {_url_shape(r.link.url) for r in main}
    taken = {r.link.url for r in main}
    found: list[_Record] = []
    for link in singles:
        if (
            link.url in taken
            or not link.site
            or link.score < 1
            or link.words < 2
            or claims.covers(link.el)
            or not _title_like(link)
            or _url_shape(link.url) not in shapes
            or not _secondary_context(link.el, memo)
        ):
            continue
        found.append(
            _Record(link=link, parts=[link.heading if link.heading is not None else link.el])
        )
        taken.add(link.url)
    _RecordReader(page, found).read()
    return found


# ---------------------------------------------------------------- detection


@dataclass(frozen=True, eq=False)
class DetectedTeaser:
    """One teaser found automatically, with the elements it was read from."""

    url: str
    title: str | None
    excerpt: str | None
    image: str | None
    date_text: str | None
    has_read_more: bool
    region: str
    parts: tuple[Element, ...]
    link: Element
    title_el: Element
    excerpt_els: tuple[Element, ...]
    image_el: Element | None
    date_el: Element | None
    confidence: float = 1.0

    @property
    def block(self) -> Element:
        """The teaser's block element (its first part)."""
        return self.parts[0]


@dataclass(frozen=True)
class Detection:
    """Teasers the detector found on one page: main ones first, then secondary ones."""

    teasers: tuple[DetectedTeaser, ...]

    @property
    def main(self) -> tuple[DetectedTeaser, ...]:
        """The teasers of the page's main listing(s)."""
        return tuple(t for t in self.teasers if t.region == "main")


def detect(root: Element, url: str) -> Detection:
    """Find the teasers of a parsed listing page (an lxml root) at url."""
    page = _Page(root, url)
    groups: dict[tuple[str, ...], list[_Link]] = {}
    for link in page.links:
        groups.setdefault(link.path, []).append(link)
    candidates: list[tuple[float, list[_Link]]] = []
    rejected: list[tuple[float, list[_Link]]] = []
    singles: list[_Link] = []
    for group in groups.values():
        for cluster in _split(group):
            cluster = _one_per_target(cluster)
            if len(cluster) == 1:
                singles.append(cluster[0])
                continue
            ok, quality = _listing_quality(cluster)
            if not ok and _worth_heading_titles(cluster) and _heading_titles(cluster):
                ok, quality = _listing_quality(cluster)
                quality -= 0.5  # the title is not the link's own text
            (candidates if ok else rejected).append((quality, cluster))
    candidates.sort(key=_candidate_order)
    claims = _Claims()
    listings = _claim(candidates, claims)
    memo: dict[Element, bool] = {}
    for listing in listings:
        _read_listing(page, listing, memo, claims)
    listings = [lst for lst in listings if lst.records]
    _assign_regions(listings)
    main_listings = [lst for lst in listings if lst.region == "main"]
    heroes = _heroes(page, singles, main_listings, claims, memo)
    main = [r for lst in main_listings for r in lst.records] + heroes
    if not main:
        main = _fallback(page, rejected, singles, claims, memo)
    lone = _lone_widget_links(page, singles, main, claims, memo)
    secondary = [r for lst in listings if lst.region == "secondary" for r in lst.records] + lone
    return _assemble(main, secondary)


def _candidate_order(candidate: tuple[float, list[_Link]]) -> tuple[float, int, int]:
    """Best link groups first: quality, then size, then page order."""
    return -candidate[0], -len(candidate[1]), candidate[1][0].order


def _read_listing(
    page: _Page, listing: _Listing, memo: dict[Element, bool], claims: _Claims
) -> None:
    """Read a listing's records and judge its context (widget box, heading, richness);
    sponsored records go, and the whole listing under a "Paid content"-style label."""
    _RecordReader(page, listing.records, claims.roots).read()
    if _labelled_box(listing.records):
        listing.records = []
    listing.records = [r for r in listing.records if not _sponsored_record(r)]
    if not listing.records:
        listing.region = "drop"
        return
    listing.richness = _richness(listing)
    in_widget = sum(_secondary_context(r.parts[0], memo) for r in listing.records)
    listing.under_widget_heading = _widget_heading(listing.records)
    listing.secondary_ctx = in_widget >= 0.5 * len(listing.records) or listing.under_widget_heading
    listing.site_share = sum(r.link.site for r in listing.records) / len(listing.records)


# Confidence of teasers that only the fallback found: a listing that failed the tests, or
# loose headline-like links.
FALLBACK_GROUP_CONFIDENCE = 0.3
FALLBACK_LINK_CONFIDENCE = 0.2


def _fallback(
    page: _Page,
    rejected: list[tuple[float, list[_Link]]],
    singles: list[_Link],
    claims: _Claims,
    memo: dict[Element, bool],
) -> list[_Record]:
    """Never nothing when the page has teaser-like links: the best rejected link groups of
    headline-like texts, else loose headline-like links, marked with a lower confidence."""
    loose = [c for c in rejected if _fallback_group(c[1])]
    loose.sort(key=_candidate_order)
    records: list[_Record] = []
    for listing in _claim(loose[:3], claims):
        _read_listing(page, listing, memo, claims)
        if not listing.under_widget_heading:
            records.extend(listing.records)
    confidence = FALLBACK_GROUP_CONFIDENCE
    if not records:
        confidence = FALLBACK_LINK_CONFIDENCE
        links = [link for c in rejected for link in c[1]] + singles
        seen: set[str] = set()
        for link in sorted(links, key=lambda lnk: lnk.order):
            if (
                link.url in seen
                or link.words < 4
                or link.score <= -1
                or not _title_like(link)
                or claims.covers(link.el)
                or _secondary_context(link.el, memo)
            ):
                continue
            seen.add(link.url)
            records.append(_Record(link=link, parts=[link.el]))
        _RecordReader(page, records).read()
    for record in records:
        record.confidence = confidence
    return records


def _fallback_group(links: list[_Link]) -> bool:
    """A link group that failed the listing tests but still reads like headlines."""
    n = len(links)
    urls = {link.url for link in links}
    return (
        len(urls) >= 2
        and len(urls) >= 0.5 * n
        and sum(link.score > -1 for link in links) >= 0.5 * n
        and sum(_title_like(link) and link.words >= 3 for link in links) >= 0.5 * n
    )


def _one_per_target(cluster: list[_Link]) -> list[_Link]:
    """One link per article and card: links to one URL with no other link of the group
    between them (an image link and a title link in sibling boxes, a comment count inside
    the headline) are one teaser; the one with the most title-like text stays."""
    kept: list[_Link] = []
    for link in sorted(cluster, key=lambda lnk: lnk.order):
        last = kept[-1] if kept else None
        if last is not None and last.url == link.url:
            if _link_rank(link) > _link_rank(last):
                kept[-1] = link
            continue
        kept.append(link)
    # The same block twice (a carousel's clone, a copy for small screens): the first copy.
    urls = [link.url for link in kept]
    for period in range(2, len(urls) // 2 + 1):
        if len(urls) % period == 0 and urls == urls[:period] * (len(urls) // period):
            kept = kept[:period]
            break
    return kept if len(kept) < len(cluster) else cluster


def _link_rank(link: _Link) -> tuple[bool, bool, bool, float]:
    """Which of two links to one article on the same spot to keep: a title over the rest,
    a read-more link over a comment link."""
    comments = bool(_COMMENT_FRAGMENT_RE.match(link.fragment))
    return _title_like(link), not comments, not is_read_more(link.text), link.words


def _worth_heading_titles(cluster: list[_Link]) -> bool:
    """Image-only or read-more links to distinct articles: their records may hold titles."""
    n = len(cluster)
    return (
        sum(link.score >= 1 for link in cluster) >= 0.5 * n
        and len({link.url for link in cluster}) >= 0.75 * n
        and sum(not _title_like(link) or link.from_attr for link in cluster) >= 0.5 * n
    )


def _claim(candidates: list[tuple[float, list[_Link]]], claims: _Claims) -> list[_Listing]:
    """Listings from the best link groups first; later groups inside taken records drop out."""
    listings: list[_Listing] = []
    for _, cluster in candidates:
        covering = [claims.covering(link.el) for link in cluster]
        # Headlines of other articles inside a taken record (small cards beside a hero that
        # took their whole block) are teasers of their own, with records inside it.
        nested = [
            c is not None and claims.owner.get(c) != link.url and _nested_teaser(link)
            for link, c in zip(cluster, covering, strict=True)
        ]
        if len({c for c, n in zip(covering, nested, strict=True) if n}) > 1:
            nested = [False] * len(cluster)  # only one swallowed block, not a whole listing
        inside = [c is not None and not n for c, n in zip(covering, nested, strict=True)]
        if sum(inside) >= 0.5 * len(cluster):
            continue
        kept = [i for i, taken in enumerate(inside) if not taken]
        links = [cluster[i] for i in kept]
        roots = _record_roots(links)
        clash = []
        for n, (i, root) in enumerate(zip(kept, roots, strict=True)):
            if nested[i] or (root in claims.above and not claims.covers(root)):
                # a record that would hold taken ones (the lead item of a block whose other
                # items another listing took) ends below them
                roots[n] = _nested_root(links[n].el, root, claims)
                clash.append(roots[n] in claims.above)
            else:
                clash.append(claims.covers(root))
        if sum(clash) > 0.25 * len(roots):
            continue
        # A few records overlapping taken ones (a card at the edge of another listing) go.
        # Hub-like links go (on the page's own site even slightly hub-like ones: authors,
        # users); another site's front page can be an aggregator's item.
        keep = [
            i
            for i, link in enumerate(links)
            if not clash[i]
            and (
                link.score > -1
                or (not link.site and (link.score > -2 or not _path_query(link.url)[0].strip("/")))
            )
        ]
        links, roots = [links[i] for i in keep], [roots[i] for i in keep]
        if len({link.url for link in links}) < 2:
            continue
        parts = _extend_flat(roots)
        records = [_Record(link=link, parts=p) for link, p in zip(links, parts, strict=True)]
        for link, part in zip(links, parts, strict=True):
            claims.add(part, link.url)
        listings.append(_Listing(links=links, records=records))
    return listings


def _nested_teaser(link: _Link) -> bool:
    """A heading link to an article, enough to stand as a teaser inside another record."""
    return link.heading is not None and link.score >= 1 and link.words >= 3 and _title_like(link)


def _nested_root(el: Element, limit: Element, claims: _Claims) -> Element:
    """The record of a nested teaser: its highest ancestor up to limit that is neither a
    taken record nor holds one."""
    root = el
    for ancestor in el.iterancestors():
        if ancestor in claims.roots or ancestor in claims.above:
            break
        root = ancestor
        if ancestor is limit:
            break
    return root


def _assemble(main: list[_Record], secondary: list[_Record]) -> Detection:
    """Main teasers, then secondary ones, each in page order; one teaser per URL."""
    main.sort(key=lambda r: r.link.order)
    secondary.sort(key=lambda r: r.link.order)
    out: list[DetectedTeaser] = []
    seen: set[str] = set()
    for region, records in (("main", main), ("secondary", secondary)):
        for record in records:
            if record.link.url in seen:
                continue
            seen.add(record.link.url)
            out.append(
                DetectedTeaser(
                    url=record.link.url,
                    title=record.title or None,
                    excerpt=record.excerpt,
                    image=record.image,
                    date_text=record.date_text,
                    has_read_more=record.has_read_more,
                    region=region,
                    parts=tuple(record.parts),
                    link=record.link.el,
                    title_el=record.link.title_el,
                    excerpt_els=tuple(record.excerpt_els),
                    image_el=record.image_el,
                    date_el=record.date_el,
                    confidence=record.confidence,
                )
            )
    return Detection(teasers=tuple(out))


@dataclass(frozen=True)
class BlockFields:
    """A teaser's fields as the automatic mode reads them from its block."""

    title: str | None
    excerpt: str | None
    image: str | None
    date_text: str | None
    has_read_more: bool


def read_blocks(root: Element, url: str, blocks: list[tuple[Element, str]]) -> list[BlockFields]:
    """Read title, excerpt, image, date and read-more of teaser blocks found otherwise (by
    selectors), each given with its article URL, the way the automatic mode reads them."""
    page = _Page(root, url, collect=False)
    records: list[_Record] = []
    for order, (block, article_url) in enumerate(blocks, 1):
        link = _block_link(page, block, article_url, order)
        records.append(_Record(link=link, parts=[block]))
    _RecordReader(page, records).read()
    return [
        BlockFields(
            title=r.title or None,
            excerpt=r.excerpt,
            image=r.image,
            date_text=r.date_text,
            has_read_more=r.has_read_more,
        )
        for r in records
    ]


def _block_link(page: _Page, block: Element, article_url: str, order: int) -> _Link:
    """The block's link to its article: one in a heading, else the one with most text."""
    best: _Link | None = None
    for a in block.iter("a"):
        target = page.resolve(a.get("href") or "")
        if target is None or target[0] != article_url.split("#")[0]:
            continue
        heading: Element | None = None
        for ancestor in a.iterancestors():
            if ancestor.tag in HEADINGS:
                heading = ancestor
                break
            if ancestor is block:
                break
        link = page.make_link(a, (), heading, order, strict=False)
        if link is None:
            continue
        if link.heading is not None and _title_like(link):
            return link
        if best is None or (link.words, not link.from_attr) > (best.words, not best.from_attr):
            best = link
    if best is not None:
        return best
    heading_el = _record_heading(block)
    text = element_text(heading_el) if heading_el is not None else ""
    placeholder = etree.Element("a")  # stands for a link the block does not contain
    return _Link(
        el=placeholder,
        url=article_url.split("#")[0],
        fragment="",
        text=text,
        path=(),
        order=order,
        heading=heading_el,
        title_el=heading_el if heading_el is not None else placeholder,
        words=wordish(text),
    )


# ---------------------------------------------------------------- next page

# "Next page" link texts, optionally with a qualifier ("Next entries »", "Ältere Beiträge",
# "Entradas anteriores"), or an arrow alone.
_NEXT_WORDS = (
    r"next|older|earlier|previous\s+(?:posts|entries|articles)|more\s+(?:posts|stories|articles|"
    r"news|entries)|weiter|vorwärts|nächste|ältere|siguiente|siguientes|anteriores|"
    r"más\s+antiguas|suivant|suivante|plus\s+anciens|successivo|successiva|avanti|precedenti|"
    r"próxima|próximo|mais\s+antigos|volgende|oudere|следующая|следующие|вперёд|вперед|далее|"
    r"предыдущие|старые|次へ|次のページ|次の|古い記事|下一页|下页|다음|berikutnya|"
    r"selanjutnya|lebih\s+lama|sonraki|następna|starsze|अगला|التالي"
)
_NEXT_TEXT_RE = re.compile(
    rf"^\W*(?:(?:{_NEXT_WORDS})(?:\s+\w+){{0,2}}|(?:\w+\s+){{0,2}}(?:{_NEXT_WORDS}))\W*$"
    r"|^\s*[\u203a\u00bb\u2192>\u226b]+\s*$",
    re.IGNORECASE,
)
_NOT_NEXT_RE = re.compile(r"\b(last|letzte|última|dernière|ultima|последняя|newer|neuere)\b", re.I)
_NEXT_CLASS_RE = re.compile(r"(^|[-_\s])(next|nextpostslink|older|pagination-next)($|[-_\s])", re.I)
_CURRENT_CLASS_RE = re.compile(r"(^|[-_\s])(current|active|selected|is-active|on)($|[-_\s])", re.I)
_PAGE_NUMBER_RE = re.compile(
    r"(?:[/_-](?:page|seite|pagina|p|strona)[/_-]?|[?&](?:page|paged|p|pg|seite)=)(\d+)", re.I
)


@dataclass(frozen=True)
class NextPage:
    """The next listing page and how it was found (its element, to suggest a selector)."""

    url: str
    element: Element
    how: str


def detect_next_page(root: Element, url: str) -> NextPage | None:
    """The next page of a listing: rel=next, a "Next"/"Older posts" link, or page number + 1."""
    page = url.split("#")[0].rstrip("/")
    base = url
    for base_el in root.iter("base"):
        base = absolute_http_url(base_el.get("href"), url) or url
        break

    def usable(el: Element) -> str | None:
        target = absolute_http_url(el.get("href"), base)
        if target is None:
            return None
        target = target.split("#")[0]
        if target.rstrip("/") == page or not same_site(target, url):
            return None
        return target

    links = [a for a in root.iter("a", "link") if a.get("href") and not _hidden_path(a)]
    for el in links:
        if "next" in (el.get("rel") or "").lower().split() and (target := usable(el)):
            return NextPage(target, el, "rel")
    anchors = [a for a in links if a.tag == "a"]
    for a in anchors:
        text = element_text(a) or clean_text(a.get("aria-label") or a.get("title"))
        by_text = bool(_NEXT_TEXT_RE.match(text)) and not _NOT_NEXT_RE.search(text)
        by_class = bool(_NEXT_CLASS_RE.search(a.get("class") or "")) and not text.isdigit()
        if (by_text or by_class) and (target := usable(a)):
            return NextPage(target, a, "text")
    return _numbered_next(anchors, page, usable)


def _hidden_path(el: Element) -> bool:
    """True when el or an ancestor is hidden or inside a script or template."""
    node: Element | None = el
    while node is not None:
        tag = node.tag
        if isinstance(tag, str) and (tag in ("script", "template", "noscript") or is_hidden(node)):
            return True
        node = node.getparent()
    return False


def _numbered_next(
    anchors: list[Element], page: str, usable: Callable[[Element], str | None]
) -> NextPage | None:
    """The link numbered one more than the current page in a run of page-number links."""
    numbered = [(a, t) for a in anchors if (t := element_text(a)).isdigit() and len(t) <= 5]
    if len(numbered) < 2:
        return None
    holders: Counter[Element] = Counter()
    for a, _ in numbered:
        holders.update(list(a.iterancestors())[:4])
    current: int | None = None
    for container in (el for el, n in holders.items() if n >= 2):
        for el in container.iter():
            if not isinstance(el.tag, str):
                continue
            marked = el.get("aria-current") or _CURRENT_CLASS_RE.search(el.get("class") or "")
            text = element_text(el) if marked else ""
            if text.isdigit():
                current = int(text)
                break
        if current is not None:
            break
    if current is None:
        match = _PAGE_NUMBER_RE.search(page)
        current = int(match.group(1)) if match else 1
    for a, text in numbered:
        if int(text) == current + 1 and (target := usable(a)):
            return NextPage(target, a, "number")
    return None
