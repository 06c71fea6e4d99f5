"""Small text and URL helpers shared by listing and article extraction."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["READ_MORE_RE", "absolute_http_url", "clean_text", "is_read_more", "strip_read_more"]

_WS_RE = re.compile(r"\s+")

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
    return _WS_RE.sub(" ", text).strip()


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
    """Resolve href against base; None unless the result is an http(s) URL."""
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
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url
