"""Small text and URL helpers shared by listing and article extraction."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["READ_MORE_RE", "absolute_http_url", "clean_text", "strip_read_more"]

_WS_RE = re.compile(r"\s+")

# "Read more"-style link texts in several languages (matched on the whole link text).
READ_MORE_RE = re.compile(
    r"^\W*(read\s+more|read\s+on|more|continue\s+reading|continue|full\s+story|"
    r"weiterlesen|mehr\s+lesen|mehr|leer\s+m[aá]s|seguir\s+leyendo|lire\s+la\s+suite|"
    r"en\s+savoir\s+plus|lees\s+meer|leggi\s+(tutto|di\s+più)|continua|"
    r"подробнее|читать\s+далее|далее|続きを読む|もっと見る)\W*$",
    re.IGNORECASE,
)
_TAIL_RE = re.compile(
    r"\s*(?:\.\.\.|…)?\s*\[?(?:read\s+more|continue\s+reading|weiterlesen|mehr\s+lesen|"
    r"leer\s+m[aá]s|lire\s+la\s+suite|подробнее|читать\s+далее|続きを読む)\]?\s*[\u00bb\u203a\u2192>]*\s*$",
    re.IGNORECASE,
)


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace and trim."""
    if not text:
        return ""
    return _WS_RE.sub(" ", text).strip()


def strip_read_more(text: str) -> str:
    """Drop a trailing "… Read more" from an excerpt."""
    return _TAIL_RE.sub("", text).strip()


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
