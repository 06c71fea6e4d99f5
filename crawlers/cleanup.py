"""Boilerplate removal on article pages, with rules as data and an audit record per removal."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from crawlers.textutil import clean_text

__all__ = ["CleanupRule", "Removal", "apply_rules", "global_rules", "site_rules"]

# Text rules look only at blocks shorter than this: a long block is content, not an appeal.
_MAX_TEXT_RULE_CHARS = 700
_TEXT_RULE_TAGS = frozenset({"p", "div", "aside", "section", "h2", "h3", "h4", "ul", "span"})


@dataclass(frozen=True)
class CleanupRule:
    """A named rule: elements matching any selector or starting with any text pattern go."""

    name: str
    selectors: tuple[CSSSelector, ...]
    texts: re.Pattern[str] | None
    audit: bool = True


@dataclass(frozen=True)
class Removal:
    """One element removed by a rule, with its text for auditing."""

    rule: str
    text: str


def _compile(
    name: str, selectors: Iterable[str], texts: Sequence[str], audit: bool = True
) -> CleanupRule:
    compiled = []
    for css in selectors:
        try:
            compiled.append(CSSSelector(css, translator="html"))
        except (SelectorError, ValueError) as exc:
            raise ValueError(f"cleanup rule {name!r}: invalid selector {css!r}: {exc}") from None
    pattern = None
    if texts:
        pattern = re.compile(r"^\W*(?:" + "|".join(f"(?:{t})" for t in texts) + ")", re.I)
    return CleanupRule(name=name, selectors=tuple(compiled), texts=pattern, audit=audit)


@lru_cache(maxsize=1)
def global_rules() -> tuple[CleanupRule, ...]:
    """The rules shipped with the package (crawlers/rules.toml)."""
    data = tomllib.loads(resources.files("crawlers").joinpath("rules.toml").read_text("utf-8"))
    return tuple(
        _compile(r["name"], r.get("selectors", []), r.get("texts", []), r.get("audit", True))
        for r in data["rule"]
    )


@lru_cache(maxsize=256)
def site_rules(site: str, selectors: tuple[str, ...]) -> tuple[CleanupRule, ...]:
    """The `strip` selectors of one site as a rule named after the site."""
    if not selectors:
        return ()
    return (_compile(f"site:{site}", selectors, ()),)


def _text_of(el: HtmlElement) -> str:
    # Join text nodes with spaces so a heading and its paragraph do not run together.
    return clean_text(" ".join(el.itertext()))


def _inside(el: HtmlElement, removed: set[HtmlElement]) -> bool:
    return any(anc in removed for anc in el.iterancestors())


def apply_rules(root: HtmlElement, rules: Iterable[CleanupRule]) -> list[Removal]:
    """Remove what the rules match from the tree in place; return what went and why."""
    doomed: dict[HtmlElement, CleanupRule] = {}
    body = root.find("body")
    scope = body if body is not None else root
    # Audited rules claim elements first, so page chrome never hides an appeal from the audit.
    for rule in sorted(rules, key=lambda r: not r.audit):
        for sel in rule.selectors:
            for el in sel(scope):  # type: ignore[union-attr]
                doomed.setdefault(el, rule)
        if rule.texts is not None:
            for el in scope.iter(*_TEXT_RULE_TAGS):
                if el in doomed:
                    continue
                text = _text_of(el)
                if text and len(text) <= _MAX_TEXT_RULE_CHARS and rule.texts.match(text):
                    doomed[el] = rule
    removals: list[Removal] = []
    gone: set[HtmlElement] = set()
    for el, rule in doomed.items():
        if el is root or el is body or _inside(el, gone):
            continue
        gone.add(el)
        if rule.audit:
            text = _text_of(el)
            if text:
                removals.append(Removal(rule=rule.name, text=text[:1000]))
        if el.getparent() is not None:
            el.drop_tree()
    return removals
