"""Synthetic news articles for archive benchmarks: Zipf words from a generated vocabulary.

Words are generated syllable strings (no real text), drawn with a Zipf distribution
(exponent ~1.1, as word frequencies in news are) into a pool of sentences; bodies are ~5 KB
of those sentences in paragraphs. A share of articles are near-copies of a recent one on
another site (a wire story syndicated with small edits and a footer), so near-duplicate
lookups have something to find.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["SITES", "Corpus"]

SITES = ("northwire", "coastline-daily", "meridian-post", "valley-times", "harbour-news", "ridge")
SECTIONS = ("world", "politics", "business", "science", "culture", "sport", "local")
_SYLLABLES = (
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bri", "dan", "el", "fur", "gar", "hin",
    "is", "jor", "kel", "lun", "mar", "nor", "os", "pel", "quin", "ros", "sten", "tor", "ul",
    "ven", "wil", "yas", "zed", "an", "ber", "cor", "dil", "en", "fal", "gro", "hal", "ith",
)  # fmt: skip
_START = datetime(2019, 1, 1, tzinfo=UTC)
_SPAN_MINUTES = 8 * 365 * 24 * 60


class Corpus:
    """A deterministic stream of synthetic article items, as the crawler would hand them over."""

    def __init__(
        self,
        *,
        seed: int = 1,
        vocabulary: int = 80_000,
        sentences: int = 200_000,
        body_bytes: int = 5_000,
        duplicate_share: float = 0.02,
        zipf: float = 1.1,
    ) -> None:
        rng = np.random.default_rng(seed)
        self._random = random.Random(seed)
        words: set[str] = set()
        syllables = np.array(_SYLLABLES)
        while len(words) < vocabulary:
            lengths = rng.choice([1, 2, 3, 4], size=vocabulary, p=[0.02, 0.25, 0.5, 0.23])
            for n in lengths:
                words.add("".join(rng.choice(syllables, size=n)))
                if len(words) >= vocabulary:
                    break
        # frequent words tend to be short, as in real text; ties broken at random
        noise = {word: self._random.random() * 6 for word in sorted(words)}
        self.vocabulary: list[str] = sorted(words, key=lambda word: len(word) + noise[word])
        weights = 1.0 / np.arange(1, vocabulary + 1) ** zipf
        self.probabilities = weights / weights.sum()
        vocab = np.array(self.vocabulary, dtype=object)
        lengths = rng.integers(6, 24, size=sentences)
        picks = rng.choice(vocabulary, size=int(lengths.sum()), p=self.probabilities)
        pool: list[str] = []
        start = 0
        for n in lengths:
            chosen = vocab[picks[start : start + n]]
            start += n
            text = " ".join(chosen)
            pool.append(text[0].upper() + text[1:] + ".")
        self.sentences = pool
        self.body_bytes = body_bytes
        self.duplicate_share = duplicate_share
        self._recent: deque[tuple[str, str]] = deque(maxlen=500)

    def word(self, rank: int) -> str:
        """The word of a frequency rank (0 = most frequent)."""
        return self.vocabulary[rank]

    def articles(self, count: int, start: int = 0) -> Iterator[dict[str, Any]]:
        """`count` article items, numbered from `start`."""
        rnd = self._random
        pool = self.sentences
        for i in range(start, start + count):
            site = SITES[i % len(SITES)]
            published = _START + timedelta(minutes=rnd.randrange(_SPAN_MINUTES))
            if self._recent and rnd.random() < self.duplicate_share:
                title, body = rnd.choice(self._recent)
                words = body.split(" ")
                for _ in range(max(1, len(words) // 100)):
                    words[rnd.randrange(len(words))] = rnd.choice(words)
                body = " ".join(words) + "\n\nDistributed by a news agency."
            else:
                title = " ".join(rnd.choice(pool).split(" ")[:9]).rstrip(".")
                paragraphs = []
                size = 0
                while size < self.body_bytes:
                    paragraph = " ".join(rnd.choices(pool, k=rnd.randint(3, 6)))
                    paragraphs.append(paragraph)
                    size += len(paragraph) + 2
                body = "\n\n".join(paragraphs)
                self._recent.append((title, body))
            slug = "-".join(title.lower().split(" ")[:5])
            yield {
                "source": site,
                "url": f"https://{site}.example/{published:%Y/%m/%d}/{slug}-{i}",
                "title": title,
                "lead": rnd.choice(pool),
                "body": body,
                "authors": [f"Reporter {rnd.randrange(400)}"],
                "published": published.isoformat(timespec="seconds"),
                "published_from": "json-ld",
                "language": "en",
                "section": rnd.choice(SECTIONS),
                "tags": [rnd.choice(SECTIONS)],
                "extractor_version": "2.0",
                "fetched_at": (published + timedelta(minutes=30)).isoformat(timespec="seconds"),
                "images": [],
                "removed": [],
            }
