"""Help for configuring sites: selectors suggested from the automatic mode, and dry-run checks.

Both work on HTML already fetched (no network here); `crawlers/cli/sites.py` fetches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cssselect import SelectorError
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawlers.extract.autodetect import (
    DetectedTeaser,
    NextPage,
    detect,
    detect_next_page,
    element_text,
    same_site,
)
from crawlers.extract.listing import Teaser, extract_next_page, extract_teasers
from crawlers.extract.page import parse_page
from crawlers.sites import SiteConfig, site_name_for

__all__ = [
    "FieldCheck",
    "SiteReport",
    "Suggestion",
    "check_site",
    "site_name_for",
    "suggest_selectors",
]

Element = etree._Element

_FIELDS = ("link", "title", "excerpt", "date", "image")
_DIGIT_RE = re.compile(r"\d")
_translator = HTMLTranslator()


def _config(url: str, selectors: dict[str, str], name: str = "suggest") -> SiteConfig:
    get = selectors.get
    return SiteConfig(
        name=name,
        start_urls=(url,),
        teaser=get("teaser"),
        link=get("link"),
        title=get("title"),
        excerpt=get("excerpt"),
        date=get("date"),
        image=get("image"),
        next_page=get("next_page"),
    )


# ---------------------------------------------------------------- suggest


@dataclass(frozen=True)
class Suggestion:
    """Selectors that reproduce the automatic mode's teasers on one page, and the check."""

    url: str
    selectors: dict[str, str]
    notes: tuple[str, ...]
    auto: tuple[Teaser, ...]
    teasers: tuple[Teaser, ...]
    next_page: str | None

    @property
    def reproduced(self) -> int:
        """How many of the automatic mode's main teasers the selectors find with equal fields."""
        found = {t.url: t for t in self.teasers}
        return sum(1 for t in self.auto if _same_teaser(found.get(t.url), t))

    def config(self, name: str | None = None) -> SiteConfig:
        """The suggested site configuration."""
        return _config(self.url, self.selectors, name or site_name_for(self.url))

    def toml(self, name: str | None = None) -> str:
        """A [sites.NAME] block for sites.toml, with notes and a preview as comments."""
        site = name or site_name_for(self.url)
        lines = [f"[sites.{site}]", f"start_urls = [{_toml_str(self.url)}]"]
        if "teaser" not in self.selectors:
            lines.append('mode      = "auto"')
        for key in ("teaser", *_FIELDS, "next_page"):
            if key in self.selectors:
                lines.append(f"{key:<9} = {_toml_str(self.selectors[key])}")
        lines.append(
            f"# these selectors find {len(self.teasers)} teasers; {self.reproduced} of the "
            f"{len(self.auto)} the automatic mode found match in every field"
        )
        lines.extend(f"# note: {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _same_teaser(got: Teaser | None, want: Teaser) -> bool:
    if got is None:
        return False
    return all(
        getattr(got, f) == getattr(want, f)
        for f in ("url", "title", "excerpt", "date_text", "image")
    )


def why_no_main(teasers: Sequence[Teaser | DetectedTeaser], url: str) -> str:
    """Why the teasers found are all secondary: where they sit, how many are off-site."""
    reason = "they sit in sidebars, menus, footers or under 'Most read'-style headings"
    off_site = sum(not same_site(t.url, url) for t in teasers)
    if off_site:
        reason += f"; {off_site} of them link to other sites"
    return reason + "; give selectors (teaser = ...) if they are the site's listing"


def suggest_selectors(html: str | bytes, url: str, content_type: str | None = None) -> Suggestion:
    """Selectors for a sites.toml entry, inferred from what the automatic mode finds at url."""
    page = parse_page(html, url, content_type)
    if not page.parsed:
        return Suggestion(url, {}, ("the page could not be parsed",), (), (), None)
    sel, root = page.selector, page.root
    detection = detect(root, url)
    main = list(detection.main)
    auto = tuple(t for t in extract_teasers(sel, url) if t.region == "main")
    nxt = detect_next_page(root, url)
    selectors: dict[str, str] = {}
    notes: list[str] = []
    if not main:
        teasers = list(detection.teasers)
        if teasers:
            notes.append(
                f"the automatic mode found only secondary teasers ({len(teasers)}) on this "
                f"page: {why_no_main(teasers, url)}"
            )
        else:
            notes.append("the automatic mode found no teasers on this page")
    else:
        if all(t.confidence < 1 for t in main):
            notes.append(
                "no listing passed the detector's tests: these teasers are its fallback's "
                "best guess (low confidence); check them"
            )
        off_site = sum(not same_site(t.url, url) for t in main)
        if off_site == len(main):
            notes.append(
                f"all {off_site} teasers link to other sites; article_url_pattern decides "
                "which are followed"
            )
        _Inference(sel, url, main, auto, selectors, notes).run()
    if nxt is not None:
        css = _next_page_selector(sel, url, nxt)
        if css:
            selectors["next_page"] = css
        else:
            notes.append(f"next page {nxt.url} found, but no selector picks it; left automatic")
    config = _config(url, selectors)
    found = extract_teasers(sel, url, config)
    return Suggestion(
        url=url,
        selectors=selectors,
        notes=tuple(notes),
        auto=auto,
        teasers=tuple(t for t in found if t.region == "main"),
        next_page=extract_next_page(sel, url, config),
    )


class _Inference:
    """Finds, field by field, the simplest selector that gives the automatic mode's values."""

    def __init__(
        self,
        sel: Selector,
        url: str,
        main: list[DetectedTeaser],
        auto: tuple[Teaser, ...],
        selectors: dict[str, str],
        notes: list[str],
    ) -> None:
        self.sel = sel
        self.root: Element = sel.root
        self.url = url
        self.main = main
        self.auto = {t.url: t for t in auto}
        self.selectors = selectors
        self.notes = notes

    def run(self) -> None:
        """Infer the teaser block selector, then each field's."""
        blocks = [t.block for t in self.main]
        urls = [t.url for t in self.main]
        teaser_css = _block_selector(self.sel, self.url, blocks, urls, set(self.auto))
        if teaser_css is None:
            self.notes.append("no CSS selector picks exactly the teaser blocks; kept mode = auto")
            return
        self.selectors["teaser"] = teaser_css
        if any(len(t.parts) > 1 for t in self.main):
            del self.selectors["teaser"]
            self.notes.append(
                "each teaser is a heading plus the elements after it, which no block selector "
                "holds; kept mode = auto"
            )
            return
        self._choose("link", "url", self._link_candidates())
        headings = self._candidates(_heading_of)
        titles = self._candidates(lambda t: [t.title_el])
        self._choose("title", "title", [*(c for c in headings if c), *titles])
        self._choose("excerpt", "excerpt", self._candidates(lambda t: list(t.excerpt_els), True))
        self._choose(
            "date",
            "date_text",
            self._candidates(lambda t: [t.date_el] if t.date_el is not None else []),
        )
        self._choose("image", "image", self._image_candidates())

    def _score(self, key: str, attr: str, css: str | None) -> float:
        selectors = dict(self.selectors)
        if css is None:
            selectors.pop(key, None)
        else:
            selectors[key] = css
        try:
            got = extract_teasers(self.sel, self.url, _config(self.url, selectors))
        except (SelectorError, ValueError):
            return -1.0
        if key == "link":
            wanted = list(self.auto)
            urls = [t.url for t in got]
            return sum(u in self.auto for u in urls) / max(len(wanted), len(urls), 1)
        found = {t.url: t for t in got}
        wanted_values = [(u, getattr(t, attr)) for u, t in self.auto.items()]
        hits = sum(1 for u, v in wanted_values if u in found and getattr(found[u], attr) == v)
        return hits / max(len(wanted_values), 1)

    def _choose(self, key: str, attr: str, candidates: list[str | None]) -> None:
        """Keep the first selector that gives every automatic value; without one, leave the
        field out (selector mode then reads it the automatic way) unless a selector does
        better than that."""
        wanted = [getattr(t, attr) for t in self.auto.values()]
        if key != "link" and not any(wanted):
            return
        fallback = self._score(key, attr, None)
        best: tuple[float, str | None] = (-1.0, None)
        for candidate in dict.fromkeys(c for c in candidates if c is not None):
            score = self._score(key, attr, candidate)
            if score > best[0]:
                best = (score, candidate)
            if score >= 1.0:
                break
        score, chosen = best
        if chosen is not None and score >= max(fallback, 0.5):
            self.selectors[key] = chosen
            if score < 1.0:
                self.notes.append(f"{key}: the selector gives {score:.0%} of the automatic values")
        elif fallback >= 1.0:
            self.notes.append(f"{key}: no selector found; left to automatic reading")
        else:
            self.notes.append(f"{key}: neither a selector nor automatic reading gives all values")

    def _pairs(
        self, targets: Callable[[DetectedTeaser], list[Element]]
    ) -> list[tuple[Element, Element]]:
        return [(t.block, el) for t in self.main for el in targets(t) if el is not None]

    def _candidates(
        self, targets: Callable[[DetectedTeaser], list[Element]], container: bool = False
    ) -> list[str | None]:
        pairs = self._pairs(targets)
        return [
            css for css in _relative_selectors(pairs, container) if _picks(css, pairs, container)
        ]

    def _link_candidates(self) -> list[str | None]:
        pairs = [(t.block, t.link) for t in self.main]
        picked = [css for css in _relative_selectors(pairs) if _picks(css, pairs)]
        return [f"{css}::attr(href)" for css in picked]

    def _image_candidates(self) -> list[str | None]:
        found: list[str | None] = []
        with_image = [t for t in self.main if t.image_el is not None]
        for attr in ("src", "data-src", "data-lazy-src", "data-original"):
            pairs = [(t.block, t.image_el) for t in with_image if t.image_el is not None]
            if pairs and all(el.get(attr) for _, el in pairs):
                found.extend(
                    f"{css}::attr({attr})"
                    for css in _relative_selectors(pairs)
                    if _picks(css, pairs)
                )
        return found


def _heading_of(teaser: DetectedTeaser) -> list[Element]:
    """The heading around the teaser's link, if its text is the title."""
    for ancestor in teaser.link.iterancestors():
        if ancestor.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return [ancestor] if element_text(ancestor) == (teaser.title or "") else []
        if ancestor is teaser.block:
            break
    return []


def _stable_classes(el: Element) -> list[str]:
    """Class names that do not number one item (post-123, item-4)."""
    return [c for c in (el.get("class") or "").split() if not _DIGIT_RE.search(c) and _css_ident(c)]


def _css_ident(name: str) -> bool:
    return re.fullmatch(r"-?[A-Za-z_][A-Za-z0-9_-]*", name) is not None


def _stable_id(el: Element) -> str | None:
    ident = el.get("id")
    if ident and not _DIGIT_RE.search(ident) and _css_ident(ident):
        return ident
    return None


def _simple(tag: str, classes: Sequence[str]) -> str:
    return tag + "".join(f".{c}" for c in classes)


def _common(lists: Iterable[list[str]]) -> list[str]:
    lists = list(lists)
    if not lists:
        return []
    first = lists[0]
    return [c for c in first if all(c in other for other in lists[1:])]


def _relative_selectors(pairs: list[tuple[Element, Element]], container: bool = False) -> list[str]:
    """CSS selectors for the targets, relative to their blocks, simplest first; for targets
    of different shapes, groups ("h1.lead a, h3.card a") made of each shape's own."""
    if not pairs:
        return []
    single = _shape_selectors(pairs, container)
    if single:
        return single
    by_shape: dict[str, list[tuple[Element, Element]]] = {}
    for pair in pairs:
        by_shape.setdefault(_simple(str(pair[1].tag), _stable_classes(pair[1])[:1]), []).append(
            pair
        )
    if len(by_shape) > 4:
        return []
    parts: list[str] = []
    for group in by_shape.values():
        found = [css for css in _shape_selectors(group, container) if _picks(css, group, container)]
        if not found:
            return []
        parts.append(found[0])
    return [", ".join(dict.fromkeys(parts))]


def _shape_selectors(pairs: list[tuple[Element, Element]], container: bool) -> list[str]:
    targets = [el for _, el in pairs]
    tags = {str(el.tag) for el in targets}
    if len(tags) != 1:
        return []
    tag = tags.pop()
    classes = _common(_stable_classes(el) for el in targets)
    out = [_simple(tag, [c]) for c in classes]
    if len(classes) >= 2:
        out.append(_simple(tag, classes[:2]))
    plain: list[str] = []
    parents = [el.getparent() for el in targets]
    if all(p is not None and p is not b for p, (b, _) in zip(parents, pairs, strict=True)):
        real = [p for p in parents if p is not None]
        ptags = {str(p.tag) for p in real}
        if len(ptags) == 1:
            ptag = ptags.pop()
            pclasses = _common(_stable_classes(p) for p in real)
            for parent_css in [_simple(ptag, [c]) for c in pclasses]:
                out.append(f"{parent_css} > {tag}")
                if container:
                    out.append(parent_css)
            plain.append(f"{ptag} > {tag}")
    return [*out, tag, *plain]


def _picks(css: str, pairs: list[tuple[Element, Element]], container: bool = False) -> bool:
    """True when, in every block, the selector's first match is the target (or holds it)."""
    try:
        xpath = _translator.css_to_xpath(css, prefix="descendant-or-self::")
    except (SelectorError, ValueError, NotImplementedError):
        return False
    for block, target in pairs:
        found = block.xpath(xpath)
        matched = (
            [el for el in found if isinstance(el, etree._Element)]
            if isinstance(found, list)
            else []
        )
        if container:
            if not any(el is target or target in el.iterancestors() for el in matched):
                return False
        elif not matched or matched[0] is not target:
            return False
    return True


def _matches(root: Element, css: str) -> list[Element] | None:
    try:
        xpath = _translator.css_to_xpath(css)
    except (SelectorError, ValueError, NotImplementedError):
        return None
    found = root.xpath(xpath)
    return (
        [el for el in found if isinstance(el, etree._Element)] if isinstance(found, list) else None
    )


def _block_selector(
    sel: Selector, url: str, blocks: list[Element], block_urls: list[str], wanted: set[str]
) -> str | None:
    """The simplest teaser selector whose blocks give exactly the wanted teaser URLs (as a
    group list "a, b" when the teasers come in differently shaped blocks)."""
    root: Element = sel.root
    by_tag: dict[str, list[Element]] = {}
    by_shape: dict[str, list[Element]] = {}
    for block in blocks:
        by_tag.setdefault(str(block.tag), []).append(block)
        by_shape.setdefault(_simple(str(block.tag), _stable_classes(block)), []).append(block)
    urls = dict(zip(blocks, block_urls, strict=True))

    def fits(css: str, members: list[Element]) -> bool:
        if not _covers(root, css, members):
            return False
        found = {t.url for t in extract_teasers(sel, url, _config(url, {"teaser": css}))}
        return found <= wanted and all(urls[m] in found for m in members)

    for groups in ([blocks], list(by_tag.values()), list(by_shape.values())):
        parts: list[str] = []
        for members in groups:
            css = next((c for c in _block_candidates(members) if fits(c, members)), None)
            if css is None:
                break
            parts.append(css)
        else:
            joined = ", ".join(dict.fromkeys(parts))
            found = extract_teasers(sel, url, _config(url, {"teaser": joined}))
            if {t.url for t in found} == wanted:
                return joined
    return None


def _covers(root: Element, css: str, blocks: list[Element]) -> bool:
    """True when the selector matches all the blocks and not many others."""
    matched = _matches(root, css)
    if matched is None:
        return False
    found = set(matched)
    return all(b in found for b in blocks) and len(found) <= 2 * len(blocks)


def _block_candidates(blocks: list[Element]) -> list[str]:
    tags = {str(b.tag) for b in blocks}
    if len(tags) != 1:
        return []
    tag = tags.pop()
    classes = _common(_stable_classes(b) for b in blocks)
    own = [*(_simple(tag, [c]) for c in classes), tag]
    if len(classes) >= 2:
        own.insert(len(classes), _simple(tag, classes[:2]))
    out = list(own)
    if len(blocks) == 1 and (ident := _stable_id(blocks[0])):
        out.insert(0, f"#{ident}")
    contexts: list[tuple[str, bool]] = []
    parents = {p for b in blocks if (p := b.getparent()) is not None}
    if parents:
        ptags = {str(p.tag) for p in parents}
        if len(parents) == 1:
            parent = next(iter(parents))
            ident = _stable_id(parent)
            if ident:
                contexts.append((f"#{ident}", True))
        if len(ptags) == 1:
            ptag = next(iter(ptags))
            pclasses = _common(_stable_classes(p) for p in parents)
            contexts.extend((_simple(ptag, [c]), True) for c in pclasses)
    shared = set(blocks[0].iterancestors())
    for block in blocks[1:]:
        shared &= set(block.iterancestors())
    for ancestor in blocks[0].iterancestors():
        if ancestor not in shared:
            continue
        ident = _stable_id(ancestor)
        if ident:
            contexts.append((f"#{ident}", False))
            break
        for c in _stable_classes(ancestor)[:2]:
            contexts.append((_simple(str(ancestor.tag), [c]), False))
        if ancestor.tag in ("main", "article", "section"):
            contexts.append((str(ancestor.tag), False))
    for context, child in contexts:
        joiner = " > " if child else " "
        out.extend(f"{context}{joiner}{css}" for css in own)
    return out


def _next_page_selector(sel: Selector, url: str, found: NextPage) -> str | None:
    """A next_page selector that picks the link the automatic mode found."""
    element, tag = found.element, str(found.element.tag)
    own: list[str] = []
    if "next" in (element.get("rel") or "").lower().split():
        own.append(f"{tag}[rel~=next]::attr(href)")
    own.extend(f"{_simple(tag, [c])}::attr(href)" for c in _stable_classes(element))
    after_current: list[str] = []  # for numbered pages: the link after the current page's
    in_parent: list[str] = []
    parent = element.getparent()
    if parent is not None:
        previous = element.getprevious()
        if previous is not None and isinstance(previous.tag, str):
            after_current.extend(
                f"{_simple(str(previous.tag), [c])} + {tag}::attr(href)"
                for c in _stable_classes(previous)
            )
        before = parent.getprevious()
        if before is not None and isinstance(before.tag, str):
            after_current.extend(
                f"{_simple(str(before.tag), [c])} + {parent.tag} > {tag}::attr(href)"
                for c in _stable_classes(before)
            )
        in_parent.extend(
            f"{_simple(str(parent.tag), [c])} > {tag}::attr(href)" for c in _stable_classes(parent)
        )
    text = element_text(element)
    by_text = (
        [f'a:contains("{text}")::attr(href)'] if text and not re.search(r'["\\]', text) else []
    )
    if found.how == "number":
        candidates = [*after_current, *own]
    else:
        candidates = [*own, *in_parent, *by_text, *after_current]
    for css in candidates:
        if extract_next_page(sel, url, _config(url, {"next_page": css})) == found.url:
            return css
    return None


# ---------------------------------------------------------------- check


@dataclass(frozen=True)
class FieldCheck:
    """How many teaser blocks one configured selector finds something in."""

    key: str
    selector: str
    hits: int
    blocks: int

    @property
    def empty(self) -> bool:
        """True when the selector matches nothing at all."""
        return self.hits == 0


@dataclass(frozen=True)
class SiteReport:
    """A dry run of one site on its first listing page."""

    site: str
    url: str
    mode: str
    teasers: int
    secondary: int
    with_title: int
    with_excerpt: int
    with_date: int
    with_image: int
    next_page: str | None
    fields: tuple[FieldCheck, ...] = ()
    problems: tuple[str, ...] = ()
    sample: tuple[Teaser, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when the site yields main teasers."""
        return self.teasers > 0

    def lines(self) -> list[str]:
        """The report as text lines for the terminal."""
        status = "ok" if self.ok else "FAILED"
        out = [f"{self.site}: {status} ({self.mode} mode) {self.url}"]
        extra = f" (+{self.secondary} secondary)" if self.secondary else ""
        out.append(
            f"  teasers: {self.teasers}{extra}; with title {self.with_title}, excerpt "
            f"{self.with_excerpt}, date {self.with_date}, image {self.with_image}"
        )
        for check in self.fields:
            flag = "  <- matches nothing" if check.empty else ""
            out.append(f"  {check.key:<9} {check.selector!r}: {check.hits}/{check.blocks}{flag}")
        out.append(f"  next page: {self.next_page or 'none found'}")
        out.extend(f"  problem: {p}" for p in self.problems)
        return out


def check_site(
    config: SiteConfig, html: str | bytes, url: str | None = None, content_type: str | None = None
) -> SiteReport:
    """Dry run of a site's configuration on one listing page (its first start URL)."""
    page_url = url or config.start_urls[0]
    sel = parse_page(html, page_url, content_type).selector
    teasers = extract_teasers(sel, page_url, config)
    main = [t for t in teasers if t.region == "main"]
    problems: list[str] = []
    fields: list[FieldCheck] = []
    if config.selector_mode and config.teaser:
        blocks = list(sel.css(config.teaser))
        fields.append(FieldCheck("teaser", config.teaser, len(blocks), len(blocks)))
        for key in _FIELDS:
            css = getattr(config, key)
            if css:
                hits = sum(1 for b in blocks if b.css(css))
                fields.append(FieldCheck(key, css, hits, len(blocks)))
    if config.next_page:
        hits = len(sel.css(config.next_page))
        fields.append(FieldCheck("next_page", config.next_page, hits, 1))
    for check in fields:
        if check.empty:
            problems.append(f"{check.key} selector {check.selector!r} matches nothing")
    if not main:
        problems.append("no teasers found on the first listing page")
        if teasers:
            problems.append(
                f"only secondary teasers found ({len(teasers)}): {why_no_main(teasers, page_url)}"
            )
    elif all(t.confidence < 1 for t in main):
        problems.append(
            "every main teaser comes from the detector's fallback (no listing passed its "
            "tests): check them, or give the site selectors"
        )
    nxt = extract_next_page(sel, page_url, config)
    return SiteReport(
        site=config.name,
        url=page_url,
        mode=config.mode,
        teasers=len(main),
        secondary=len(teasers) - len(main),
        with_title=sum(1 for t in main if t.title),
        with_excerpt=sum(1 for t in main if t.excerpt),
        with_date=sum(1 for t in main if t.date_text),
        with_image=sum(1 for t in main if t.image),
        next_page=nxt,
        fields=tuple(fields),
        problems=tuple(problems),
        sample=tuple(main[:3]),
    )
