"""Small text and URL helpers shared by listing and article extraction."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree

__all__ = [
    "MAX_PAGE_CHARS",
    "MAX_PAGE_ELEMENTS",
    "MAX_PAGE_TEXT",
    "MAX_TAG_ATTRIBUTES",
    "READ_MORE_RE",
    "absolute_http_url",
    "bound_tree",
    "clean_text",
    "has_oversized_tags",
    "is_read_more",
    "limit_attributes",
    "over_bounds",
    "scrub_controls",
    "strip_read_more",
    "tree_text",
]

_WS_RE = re.compile(r"\s+")
# C0 controls that libxml2's HTML parser keeps in text but lxml refuses to write back
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_INVALID = tuple(chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))

# "Read more"-style phrases in several languages.
_READ_MORE_PHRASES = (
    r"read\s+more|read\s+on|keep\s+reading|continue\s+reading|read\s+the\s+rest(?:\s+of\s+"
    r"(?:this|the)\s+(?:entry|post|article|story))?|read\s+(?:the\s+)?(?:full\s+)?"
    r"(?:article|story|post)|full\s+story|weiterlesen|mehr\s+lesen|(?:ganzen\s+)?artikel\s+lesen|"
    r"zum\s+artikel|leer\s+m[aá]s|seguir\s+leyendo|sigue\s+leyendo|continuar\s+leyendo|"
    r"ver\s+m[aá]s|lire\s+la\s+suite|lire\s+plus|en\s+savoir\s+plus|leggi\s+(?:tutto|di\s+più)|"
    r"continua\s+a\s+leggere|leia\s+mais|ler\s+mais|continue\s+lendo|saiba\s+mais|lees\s+meer|"
    r"lees\s+verder|verder\s+lezen|czytaj\s+dalej|baca\s+selengkapnya|"
    r"selengkapnya|lanjut\s+baca|подробнее|читать\s+далее|читать\s+дальше|читать\s+полностью|"
    r"続きを読む|続きを見る|もっと見る|詳しくはこちら|阅读全文|阅读更多|查看全文|और\s+पढ़ें|"
    r"आगे\s+पढ़ें|पूरा\s+पढ़ें"
)
_READ_MORE_WORDS = r"more|continue|mehr|m[aá]s|suite|continua|далее|więcej|続き|更多"

# A whole link text that means "read more" (arrows, brackets and ellipses around it allowed).
READ_MORE_RE = re.compile(
    rf"^\W*(?:{_READ_MORE_PHRASES}|{_READ_MORE_WORDS})\W*$",
    re.IGNORECASE,
)
# A "… Read more" tail of an excerpt; single words only after an ellipsis or in brackets.
_TAIL_RE = re.compile(
    rf"\s*(?:(?:\.\.\.|…)?\s*[\[(]?(?:{_READ_MORE_PHRASES})[\])]?"
    rf"|(?:\.\.\.|…)\s*[\[(]?(?:{_READ_MORE_WORDS})[\])]?|[\[(](?:{_READ_MORE_WORDS})…?[\])])"
    r"\s*[\u00bb\u203a\u2192>.…]*\s*$",
    re.IGNORECASE,
)


# Last words of the phrases above: a text can only end in a read-more tail if it ends in one.
_TAIL_END_WORDS = frozenset(
    {
        "more", "on", "reading", "rest", "entry", "post", "article", "story", "weiterlesen",
        "lesen", "artikel", "más", "mas", "leyendo", "suite", "plus", "tutto", "più", "leggere",
        "mais", "lendo", "meer", "verder", "lezen", "dalej", "selengkapnya", "baca",
        "подробнее", "далее", "дальше", "полностью", "continue", "mehr", "continua", "więcej",
        "पढ़ें",
    }
)  # fmt: skip
_TAIL_END_CJK = (
    "続きを読む",
    "続きを見る",
    "もっと見る",
    "詳しくはこちら",
    "阅读全文",
    "阅读更多",
    "查看全文",
    "続き",
    "更多",
)
_TAIL_TRAILERS = " \t\n\u00bb\u203a\u2192>.…])"


def is_read_more(text: str) -> bool:
    """True when a whole (link) text means "read more"."""
    return len(text) <= 48 and READ_MORE_RE.match(text) is not None


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace and trim."""
    if not text:
        return ""
    return " ".join(text.split())  # what re's \s+ and strip() give, without the regex


def strip_read_more(text: str) -> str:
    """Drop a trailing "… Read more" from an excerpt."""
    body = text[-48:].rstrip(_TAIL_TRAILERS)
    words = body.rsplit(None, 1)
    last = words[-1].lower().lstrip("[(") if words else ""
    if last not in _TAIL_END_WORDS and not body.endswith(_TAIL_END_CJK):
        return text.strip()  # the common case, without running the regular expression
    cut = max(0, len(text) - 64)
    return (text[:cut] + _TAIL_RE.sub("", text[cut:])).strip()


def absolute_http_url(href: str | None, base: str) -> str | None:
    """Resolve href against base; None unless the result is an http(s) URL (or, on a saved
    page with a file:// base, a file:// URL)."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme == "file" and base[:5].lower() == "file:":
        return url
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def scrub_controls(root: etree._Element, text: str | None = None) -> int:
    """Remove control characters from the text of a parsed tree; return the nodes changed.

    An HTML parser keeps them, but lxml raises on any text written back that holds one, so
    dropping an element whose tail has one (as cleanup does) would fail the whole page.
    `text` is the tree's `tree_text` when the caller has it already.
    """
    if text is None:
        text = tree_text(root)
    # the common case, in C: a substring test per character is faster than one regex pass
    if not any(char in text for char in _XML_INVALID):
        return 0
    changed = 0
    for el in root.iter():
        for name in ("text", "tail"):
            value = getattr(el, name)
            if value and _XML_INVALID_RE.search(value):
                setattr(el, name, _XML_INVALID_RE.sub("", value))
                changed += 1
    return changed


# Work bounds for one page. Extraction time grows with a page's elements and text (about
# 12 ms per 1,000 words of text on one core); a 20 MB page (DOWNLOAD_MAXSIZE) took 5 to 12 s
# per extractor. Real pages stay far below: the 181 AEB article pages have at most 1,709
# elements and 416 k characters of text. Past the bounds a page is cut as if its download
# had stopped there. The bound this buys: under 2 s of CPU per extractor call on one core
# (benchmarks/mutation.py: at most 1.3 s, for 100x duplicated bodies; 10,000 paragraphs
# right at the element bound take 1.2 s).
MAX_PAGE_ELEMENTS = 10_000
MAX_PAGE_TEXT = 1_000_000
# markup is cut before parsing at this many characters (bytes, for bytes): our settings'
# DOWNLOAD_MAXSIZE, so a crawled page is never cut here (parsing costs ~5-15 ms per MB)
MAX_PAGE_CHARS = 20_000_000
# libxml2 checks each attribute of a tag against all before it: 40,000 attributes on one
# tag took 3.4 s to parse, 200,000 more than a minute. No real tag has a thousand.
MAX_TAG_ATTRIBUTES = 1_000
_LONG_TAG_RE = re.compile(rf"<[A-Za-z][^<>]{{{3 * MAX_TAG_ATTRIBUTES},}}")
_LONG_TAG = 3 * MAX_TAG_ATTRIBUTES  # characters after a tag's first letter, as in _LONG_TAG_RE
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ATTRIBUTE_RE = re.compile(r"""\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?""")


def bound_tree(
    root: etree._Element,
    max_elements: int = MAX_PAGE_ELEMENTS,
    max_text: int = MAX_PAGE_TEXT,
    *,
    text_chars: int | None = None,
) -> str | None:
    """Cut a parsed page in place to its first `max_elements` elements and `max_text`
    characters of text, in document order; the reason, or None when it was within both.

    `text_chars` is the length of the tree's text when the caller has it already.
    """
    if text_chars is None:
        elements, text = _size(root)
    else:
        elements, text = _elements(root), text_chars
    if elements <= max_elements and text <= max_text:
        return None  # the common case, counted in C
    # inline scripts and styles (megabytes of app state on some sites) are never content:
    # they go first, so that the article after them survives
    dropped = _drop_code(root)
    if dropped and not over_bounds(root, max_elements, max_text):
        return f"script and style text dropped: {dropped:,} of {text:,} characters"
    count = used = 0
    for el in root.iter():
        if isinstance(el.tag, str):
            count += 1
            if count > max_elements:
                _cut_after(el, root, keep=False)
                break
            value = el.text or ""
            if used + len(value) > max_text:
                el.text = _XML_INVALID_RE.sub("", value[: max(0, max_text - used)])
                for child in list(el):
                    el.remove(child)
                _cut_after(el, root, keep=True)
                break
            used += len(value)
        used += len(el.tail or "")
    return (
        f"page cut to {max_elements:,} elements and {max_text:,} characters of text "
        f"(it had {elements:,} and {text:,})"
    )


def _drop_code(root: etree._Element) -> int:
    dropped = 0
    for el in root.iter("script", "style"):
        if el.text and (el.get("type") or "").strip().lower() != "application/ld+json":
            dropped += len(el.text)
            el.text = None
    return dropped


def over_bounds(
    root: etree._Element, max_elements: int = MAX_PAGE_ELEMENTS, max_text: int = MAX_PAGE_TEXT
) -> bool:
    """Whether a parsed page has more elements or text than the bounds (counted in C)."""
    elements, text = _size(root)
    return elements > max_elements or text > max_text


def _size(root: etree._Element) -> tuple[int, int]:
    text = root.xpath("string-length(.)")
    return _elements(root), int(text) if isinstance(text, float) else 0


def _elements(root: etree._Element) -> int:
    count = root.xpath("count(descendant-or-self::*)")
    return int(count) if isinstance(count, float) else 0


def tree_text(root: etree._Element) -> str:
    """All the text of a tree, as XPath's string() joins it."""
    return str(root.xpath("string()"))


def _cut_after(el: etree._Element, root: etree._Element, *, keep: bool) -> None:
    """Remove everything after `el` in document order (and `el` itself unless keep)."""
    node = el
    while node is not root:
        parent = node.getparent()
        if parent is None:
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node = parent
    parent = el.getparent()
    if not keep and el is not root and parent is not None:
        parent.remove(el)


def has_oversized_tags(html: str) -> bool:
    """Whether some start tag holds MAX_TAG_ATTRIBUTES attributes (limit_attributes cuts it)."""
    # Only the text between one "<" and the next can be such a tag, and only if it is longer
    # than _LONG_TAG: the last "<" within that reach of one is the next worth a look, found
    # in C. Long tags are common (SVG paths, srcsets, view state): their attributes tell.
    at = html.find("<")
    while at >= 0:
        start = at + 1
        later = html.rfind("<", start, start + _LONG_TAG + 1)
        if later >= 0:
            at = later  # every "<" before it begins a shorter piece
            continue
        at = html.find("<", start)
        piece = html[start:at] if at >= 0 else html[start:]
        if len(piece) > _LONG_TAG and piece[0] in _ASCII_LETTERS:
            end = piece.find(">")
            tag = piece if end < 0 else piece[:end]
            if len(tag) > _LONG_TAG and _too_many_attributes("<" + tag):
                return True
    return False


def _too_many_attributes(tag: str) -> bool:
    for number, _ in enumerate(_ATTRIBUTE_RE.finditer(tag), 1):
        if number == MAX_TAG_ATTRIBUTES:
            return True
    return False


def limit_attributes(html: str) -> str:
    """The markup with every start tag cut to its first MAX_TAG_ATTRIBUTES attributes."""
    return _LONG_TAG_RE.sub(_cut_tag, html)


def _cut_tag(match: re.Match[str]) -> str:
    tag = match[0]
    for number, attribute in enumerate(_ATTRIBUTE_RE.finditer(tag), 1):
        if number == MAX_TAG_ATTRIBUTES:
            return tag[: attribute.end()]
    return tag
