"""URL normalisation and content hashes: the keys that make one story one article."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from courlan.clean import decode_punycode

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "clean_url",
    "content_hash",
    "is_tracking_param",
    "normalize_url",
    "teaser_key",
]

# courlan's own tracker filter (courlan.clean.TRACKERS_RE) is deliberately not used for
# query parameters: it also drops `source`, `cid`, `uid`, anything starting with `ga`
# (`gallery`) or `ref` (`refresh`) and every blank parameter (`?print`), which would fold
# distinct pages into one key. This list is explicit instead: names compared lower-case.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "igshid", "igsh", "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl",
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_conv", "vero_id", "wickedid", "ref", "ref_src",
        "ref_url", "referrer", "cmpid", "cmp", "ocid", "icid", "ncid", "xtor", "smid",
        "smtyp", "sr_share", "ito", "s_cid", "wt.mc_id", "wt_mc", "trk", "trkcampaign",
        "soc_src", "soc_trk", "guccounter", "guce_referrer", "guce_referrer_sig",
        "_openstat", "spm", "__twitter_impression",
    }
)  # fmt: skip
TRACKING_PREFIXES: tuple[str, ...] = (
    "utm_", "pk_", "mtm_", "matomo_", "piwik_", "hsa_", "ns_", "fb_", "at_", "itm_",
    "ga_", "oly_", "vero_",
)  # fmt: skip

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "%:@!$'()*+,;=/?-._~"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})?")
_JSESSIONID = re.compile(r";jsessionid=[^/]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a known tracking parameter."""
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """Dedup key of a URL: the same page under cosmetic URL variants gives the same key."""
    try:
        return _normalize(url)
    except Exception:  # by contract this never raises: the input is the best key left
        return _strip(url)


def clean_url(url: str) -> str:
    """URL to fetch: the fragment and tracking parameters dropped, everything else kept."""
    try:
        text = _strip(url)
        parts = urlsplit(text)
        if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
            return text
        query = "&".join(
            pair
            for pair in parts.query.split("&")
            if pair.strip() and not is_tracking_param(pair.split("=", 1)[0])
        )
        # stripped again: a blank netloc or path can leave whitespace at either end
        return _strip(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))
    except Exception:  # never raises, like normalize_url
        return _strip(url)


def content_hash(
    title: str | None, body: str | None, *, body_words: Sequence[str] | None = None
) -> str:
    """sha256 of the whitespace-normalised, case-folded title and body.

    `body_words` is `body.split()` when the caller has it already (to count words, say).
    """
    folded = " ".join(body_words).casefold() if body_words is not None else _fold(body)
    text = _fold(title) + "\n" + folded
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def teaser_key(listing_url: str, url_key: str, title: str | None, excerpt: str | None) -> str:
    """Identity of a teaser: where it was listed, what it links to and what it said."""
    parts = (normalize_url(listing_url), url_key, _squash(title), _squash(excerpt))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def _fold(text: str | None) -> str:
    return _squash(text).casefold()


def _strip(url: object) -> str:
    if not isinstance(url, str):
        return ""
    # browsers drop tabs and newlines anywhere in a URL (WHATWG URL standard)
    return url.strip().replace("\t", "").replace("\n", "").replace("\r", "")


def _normalize(url: str) -> str:
    text = _strip(url)
    parts = urlsplit(text)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return text
    netloc = _normalize_netloc(parts.scheme, parts.netloc)
    if not netloc:
        return text
    path = _normalize_path(parts.path)
    pairs = sorted(
        _normalize_escapes(quote(pair, safe=_QUERY_SAFE))
        for pair in parts.query.split("&")
        if pair and not is_tracking_param(pair.split("=", 1)[0])
    )
    return urlunsplit((parts.scheme, netloc, path, "&".join(pairs), ""))


def _normalize_netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        host += bracket
        port = port[1:] if port.startswith(":") else port
    else:
        host, _, port = hostport.partition(":")
    host = decode_punycode(host.lower().rstrip("."))
    if not host:
        return ""
    if port.isascii() and port.isdigit():
        port = str(int(port))
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    return f"{userinfo}{at}{host}{':' if port else ''}{port}"


def _normalize_path(path: str) -> str:
    path = _normalize_escapes(quote(_JSESSIONID.sub("", path), safe=_PATH_SAFE))
    # dot segments resolved, empty segments and the trailing slash dropped
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


def _normalize_escapes(text: str) -> str:
    return _ESCAPE.sub(_fix_escape, text)


def _fix_escape(match: re.Match[str]) -> str:
    if match[1] is None:
        # a lone "%" is escaped itself: "%a%30" must not turn into the escape "%a0"
        return "%25"
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()
