"""Article revisions and teaser history: versions, the boring-change filter, word diffs."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from .records import ArticleVersion

__all__ = [
    "REVISION_FIELDS",
    "SHARE_WORDS",
    "article_versions",
    "changed_fields",
    "format_diff",
    "is_boring_change",
    "record_sighting",
    "revision_key",
    "save_version",
    "word_diff",
]

# fields compared to describe what changed between two versions
REVISION_FIELDS = ("title", "lead", "body", "authors", "published", "modified")

# Words of share widgets ("Share this article: Facebook X Email"): a run of them that holds
# a network name is compared as the set of its network names, so a reordered or relabelled
# widget is no change.
SHARE_WORDS = frozenset(
    {
        "share", "this", "article", "story", "on", "via", "facebook", "twitter", "x",
        "email", "e", "mail", "whatsapp", "linkedin", "reddit", "pinterest", "telegram",
        "messenger", "copy", "link", "print", "tweet", "flipboard", "bluesky", "threads",
        "mastodon", "xing", "pocket", "sms",
    }
)  # fmt: skip
_NETWORKS = frozenset(
    {
        "facebook", "twitter", "x", "email", "whatsapp", "linkedin", "reddit", "pinterest",
        "telegram", "messenger", "flipboard", "bluesky", "threads", "mastodon", "xing",
        "pocket", "sms",
    }
)  # fmt: skip

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+"
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(?:{_WEEKDAY})?\d{{1,2}}(?:st|nd|rd|th)?\.?\s+{_MONTH},?\s+\d{{4}}"
    rf"|(?:{_WEEKDAY})?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}})"
)
_ZONE = r"(?:\s*(?:utc|gmt|cet|cest|bst|[ecmp][sd]t)(?:[+-]\d{1,2})?)?"
_TIME = (
    rf"(?:\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?(?:z|[+-]\d{{2}}:?\d{{2}})?"
    rf"(?:\s*[ap]\.?m\.?|\s*h\b|\s*uhr)?{_ZONE}"
    rf"|\d{{1,2}}(?:\.\d{{2}})?\s*[ap]\.?m\.?{_ZONE})"
)
_STAMP_WORDS = (
    r"(?:last\s+)?(?:updated|modified|published|posted|edited|as\s+of|stand|aktualisiert)"
    r"\s*:?\s*(?:on\s+|at\s+)?"
)
# Timestamps a page prints about itself ("Updated 10:42", "3 hours ago", "Published 20 Nov
# 2026, 09:15") are folded to one placeholder before two versions are compared. A date on
# its own ("the vote is on 21 November 2026") is content and still counts.
_TIMESTAMP = re.compile(
    rf"{_STAMP_WORDS}{_DATE}(?:[t ,]+(?:at\s+)?{_TIME})?"
    rf"|{_DATE}[t ,]+(?:at\s+)?{_TIME}"
    rf"|{_TIME}"
    r"|\d+\s+(?:second|minute|min|hour|hr|day|week)s?\s+ago|just\s+now",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+")
_DIFF_TOKEN = re.compile(r"([^\W_]+|[^\w\s]+|_+)(\s*)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def revision_key(title: str | None, body: str | None) -> str:
    """sha256 of title and body with whitespace, case, timestamps and share widgets folded."""
    text = _boring_fold(title) + "\n" + _boring_fold(body)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def is_boring_change(
    old_title: str | None, old_body: str | None, new_title: str | None, new_body: str | None
) -> bool:
    """Whether two states differ only in whitespace, case, timestamps or share-widget order."""
    return revision_key(old_title, old_body) == revision_key(new_title, new_body)


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of REVISION_FIELDS whose values differ (text compared whitespace-normalised)."""
    return [
        name for name in REVISION_FIELDS if _comparable(old.get(name)) != _comparable(new.get(name))
    ]


def save_version(
    db: Database,
    article_id: int,
    old: Mapping[str, Any],
    superseded_at: str,
    changed: Sequence[str],
) -> None:
    """Keep the state in `old` (an articles row) as a version before the row is overwritten."""
    previous = db.execute(
        "SELECT superseded_at FROM article_versions WHERE article_id = ? AND version = ?",
        [article_id, old["version"] - 1],
    ).fetchone()
    # a state was first fetched when the one before it was superseded, or when first seen
    fetched_at = previous[0] if previous else old["first_seen"]
    db.execute(
        """
        INSERT INTO article_versions (article_id, version, fetched_at, last_fetched,
          superseded_at, content_hash, title, lead, body, authors, published, modified,
          changed_fields)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (article_id, version) DO NOTHING
        """,
        [
            article_id,
            old["version"],
            fetched_at,
            old["last_fetched"],
            superseded_at,
            old["content_hash"],
            old["title"],
            old["lead"],
            old["body"],
            old["authors"],
            old["published"],
            old["modified"],
            json.dumps(list(changed)),
        ],
    )


def article_versions(db: Database, article_id: int) -> list[ArticleVersion]:
    """Every stored state of an article, oldest first; the last one is the current row."""
    cursor = db.execute(
        "SELECT * FROM article_versions WHERE article_id = ? ORDER BY version", [article_id]
    )
    names = [column[0] for column in cursor.description]
    versions = [_version(dict(zip(names, row, strict=True))) for row in cursor]
    cursor = db.execute("SELECT * FROM articles WHERE id = ?", [article_id])
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    if row is None:
        return versions
    current = dict(zip(names, row, strict=True))
    versions.append(
        ArticleVersion(
            article_id=article_id,
            version=current["version"],
            fetched_at=versions[-1].superseded_at or current["first_seen"]
            if versions
            else current["first_seen"],
            last_fetched=current["last_fetched"],
            superseded_at=None,
            content_hash=current["content_hash"],
            title=current["title"],
            lead=current["lead"],
            body=current["body"] or "",
            changed_fields=versions[-1].changed_fields if versions else [],
            current=True,
        )
    )
    return versions


def record_sighting(
    db: Database,
    teaser_id: int,
    position: int | None,
    seen_at: str,
    run_id: int | None,
) -> None:
    """Extend the teaser's current position span, or start a new one if it moved."""
    row = db.execute(
        "SELECT id, position FROM teaser_positions WHERE teaser_id = ? ORDER BY id DESC LIMIT 1",
        [teaser_id],
    ).fetchone()
    if row is not None and row[1] == position:
        db.execute(
            """
            UPDATE teaser_positions SET last_seen = max(last_seen, ?), times_seen = times_seen + 1,
              last_run_id = coalesce(?, last_run_id)
            WHERE id = ?
            """,
            [seen_at, run_id, row[0]],
        )
        return
    db.execute(
        """
        INSERT INTO teaser_positions (teaser_id, position, first_seen, last_seen, times_seen,
          first_run_id, last_run_id)
        VALUES (?, ?, ?, ?, 1, ?, ?)
        """,
        [teaser_id, position, seen_at, seen_at, run_id, run_id],
    )


def format_diff(old: ArticleVersion, new: ArticleVersion, *, context: int = 8) -> str:
    """Unified word diff of two versions' title, lead and body ("" when they are equal)."""
    hunks = []
    for name in ("title", "lead", "body"):
        before, after = getattr(old, name), getattr(new, name)
        if _comparable(before) != _comparable(after):
            hunks += word_diff(before, after, context=context, label=name)
    if not hunks:
        return ""
    header = [
        f"--- version {old.version} (fetched {old.fetched_at})",
        f"+++ version {new.version} (fetched {new.fetched_at})",
    ]
    return "\n".join([*header, *hunks]) + "\n"


def word_diff(old: str | None, new: str | None, *, context: int = 8, label: str = "") -> list[str]:
    """Hunks of a word diff: `[-removed-]` and `{+added+}` among up to `context` words."""
    a, b = _diff_tokens(old), _diff_tokens(new)
    matcher = difflib.SequenceMatcher(
        None, [word for word, _ in a], [word for word, _ in b], autojunk=False
    )
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        text = ""
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                text += _render(b[j1:j2])
                continue
            if i2 > i1:
                removed = _render(a[i1:i2])
                text += f"[-{removed.rstrip()}-]" + (" " if j2 > j1 else _tail(removed))
            if j2 > j1:
                added = _render(b[j1:j2])
                text += f"{{+{added.rstrip()}+}}" + _tail(added)
        first, last = group[0], group[-1]
        span = f"-{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]}"
        header = f"@@ {label} {span} @@" if label else f"@@ {span} @@"
        hunks.append(header + "\n" + text.strip())
    return hunks


# ---- internals --------------------------------------------------------------------


def _boring_fold(text: str | None) -> str:
    folded = _TIMESTAMP.sub(" \x00 ", (text or "").casefold())
    words = _WORD.findall(folded.replace("\x00", " tftimestamp "))
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and word in SHARE_WORDS:
            run.append(word)
            continue
        if run:
            # a share widget: compared as a set, so its order does not count
            networks = _NETWORKS.intersection(run)
            out += sorted(networks) if networks and len(run) > 1 else run
            run = []
        if word:
            out.append(word)
    return " ".join(out)


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _diff_tokens(text: str | None) -> list[tuple[str, str]]:
    # words and punctuation, each with the whitespace after it
    return [(match[1], match[2]) for match in _DIFF_TOKEN.finditer(text or "")]


def _render(tokens: Sequence[tuple[str, str]]) -> str:
    # a paragraph break shows as ¶, any other whitespace as one space
    return "".join(
        word + (" ¶ " if _PARAGRAPH_BREAK.search(space) else " " if space else "")
        for word, space in tokens
    )


def _tail(text: str) -> str:
    return text[len(text.rstrip()) :]


def _version(row: dict[str, Any]) -> ArticleVersion:
    changed = json.loads(row["changed_fields"] or "[]")
    return ArticleVersion(
        article_id=row["article_id"],
        version=row["version"],
        fetched_at=row["fetched_at"],
        last_fetched=row["last_fetched"],
        superseded_at=row["superseded_at"],
        content_hash=row["content_hash"],
        title=row["title"],
        lead=row["lead"],
        body=row["body"] or "",
        changed_fields=[str(name) for name in changed] if isinstance(changed, list) else [],
        current=False,
    )
