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


NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?!\w|[.,]\d)|\d+(?:[.,]\d+)*")
"""A number as a task writes it: ``17``, ``1,250``, ``3.5``; one that ends a sentence
(``… 17 crates.``) without its full stop."""


_OPERAND = r"\(*\s*\d+(?:[.,]\d+)*\s*\)*"
# A minus only with spaces around it: 2024-01-15 and 555-1234 are not sums.
_OPERATOR = (
    r"(?:\*\*|[+*/\u00d7\u00f7^]|(?<=\s)-(?=\s)"
    r"|\bx\b|\btimes\b|\bplus\b|\bminus\b)"
)
ARITHMETIC = re.compile(rf"{_OPERAND}(?:\s*{_OPERATOR}\s*{_OPERAND})+", re.IGNORECASE)
"""Arithmetic written out: ``17 * 23``, ``(2 + 3) ^ 2``, ``7 x 6``, ``12 plus 5``."""


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1: the overlap of their content words (Jaccard)."""
    return _jaccard(set(content_words(a)), set(content_words(b)))


PATH_OR_FILE = re.compile(r"(?<![\w.~/])(?:~|\.{1,2})?/[\w.\-/]*\w|\b[\w-]+\.[a-z][a-z0-9]{0,4}\b")
"""A path (``/tmp/docs/todo.txt``, ``~/notes``) or a file name (``todo.txt``): a value a task
gives, as a number is, not a word of what kind of task it is. Not the second of two words
joined by a slash ("input/output")."""


def _without_values(text: str) -> str:
    return NUMBER.sub(" ", PATH_OR_FILE.sub(" ", text))


def kind_words(text: str) -> list[str]:
    """The content words of ``text`` without its numbers, paths and file names: what tasks
    of one kind share."""
    return content_words(_without_values(text))


def kind_similarity(a: str, b: str) -> float:
    """How alike two tasks are in kind, 0 to 1, numbers, paths and file names left out (two
    tasks on one folder are not of one kind for it): the overlap of all their
    words, the little ones included, for "how many … are in …" is the shape of a question
    whatever it counts ("A crate holds # apples…" and "A box holds # eggs…" are of one kind).
    Two tasks that share no content word are of no kind in common (the little words of two
    short questions are alike whatever they ask), nor are two that share only numbers. A text
    of numbers and symbols only ("What is 17 * 23?") is of the kind of another with the same
    shape ("What is # * #?"), and otherwise compared with its numbers: they are all it says."""
    left, right = set(kind_words(a)), set(kind_words(b))
    if left and right:
        return _jaccard(_all_words(a), _all_words(b)) if left & right else 0.0
    if _shape(a) == _shape(b):
        return 1.0
    return similarity(a, b)


_NOT_SHAPE = re.compile(r"[^\w#+\-*/^%=()]")


def _shape(text: str) -> str:
    """The words, placeholders and operators of ``text``: spaces and punctuation aside."""
    return _NOT_SHAPE.sub("", without_numbers(text).lower())


def _all_words(text: str) -> set[str]:
    return {stem(word) for word in _WORD.findall(_without_values(text).lower())}


def without_numbers(text: str, placeholder: str = "#") -> str:
    """``text`` with each number replaced by ``placeholder``: ``24*17`` gives ``#*#``."""
    return NUMBER.sub(placeholder, text)


def _jaccard(left: set[str], right: set[str]) -> float:
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
