"""Word-level text comparison, shared by routing, calibration and learning.

Deliberately simple (lower-cased words, stop words dropped, plural and verb endings trimmed):
it runs on every step and must cost microseconds, not a model call.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "please",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


def stem(word: str) -> str:
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, stemmed, in order."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to at most ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def one_line(text: str) -> str:
    """The first line of ``text`` that says anything, up to a closing brace (a model closing
    its JSON inside a string) and without a trailing comma: ``17 * 23 } more`` gives
    ``17 * 23``."""
    for line in text.splitlines():
        kept = line.split("}", 1)[0].strip().rstrip(",").strip()
        if kept:
            return kept
    return ""


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1: the overlap of their content words (Jaccard)."""
    left, right = set(content_words(a)), set(content_words(b))
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
