"""Boilerplate removal on article pages, with rules as data and an audit record per removal."""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, cast

from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import XPath, strip_elements
from lxml.html import HtmlElement

from crawlers.extract.text import clean_text

__all__ = [
    "DEFAULT_MAX_CHARS",
    "CleanupRule",
    "ImageRules",
    "Removal",
    "apply_rules",
    "filter_paragraphs",
    "global_rules",
    "image_rules",
    "load_rules",
    "matches_within_words",
    "paragraph_chars",
    "site_rules",
    "words_matching",
]

# Text and class rules look only at blocks up to this long: a long block is content.
DEFAULT_MAX_CHARS = 700
# An element holding this share of the page's paragraph text is the article, whatever its
# markup says (ASP.NET pages wrap everything in a <form>; some CMSs put the story in <aside>).
_PROTECT_SHARE = 0.5
# Text rules remove the outermost of these that starts with the matched text.
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "aside",
        "header",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "dl",
        "dd",
        "dt",
        "blockquote",
        "figure",
        "table",
        "tr",
        "td",
    }
)
_LEAD_RE = re.compile(r"\W*(\w)")
# a quantifier after a pattern element, greedy or lazy
_QUANTIFIER_RE = re.compile(r"(?:[?*+]|\{\d*(?:,\d*)?\})\??")
_RULE_KEYS = {"name", "audit", "selectors", "classes", "texts", "max_chars", "link_lists"}
# A list item counts as a link when links hold this share of its text.
_LINK_SHARE = 0.9
# ... unless a sentence of at least this many words ending in a colon leads into it
_INTRO_WORDS = 4
# Text runs that can start a block worth a text rule; link texts are left to the paragraph
# pass after extraction (a block that starts with a link is a list of links, or kept text).
_TEXT_NODES = XPath(
    ".//text()[normalize-space()][not(parent::a or parent::script or parent::style"
    " or parent::option or parent::label)]"
)


@dataclass(frozen=True)
class CleanupRule:
    """A named rule, as data: what matches a selector, class/id pattern or leading text goes.

    `classes` are regular expressions searched in an element's lower-cased class and id,
    starting at a word boundary; `texts` are case-insensitive regular expressions matched at
    the start of a block's text. Both only take blocks of at most `max_chars` characters.
    `link_lists` (when > 0) takes lists of at least that many items that are all links.
    """

    name: str
    selectors: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    max_chars: int = DEFAULT_MAX_CHARS
    audit: bool = True
    link_lists: int = 0


@dataclass(frozen=True)
class Removal:
    """One element or paragraph removed by a rule, with its text for auditing."""

    rule: str
    text: str


@dataclass(frozen=True)
class ImageRules:
    """How captions and credits of content images are recognised (rules.toml [images])."""

    caption: re.Pattern[str]
    credit: re.Pattern[str]
    credit_text: re.Pattern[str]
    any: re.Pattern[str]  # caption or credit


def _alternation(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _check(rule: CleanupRule) -> CleanupRule:
    if not rule.name:
        raise ValueError("a cleanup rule needs a name")
    for css in rule.selectors:
        try:
            CSSSelector(css, translator="html")
        except (SelectorError, ValueError) as exc:
            raise ValueError(
                f"cleanup rule {rule.name!r}: invalid selector {css!r}: {exc}"
            ) from None
    for pattern in (*rule.classes, *rule.texts):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"cleanup rule {rule.name!r}: invalid pattern {pattern!r}: {exc}"
            ) from None
    if rule.max_chars < 1:
        raise ValueError(f"cleanup rule {rule.name!r}: max_chars must be positive")
    if rule.link_lists < 0:
        raise ValueError(f"cleanup rule {rule.name!r}: link_lists must not be negative")
    return rule


def _strings(raw: Mapping[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"cleanup rule {name!r}: {key} must be a list of strings")
    return tuple(value)


def _rule_from_toml(raw: Mapping[str, Any]) -> CleanupRule:
    name = str(raw.get("name") or "")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ValueError(f"cleanup rule {name!r}: unknown keys {', '.join(sorted(unknown))}")
    return _check(
        CleanupRule(
            name=name,
            selectors=_strings(raw, "selectors", name),
            classes=_strings(raw, "classes", name),
            texts=_strings(raw, "texts", name),
            max_chars=int(raw.get("max_chars", DEFAULT_MAX_CHARS)),
            audit=bool(raw.get("audit", True)),
            link_lists=int(raw.get("link_lists", 0)),
        )
    )


def load_rules(text: str) -> tuple[CleanupRule, ...]:
    """Rules from the text of a rules file in the format of crawlers/extract/rules.toml."""
    return tuple(_rule_from_toml(r) for r in tomllib.loads(text).get("rule", []))


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return tomllib.loads(
        resources.files("crawlers.extract").joinpath("rules.toml").read_text("utf-8")
    )


@lru_cache(maxsize=1)
def global_rules() -> tuple[CleanupRule, ...]:
    """The rules shipped with the package (crawlers/extract/rules.toml)."""
    return tuple(_rule_from_toml(r) for r in _shipped()["rule"])


@lru_cache(maxsize=1)
def image_rules() -> ImageRules:
    """Caption and credit patterns shipped with the package (crawlers/extract/rules.toml)."""
    images = _shipped()["images"]
    caption = _alternation(images["caption_classes"])
    credit = _alternation(images["credit_classes"])
    return ImageRules(
        caption=re.compile(f"(?<![a-z0-9])(?:{caption})"),
        credit=re.compile(f"(?<![a-z0-9])(?:{credit})"),
        credit_text=re.compile(_alternation(images["credit_texts"]), re.I),
        any=re.compile(f"(?<![a-z0-9])(?:{caption}|{credit})"),
    )


@lru_cache(maxsize=256)
def site_rules(site: str, selectors: tuple[str, ...]) -> tuple[CleanupRule, ...]:
    """The `strip` selectors of one site as a rule named after the site."""
    if not selectors:
        return ()
    return (_check(CleanupRule(name=f"site:{site}", selectors=selectors)),)


# how many matched texts a rule set remembers before it starts afresh
_SEEN_TEXTS = 20_000
_UNSEEN = object()
# a class pattern that could match across a space or tell a space from a value's ends (an
# anchor, an escape that can stand for a space, an inline flag): the value is searched
# whole, not word by word (no shipped pattern has one)
_SPANS_WORDS_RE = re.compile(r"\\[sSWDbBAZzxutnrfvN0-7]|[.^$ \t]|\[\^|\(\?[^:=!<]")


def matches_within_words(pattern: str) -> bool:
    """Whether a class pattern's matches all lie within one word of a class value, so a
    value can be searched word by word."""
    return _SPANS_WORDS_RE.search(pattern) is None


_SIMPLE_TAG_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
_SIMPLE_CLASS_RE = re.compile(r"^\.[\w-]+$")
_SIMPLE_ID_RE = re.compile(r"^#[\w-]+$")


@dataclass(frozen=True)
class _Matcher:
    """A set of rules compiled for one pass per kind: tag, class/id, CSS, text."""

    rules: tuple[CleanupRule, ...]
    tags: dict[str, CleanupRule]
    class_names: dict[str, CleanupRule]
    ids: dict[str, CleanupRule]
    # each rule's selectors that are not a plain tag, class or id, in rule order
    css: tuple[tuple[CleanupRule, XPath | _AttributeTest], ...]
    # the elements every attribute-only group (an _AttributeTest in `css`) can match
    attribute_scan: XPath | None
    classes: re.Pattern[str] | None
    # text patterns by the first letter they can match, and those that can start anywhere
    by_first: dict[str, tuple[tuple[int, str], ...]]
    anywhere: tuple[tuple[int, str], ...]
    # for each `anywhere` pattern, a literal every match of it holds (None if it has none)
    needs: tuple[str | None, ...]
    compiled: dict[tuple[str, int], re.Pattern[str] | None] = field(default_factory=dict)
    # whether `classes` can be searched in each word of a class value apart
    by_word: bool = False
    # class and id words already searched (most recur across pages), to their match's rule;
    # texts already matched (menu items, share buttons and paragraphs recur) likewise. Rules,
    # not match objects: thousands of long-kept matches made full garbage collections.
    words: dict[str, CleanupRule | None] = field(default_factory=dict)
    seen: dict[str, CleanupRule | None] = field(default_factory=dict)

    @property
    def has_texts(self) -> bool:
        """Whether any rule has text patterns."""
        return bool(self.by_first or self.anywhere)

    def rule(self, match: re.Match[str]) -> CleanupRule:
        """The rule whose pattern made a match of `classes` or `texts`."""
        return self.rules[int(str(match.lastgroup)[1:])]

    def text_rule(self, text: str) -> CleanupRule | None:
        """The rule of the first text pattern matching at the start of `text`, if any."""
        known = self.seen.get(text, _UNSEEN)
        if known is not _UNSEEN:
            return cast("CleanupRule | None", known)
        if len(self.seen) >= _SEEN_TEXTS:
            self.seen.clear()
        match = self._match_text(text)
        self.seen[text] = rule = self.rule(match) if match is not None else None
        return rule

    def _match_text(self, text: str) -> re.Match[str] | None:
        lead = _LEAD_RE.match(text)
        letter = lead.group(1).lower() if lead is not None else ""
        # patterns that can start anywhere are tried on every text, and some scan ahead
        # ("… contributed to this report"): only those whose literal the text holds
        lowered = text.lower()
        present = 0
        for bit, need in enumerate(self.needs):
            if need is None or need in lowered:
                present |= 1 << bit
        key = (letter, present)
        if key not in self.compiled:
            anywhere = tuple(p for bit, p in enumerate(self.anywhere) if present >> bit & 1)
            self.compiled[key] = _combine(self.by_first.get(letter, ()) + anywhere)
        regex = self.compiled[key]
        return regex.match(text) if regex is not None else None


def _combine(patterns: Sequence[tuple[int, str]]) -> re.Pattern[str] | None:
    """One regex of the given (rule index, pattern) pairs, a named group per rule."""
    if not patterns:
        return None
    by_rule: dict[int, list[str]] = {}
    for index, pattern in sorted(patterns):
        by_rule.setdefault(index, []).append(pattern)
    groups = "|".join(f"(?P<r{i}>{_alternation(ps)})" for i, ps in by_rule.items())
    return re.compile(rf"^\W*(?:{groups})", re.I)


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth after it) of each unescaped `(`, `)` and `|` outside classes."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[ch]
            yield i, ch, depth
        i += 1


def _group_end(pattern: str, start: int) -> int:
    """Index of the parenthesis closing the group opened at `start`."""
    return next((i for i, ch, depth in _structure(pattern, start) if ch == ")" and depth == 0), -1)


def _branches(pattern: str) -> list[str]:
    """The pattern split at its top-level `|`."""
    cuts = [i for i, ch, depth in _structure(pattern) if ch == "|" and depth == 0]
    bounds = [-1, *cuts, len(pattern)]
    return [pattern[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _optional(quantifier: str) -> bool:
    return quantifier[:1] in ("?", "*") or quantifier.startswith("{0")


def _non_word_start(pattern: str) -> int:
    """Length of the pattern's first element with its quantifier if that element matches
    non-word characters only (",", "\\s", "\\W", "\\.", "©"); else 0."""
    if pattern[:1] == "\\" and len(pattern) > 1:
        escaped = pattern[1]
        size = 2 if escaped in "sW" or not (escaped.isalnum() or escaped == "_") else 0
    elif pattern[:1] and pattern[0] not in ".()[]{}?*+|^$" and re.fullmatch(r"\W", pattern[0]):
        size = 1
    else:
        size = 0
    if size:
        quantifier = _QUANTIFIER_RE.match(pattern, size)
        size = quantifier.end() if quantifier is not None else size
    return size


def _first_letters(pattern: str) -> frozenset[str] | None:
    """Lower-cased word characters a text pattern's match can begin with; None if unsure.

    Conservative: anything but literals, digits and groups of them gives None, and such a
    pattern is tried on every text.
    """
    branches = _branches(pattern)
    if len(branches) > 1:
        found: set[str] = set()
        for branch in branches:
            letters = _first_letters(branch)
            if letters is None:
                return None
            found |= letters
        return frozenset(found)
    if not pattern:
        return None
    ch = pattern[0]
    if ch == "(":
        end = _group_end(pattern, 0)
        if end < 0:
            return None
        inner, rest = pattern[1:end], pattern[end + 1 :]
        if inner.startswith("?:"):
            inner = inner[2:]
        elif inner.startswith("?"):
            return None
        first, after = _first_letters(inner), rest
    elif ch == "\\" and pattern[1:2] == "d":
        first, after = frozenset("0123456789"), pattern[2:]
    elif skip := _non_word_start(pattern):
        # characters that are never word characters, required or not: the text's first
        # word character (the key the patterns are filed under) comes after them
        return _first_letters(pattern[skip:])
    elif ch.isalnum():
        first, after = frozenset({ch.lower()}), pattern[1:]
    else:
        return None
    if first is None:
        return None
    if _optional(after):
        # an optional start: the match may begin with what follows it
        after = after[1:] if after[0] in "?*" else after[after.find("}") + 1 :]
        after = after[1:] if after[:1] == "?" else after  # a lazy quantifier
        rest_first = _first_letters(after)
        return None if rest_first is None else first | rest_first
    return first


def _class_end(pattern: str, start: int) -> int:
    """Index of the `]` closing the character class opened at `start`, or -1."""
    i = start + 1
    i += pattern[i : i + 1] == "^"
    i += pattern[i : i + 1] == "]"  # "[]…]" and "[^]…]" begin with a literal ]
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "]":
            return i
        else:
            i += 1
    return -1


def _folds_simply(ch: str) -> bool:
    """Whether every character re.IGNORECASE matches with `ch` lower-cases to ch.lower().

    True for ASCII but s and i (U+017F, U+0131 and U+0130 match them) and for characters
    without case.
    """
    return (ch.isascii() and ch.lower() not in "si") or ch.lower() == ch.upper()


def _required_literal(pattern: str) -> str | None:
    """The longest run of plain characters outside any group, class or quantifier, lower-
    cased: every match of the pattern (case-insensitive) holds it. None if there is none."""
    if any(ch == "|" and depth == 0 for _, ch, depth in _structure(pattern)):
        return None  # top-level branches: no run is in all of them
    if re.match(r"\(\?[a-zA-Z]*x", pattern):
        return None  # verbose: spaces are no literals
    best, run, i = "", "", 0
    while i < len(pattern):
        ch = pattern[i]
        zero_width = False
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            literal, step = pattern[i + 1], 2  # an escaped special character: \. \- \(
        elif ch.isalnum() or ch in " ,:;'\"@#%&=<>/!-_~" or ord(ch) > 127:
            literal, step = ch, 1
        else:  # a group, class, escape class, anchor, dot or quantifier ends the run
            literal, step = "", 1
            # but a word boundary or lookaround consumes nothing: the run goes on across it
            zero_width = pattern[i : i + 2] in ("\\b", "\\B") or pattern[i : i + 3] in (
                "(?=",
                "(?!",
                "(?<",
            )
            if ch == "(":
                step = _group_end(pattern, i) - i + 1
                if step <= 0:
                    return None
            elif ch == "[":
                step = _class_end(pattern, i) - i + 1
                if step <= 0:
                    return None
            elif ch == "{":
                step = pattern.find("}", i) - i + 1  # a {m,n} quantifier
                if step <= 0:
                    return None
            elif ch == "\\":
                if pattern[i + 1 : i + 2] in tuple("uUxN0123456789"):
                    return None  # a code point or back-reference: not worth reading
                step = 2
        if pattern[i + step : i + step + 1] in ("?", "*", "+", "{") and literal:
            literal = ""  # quantified: it may be absent or repeated
        if literal and not _folds_simply(literal):
            literal = ""  # it may match as another character: no test of `in`
        if literal:
            run += literal
            best = max(best, run, key=len)
        elif not zero_width:
            run = ""
        i += max(step, 1)
    return best.lower() or None


def _spaces_to_whitespace(pattern: str) -> str:
    """A text pattern whose spaces match any run of whitespace, so text needs no cleaning."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "[" and not in_class:
            in_class = True
            out.append(ch)
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
        elif ch == " ":
            out.append(r"\s" if in_class else r"\s+")
        else:
            out.append(ch)
    return "".join(out)


def _grouped(rules: Sequence[CleanupRule], kind: str) -> str:
    parts = []
    for i, rule in enumerate(rules):
        patterns: tuple[str, ...] = getattr(rule, kind)
        if patterns:
            parts.append(f"(?P<r{i}>{_alternation(patterns)})")
    return "|".join(parts)


# one step of cssselect's translation of an attribute-only selector ("[hidden]", "[role=x]")
_ATTRIBUTE_STEP_RE = re.compile(r"descendant-or-self::\*\[@([\w-]+)(?: = '([^']*)')?\]")
# cssselect's translation of "[attr*=value]" followed by more tests ("…:has(…)")
_CONTAINS_STEP_RE = re.compile(
    r"descendant-or-self::\*\[\(@([\w-]+) and contains\(@\1, ('[^']*')\)\) and (.+)\]"
)

# the values an attribute-only selector group asks for, by attribute name (None: any value)
_Wanted = dict[str, frozenset[str] | None]


@dataclass(frozen=True)
class _AttributeTest:
    """An attribute-only selector group, tested on the elements one shared scan found."""

    wanted: _Wanted

    def matches(self, el: HtmlElement) -> bool:
        """Whether the element has one of the attributes, with a wanted value."""
        for name, values in self.wanted.items():
            value = el.get(name)
            if value is not None and (values is None or value in values):
                return True
        return False


def _attribute_test(selectors: Sequence[str]) -> _AttributeTest | None:
    """The group as attribute tests, when every selector is attribute-only."""
    parts = CSSSelector(", ".join(selectors), translator="html").path.split(" | ")
    steps = [m for m in (_ATTRIBUTE_STEP_RE.fullmatch(part) for part in parts) if m is not None]
    if len(steps) != len(parts):
        return None
    return _AttributeTest(
        _merged((step[1], None if step[2] is None else {step[2]}) for step in steps)
    )


def _merged(pairs: Iterable[tuple[str, Iterable[str] | None]]) -> _Wanted:
    """Wanted values by attribute name, merged: any value (None) wins over a set."""
    wanted: dict[str, frozenset[str] | None] = {}
    for name, values in pairs:
        known = wanted.get(name, frozenset())
        wanted[name] = None if values is None or known is None else known | frozenset(values)
    return wanted


def _attribute_scan(tests: Iterable[_AttributeTest]) -> XPath | None:
    """One XPath finding the elements any of the tests can match.

    cssselect makes a union of one whole-tree scan per selector with a predicate on every
    element; the attributes themselves are found faster, one scan per attribute name, and
    one scan serves every rule (each test then sorts the few elements found).
    """
    wanted = _merged(pair for test in tests for pair in test.wanted.items())
    if not wanted:
        return None
    scans = []
    for name, allowed in sorted(wanted.items()):
        quoted = sorted(f"'{v}'" for v in allowed or ())
        predicate = "" if allowed is None else "[" + " or ".join(f". = {v}" for v in quoted) + "]"
        scans.append(f"descendant-or-self::*/@{name}{predicate}")
    return XPath(f"({' | '.join(scans)})/..")


def _group_xpath(selectors: Sequence[str]) -> XPath:
    """The XPath of a selector group; "[attr*=value]…" reads the attribute axis."""
    compiled = CSSSelector(", ".join(selectors), translator="html")
    step = _CONTAINS_STEP_RE.fullmatch(compiled.path)
    if step is None or " | " in compiled.path or "position()" in step[3] or "last()" in step[3]:
        return compiled
    # the attribute values searched, then their elements tested: the same elements
    return XPath(f"descendant-or-self::*/@{step[1]}[contains(., {step[2]})]/parent::*[{step[3]}]")


def _matcher(rules: tuple[CleanupRule, ...]) -> _Matcher:
    """The compiled matcher of a rule set; the same tuple as last time is not hashed again
    (a rule's hash reads all its fields: every rule of the set, on every page)."""
    last_rules, last = _LAST_MATCHER[0]  # one read: threads may swap it
    if last_rules is rules and last is not None:
        return last
    matcher = _compiled_matcher(rules)
    _LAST_MATCHER[0] = (rules, matcher)
    return matcher


_LAST_MATCHER: list[tuple[tuple[CleanupRule, ...], _Matcher | None]] = [((), None)]


@lru_cache(maxsize=64)
def _compiled_matcher(rules: tuple[CleanupRule, ...]) -> _Matcher:
    # audited rules first: page chrome never hides an appeal from the audit
    ordered = tuple(sorted(rules, key=lambda r: not r.audit))
    tags: dict[str, CleanupRule] = {}
    class_names: dict[str, CleanupRule] = {}
    ids: dict[str, CleanupRule] = {}
    css: list[tuple[CleanupRule, XPath | _AttributeTest]] = []
    for rule in ordered:
        other = []
        for selector in rule.selectors:
            selector = selector.strip()
            if _SIMPLE_TAG_RE.match(selector):
                tags.setdefault(selector.lower(), rule)
            elif _SIMPLE_CLASS_RE.match(selector):
                class_names.setdefault(selector[1:], rule)
            elif _SIMPLE_ID_RE.match(selector):
                ids.setdefault(selector[1:], rule)
            else:
                other.append(selector)
        if other:
            css.append((rule, _attribute_test(other) or _group_xpath(other)))
    classes = _grouped(ordered, "classes")
    by_first: dict[str, list[tuple[int, str]]] = {}
    anywhere: list[tuple[int, str]] = []
    for index, rule in enumerate(ordered):
        for pattern in rule.texts:
            entry = (index, _spaces_to_whitespace(pattern))
            letters = _first_letters(pattern)
            if letters is None:
                anywhere.append(entry)
            for letter in letters or ():
                by_first.setdefault(letter, []).append(entry)
    return _Matcher(
        rules=ordered,
        tags=tags,
        class_names=class_names,
        ids=ids,
        css=tuple(css),
        attribute_scan=_attribute_scan(t for _, t in css if isinstance(t, _AttributeTest)),
        classes=re.compile(f"(?<![a-z0-9])(?:{classes})") if classes else None,
        by_word=all(matches_within_words(p) for rule in ordered for p in rule.classes),
        by_first={letter: tuple(entries) for letter, entries in by_first.items()},
        anywhere=tuple(anywhere),
        needs=tuple(_required_literal(pattern) for _, pattern in anywhere),
    )


def _text_of(el: HtmlElement) -> str:
    # Join text nodes with spaces so a heading and its paragraph do not run together.
    return clean_text(" ".join(el.itertext()))


def paragraph_chars(el: HtmlElement) -> int:
    """Characters of text in the paragraphs (<p>) under an element."""
    return sum(len(p.text_content()) for p in el.iter("p"))


def _starts_block(el: HtmlElement, parent: HtmlElement) -> bool:
    """Whether nothing but whitespace comes before `el` inside `parent`."""
    if (parent.text or "").strip():
        return False
    for sibling in el.itersiblings(preceding=True):
        if (sibling.tail or "").strip() or (
            isinstance(sibling.tag, str) and sibling.text_content().strip()
        ):
            return False
    return True


def _block_for(start: HtmlElement, rule: CleanupRule, scope: HtmlElement) -> HtmlElement | None:
    """The outermost block of at most max_chars that begins where `start` begins."""
    best = None
    el = start
    while True:
        if len(el.text_content()) > rule.max_chars * 2:
            break
        if el.tag in _BLOCK_TAGS and len(_text_of(el)) <= rule.max_chars:
            best = el
        parent = el.getparent()
        if parent is None or el is scope or parent is scope or not _starts_block(el, parent):
            break
        el = parent
    return best


def apply_rules(
    root: HtmlElement,
    rules: Sequence[CleanupRule],
    *,
    on_match: Mapping[str, Callable[[HtmlElement], object]] | None = None,
) -> list[Removal]:
    """Remove what the rules match from the tree in place; return what went and why.

    `on_match` maps rule names to a function called with each outermost block the rule
    matched, before it goes (or stays: a block with the headline or most of the page's
    paragraphs is kept).
    """
    body = root.find("body")
    scope = body if body is not None else root
    matcher = _matcher(tuple(rules))
    # never text: stripped in one C call instead of rule by rule
    strip_elements(scope, "script", "style", "template", with_tail=False)
    doomed: dict[HtmlElement, CleanupRule] = {}
    if matcher.tags:
        for el in scope.iter(*matcher.tags):
            _claim(doomed, el, matcher.tags[el.tag])
    found = matcher.attribute_scan(scope) if matcher.attribute_scan is not None else []
    for rule, selector in matcher.css:
        if isinstance(selector, _AttributeTest):
            hits = [el for el in cast(list[HtmlElement], found) if selector.matches(el)]
        else:
            hits = cast(list[HtmlElement], selector(scope))
        for el in hits:
            _claim(doomed, el, rule)
    if matcher.classes is not None or matcher.class_names or matcher.ids:
        _match_classes(scope, matcher, doomed)
    for rule in matcher.rules:
        if rule.link_lists:
            _match_link_lists(scope, rule, doomed, matcher)
    # markup first, then text in what is left: menus and footers hold most of a page's
    # short text runs, and every run costs a regex match
    removals = _remove(scope, doomed, on_match or {})
    if matcher.has_texts:
        doomed = {}
        _match_texts(scope, matcher, doomed)
        removals += _remove(scope, doomed, on_match or {})
    # in page order, so the audit reads like the page (sourceline is free on parsed trees)
    removals.sort(key=lambda item: item[0])
    return [removal for _, removal in removals]


def _match_link_lists(
    scope: HtmlElement,
    rule: CleanupRule,
    doomed: dict[HtmlElement, CleanupRule],
    matcher: _Matcher,
) -> None:
    for el in scope.iter("ul", "ol"):
        # lists in page chrome (menus) go with it, unrecorded
        if el in doomed or any(anc in doomed for anc in el.iterancestors()):
            continue
        items = [li for li in el if li.tag == "li"]
        if len(items) < rule.link_lists or _introduced(el, matcher):
            continue
        for li in items:
            chars = len(clean_text(li.text_content()))
            linked = sum(len(clean_text(a.text_content())) for a in li.iter("a"))
            if chars == 0 or linked < _LINK_SHARE * chars:
                break
        else:
            _claim(doomed, el, rule)


def _introduced(el: HtmlElement, matcher: _Matcher) -> bool:
    """Whether a list follows a sentence of the text that announces it ("Patches merged:").

    A list the prose leads into is the story's (sources, changes, steps); "more stories"
    blocks follow a heading, nothing, or a label a text rule knows ("You might also like:").
    """
    # through wrappers that hold only the list
    while (
        (parent := el.getparent()) is not None
        and len(parent) == 1
        and not (parent.text or "").strip()
    ):
        el = parent
    before = el.getprevious()
    while before is not None and not isinstance(before.tag, str):
        before = before.getprevious()
    if before is None:
        return False
    if before.tag != "p":
        # a wrapper around the paragraph ("<div class=paragraph><p>…</p></div>")
        paragraphs = [c for c in before if c.tag == "p"]
        if len(before) != 1 or len(paragraphs) != 1:
            return False
        before = paragraphs[0]
    text = clean_text(before.text_content())
    if not text.endswith(":") or len(text.split()) < _INTRO_WORDS:
        return False
    return not matcher.has_texts or matcher.text_rule(text) is None


def _match_classes(
    scope: HtmlElement, matcher: _Matcher, doomed: dict[HtmlElement, CleanupRule]
) -> None:
    # Attribute values, not elements: most pages repeat a few class strings thousands of
    # times, so each distinct value is judged once and only matches touch their element.
    by_class: dict[str, tuple[CleanupRule, bool] | None] = {}
    by_id: dict[str, tuple[CleanupRule, bool] | None] = {}
    elements = cast("Iterator[HtmlElement]", scope.iter(etree.Element))  # faster than XPath
    next(elements)  # the scope itself
    for el in elements:
        verdict = None
        # the class decides, the id only when the class does not
        value = el.get("class")
        if value:
            if value not in by_class:
                by_class[value] = _class_rule(value, "class", matcher)
            verdict = by_class[value]
        if verdict is None:
            value = el.get("id")
            if value:
                if value not in by_id:
                    by_id[value] = _class_rule(value, "id", matcher)
                verdict = by_id[value]
        if verdict is None:
            continue
        rule, exact = verdict
        if el in doomed and (doomed[el].audit or not rule.audit):
            continue
        # a pattern match needs a small block; an exact class or id from a selector does not
        if exact or len(el.text_content()) <= rule.max_chars:
            _claim(doomed, el, rule)


def _exact(value: str, attr: str, matcher: _Matcher) -> CleanupRule | None:
    if attr == "id":
        return matcher.ids.get(value)
    names = matcher.class_names
    return next((names[n] for n in value.split() if n in names), None) if names else None


def _class_rule(value: str, attr: str, matcher: _Matcher) -> tuple[CleanupRule, bool] | None:
    """The rule a class or id value falls under, and whether by an exact selector."""
    exact = _exact(value, attr, matcher)
    if exact is not None:
        return exact, True
    if matcher.classes is None:
        return None
    lowered = value.lower()
    if not matcher.by_word:
        match = matcher.classes.search(lowered)
        return (matcher.rule(match), False) if match is not None else None
    # the first word with a match holds the value's first match: no pattern spans a space.
    # (Each word's rule kept across pages: the words recur, and for this large pattern that
    # is cheaper than `words_matching`'s scan of each page's words.)
    words = matcher.words
    for word in lowered.split():
        rule = words.get(word, _UNSEEN)
        if rule is _UNSEEN:
            if len(words) >= _SEEN_TEXTS:
                words.clear()
            match = matcher.classes.search(word)
            rule = words[word] = matcher.rule(match) if match is not None else None
        if rule is not None:
            return cast(CleanupRule, rule), False
    return None


def words_matching(pattern: re.Pattern[str], values: Iterable[str]) -> dict[str, re.Match[str]]:
    """The words of the values (split at whitespace) in which the pattern finds a match, each
    with its first match, for a `matches_within_words` pattern: one scan of the distinct words
    joined by spaces, as no match of such a pattern holds or looks past a space differently
    from a word's ends."""
    text = " ".join(set(" ".join(values).split()))
    hits: dict[str, re.Match[str]] = {}
    for match in pattern.finditer(text):
        at = match.start()
        end = text.find(" ", at)
        word = text[text.rfind(" ", 0, at) + 1 : end if end >= 0 else len(text)]
        hits.setdefault(word, match)
    return hits


def _match_texts(
    scope: HtmlElement, matcher: _Matcher, doomed: dict[HtmlElement, CleanupRule]
) -> None:
    # One regex over the start of each text run, not one per element and rule: a block's
    # text always starts with some element's first text run.
    text_rule = matcher.text_rule
    limit = max(r.max_chars for r in matcher.rules if r.texts)
    # (a label whose text goes on in the next run, "<b>Read more</b>: <a>…</a>", is left to
    # the paragraph pass: matching each short run again with the runs after it cost a fifth
    # of the cleanup and changed no body of the 974 benchmark pages)
    for node in cast(list[Any], _TEXT_NODES(scope)):  # "smart" strings with getparent()
        if not node.is_text or len(node) > limit:
            continue
        rule = text_rule(str(node))
        if rule is None:
            continue
        block = _block_for(node.getparent(), rule, scope)
        if block is None or (block in doomed and (doomed[block].audit or not rule.audit)):
            continue
        # the whole block's text must match, not just its first text run
        if text_rule(_text_of(block)) is not None:
            _claim(doomed, block, rule)


def _claim(doomed: dict[HtmlElement, CleanupRule], el: HtmlElement, rule: CleanupRule) -> None:
    # an audited rule takes an element from page chrome, so the audit sees every appeal
    held = doomed.get(el)
    if held is None or (rule.audit and not held.audit):
        doomed[el] = rule


def _remove(
    scope: HtmlElement,
    doomed: dict[HtmlElement, CleanupRule],
    on_match: Mapping[str, Callable[[HtmlElement], object]],
) -> list[tuple[int, Removal]]:
    if not doomed:
        return []
    page_chars: int | None = None
    going: dict[HtmlElement, CleanupRule] = {}
    # what holds a headline, found once (a find per doomed block walked each block again)
    headline = {anc for h1 in scope.iter("h1") for anc in h1.iterancestors()}
    for el, rule in doomed.items():
        call = on_match.get(rule.name)
        if call is not None and not any(anc in doomed for anc in el.iterancestors()):
            call(el)
        if el is scope or el in headline:
            continue  # the headline stays: trafilatura takes the container with it
        if len(el.text_content()) > 250:
            if page_chars is None:
                page_chars = paragraph_chars(scope)
            if page_chars > 500 and paragraph_chars(el) > _PROTECT_SHARE * page_chars:
                continue
        going[el] = rule
    removals: list[tuple[int, Removal]] = []
    for el, rule in going.items():
        if rule.audit:
            outer = next((going[anc] for anc in el.iterancestors() if anc in going), None)
            # recorded once, with the outermost audited block; inside page chrome as well
            if outer is None or not outer.audit:
                text = _text_of(el)
                if text:
                    line = el.sourceline or 0
                    removals.append((line, Removal(rule=rule.name, text=text[:1000])))
        # dropping an element inside one already dropped changes nothing
        if el.getparent() is not None:
            el.drop_tree()
    return removals


def filter_paragraphs(
    paragraphs: Sequence[str], rules: Sequence[CleanupRule]
) -> tuple[list[str], list[Removal]]:
    """Drop extracted paragraphs that a text rule matches; return the rest and the removals."""
    matcher = _matcher(tuple(rules))
    if not matcher.has_texts:
        return list(paragraphs), []
    kept: list[str] = []
    removals: list[Removal] = []
    for paragraph in paragraphs:
        rule = matcher.text_rule(paragraph)
        if rule is None or len(paragraph) > rule.max_chars:
            kept.append(paragraph)
        elif rule.audit:
            removals.append(Removal(rule=rule.name, text=paragraph[:1000]))
    return kept, removals
