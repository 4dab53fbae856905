"""Choosing the few tools worth showing a small model for a task ("tool RAG").

A small model chooses better among three tools than among ten, and every tool shown costs
prompt tokens. Tools are scored by the words they share with the task, TF-IDF style with a
binary term frequency:

* the task's words are lower-cased, stop words dropped and endings trimmed (``files`` and
  ``file``, ``calculate`` and ``calculator``, ``writing`` and ``write`` meet);
* an MCP tool's server's name counts as a word of its description, not of its name: a
  person names the server ("files"), and it is every one of the server's tools' alike;
* each distinct task word found in a tool counts :data:`NAME_WEIGHT` if it is in the tool's
  name or keywords and :data:`DESCRIPTION_WEIGHT` if only in its description, multiplied by
  its inverse document frequency among the candidate tools (``1 + ln(N / df)``: a word only
  one tool has weighs more than one all tools share; with one candidate it is 1);
* a few words of a person's count as the word tools use instead: to ``make`` a ``folder``
  is to ``create`` a ``directory`` (``make`` in a task only: "make line-based edits" in a
  tool's description creates nothing), and "add 2.5 and 4.25" ("subtract 3 from 10") asks
  for a ``sum`` (a ``difference``), where "add an entity" asks for neither;
* four signals stand in for words the task does not use: arithmetic (``17*23``, or "sum",
  "times", "how many"... with a number, or adding two numbers), a file name
  (``report.txt``), a path that names no file (``/home/ana/projects``) and a web address
  (``https://example.com``). A signal counts :data:`SIGNAL_FACTOR` times as much as the
  word ``arithmetic``, ``file``, ``path`` or ``url`` would, so the calculator and the file
  tools get them through their keywords, a tool whose name or description speaks of sums,
  plus, minus, multiplying or dividing as if its description had the word ``arithmetic``,
  a tool that takes a path (a parameter whose name has the word: ``path``, ``repo_path``)
  as if its description had the word ``path``, and a tool that fetches "a URL" through its
  description;
* naming the tool (``use the calculator``, ``read_file``; an MCP server's tool with or
  without its server when its name is compound: ``filesystem.read_file`` or ``read_file``)
  adds :data:`NAMED_BONUS`; using every word of a compound name as words of the task, in
  any order ("create the entity Acme" for ``create_entities``), adds
  :data:`NAME_WORDS_BONUS`, so the words of what a tool does outweigh a rarer word the
  task shares with another tool ("... with the observation" for ``add_observations``).

On this scale, :func:`relevance` of 1.0 or more means the task clearly points at the tool:
one signal, the tool's name, or two of its words (``read the file``); one shared verb
(``write a poem``) stays at 0.5, and with a path the tool takes it is 1.0 (``list what is
in /home/ana/projects``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from purpose_desktop.engine.text import STOP_WORDS, stem
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.names import MCP_SEPARATOR

__all__ = [
    "DESCRIPTION_WEIGHT",
    "NAMED_BONUS",
    "NAME_WEIGHT",
    "SIGNAL_FACTOR",
    "clear_choice",
    "likely_tools",
    "relevance",
    "select_tools",
]

NAME_WEIGHT: Final = 0.5
DESCRIPTION_WEIGHT: Final = 0.25
SIGNAL_FACTOR: Final = 2.0
NAMED_BONUS: Final = 1.0
NAME_WORDS_BONUS: Final = 0.5
CLEAR_RELEVANCE: Final = 1.0
CLEAR_MARGIN: Final = 1.5

_WORD: Final = re.compile(r"[a-z]+")
# A word that is not part of a name or path: not "read_file", "create-entities", "a.txt".
_PLAIN_WORD: Final = re.compile(r"(?<![\w/.-])[a-z]+\b(?![/.-]\w)")
# Beyond the shared stop words: words every tool description and many tasks contain.
_MORE_STOP_WORDS: Final = frozenset(
    {
        "not",
        "no",
        "all",
        "any",
        "some",
        "use",
        "using",
        "get",
        "give",
        "tell",
        "make",
        "need",
        "want",
        "let",
        "about",
        "into",
        "out",
        "up",
        "if",
        "but",
        "e",
        "g",
        "eg",
        "such",
        "like",
        "each",
        "every",
        "also",
        "just",
        "only",
        "very",
        "much",
        "many",
        "more",
        "most",
        "would",
        "could",
        "should",
        "may",
        "might",
        "must",
        "one",
        "us",
        "our",
        "he",
        "she",
        "they",
        "his",
        "her",
        "him",
        "been",
        "being",
        "were",
        "did",
        "done",
        "here",
        "where",
        "now",
    }
)
# A person's word for what tools name otherwise: "make the folder" for create_directory.
_SYNONYMS: Final = {"folder": "directory", "folders": "directories"}
# In a task only: a tool's description that says "make line-based edits" creates nothing,
# and "make" stays a stop word there.
_TASK_SYNONYMS: Final = {"make": "create", "makes": "creates", "making": "creating"}
_ENDINGS: Final = ("ation", "ator", "ate", "at", "er", "ly", "e")

_EXPRESSION: Final = re.compile(
    r"\d\s*(?:\*\*|[+*/^%\N{MULTIPLICATION SIGN}\N{DIVISION SIGN}])\s*[\d(.]"
    r"|\d\s+[-x\N{MINUS SIGN}]\s+[\d(]"  # spaced: "10 - 3", "3 x 4" (not "pages 10-20")
    r"|\d\s*%\s+of\b"
    r"|\bsqrt\s*\(|\N{SQUARE ROOT}\s*\d"
)
# "Add 2.5 and 4.25" asks for a sum, "subtract 3 from 10" for a difference, as a tool that
# gives them says; "add two carrots", "add an entity" or "add 1 to 2 cups" asks for neither.
_OPERATIONS: Final = (
    (re.compile(r"\badd\s+-?\d[\d.,]*\s+(?:and|to)\s+-?\d[\d.]*\s*(?:[,.;?!]|$)"), "sum"),
    (re.compile(r"\bsubtract\s+-?\d[\d.,]*\s+from\s+-?\d[\d.]*\s*(?:[,.;?!]|$)"), "difference"),
)
_DATES_AND_TIMES: Final = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{1,2}:\d{2}\b"
)
_ARITHMETIC_WORDS: Final = re.compile(
    r"\b(?:sum|total|times|product|plus|minus|multipl\w*|divid\w*|percent\w*|per cent"
    r"|average|mean|square root|squared|cubed|how many|how much|difference|remainder"
    r"|quotient|calculat\w*|compute)\b"
)
_NUMBER: Final = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|hundred|thousand|million|dozen)\b"
)
# An absolute or home path of two parts or more, not a URL's ("/etc/hosts", "~/notes/todo").
_PATH: Final = re.compile(r"(?:^|[\s\"'(`\[])~?/[\w.-]+(?:/[\w.-]+)+")
_WEB_ADDRESS: Final = re.compile(r"\bhttps?://\S|\bwww\.\w", re.IGNORECASE)
_FILE_NAME: Final = re.compile(
    r"\b[\w-]+\.(?:txt|md|csv|tsv|json|jsonl|py|yaml|yml|toml|ini|cfg|html|xml|log|rst|js|ts"
    r"|sql|ipynb)\b",
    re.IGNORECASE,
)


def _term(word: str) -> str:
    """One word's comparable form: ``calculating``, ``calculator`` -> ``calcul``."""
    word = stem(word)
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    if len(word) > 3 and word.endswith("i"):  # multipli(ed), directori(es)
        word = word[:-1] + "y"
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":  # runn(ing)
        word = word[:-1]
    return word


def _terms(text: str, *, task: bool = False) -> set[str]:
    """The comparable forms of ``text``'s words (see :func:`_term`), a ``task``'s or a
    tool's."""
    words = (_SYNONYMS.get(w, w) for w in _WORD.findall(text.lower()))
    if task:
        words = (_TASK_SYNONYMS.get(w, w) for w in words)
    return {_term(w) for w in words if w not in STOP_WORDS and w not in _MORE_STOP_WORDS}


_FILE_TERM: Final = _term("file")
_ARITHMETIC_TERM: Final = _term("arithmetic")
_URL_TERM: Final = _term("url")
_PATH_TERM: Final = _term("path")
# Words that make a tool an arithmetic one: a server's "get-sum" or "multiply" gets the
# arithmetic signal too, as a description word, so that a calculator (the keyword, a name
# word) still comes first. Not "add" or "product": tools that add observations or list
# products are not sums.
_ARITHMETIC_TOOL_TERMS: Final = frozenset(
    _terms("sum sums plus minus multiply multiplies multiplied divide divides divided")
)


@dataclass(frozen=True)
class _Document:
    """A tool's words: those of its name and keywords, and those of its description."""

    strong: frozenset[str]
    weak: frozenset[str]
    names: tuple[str, ...]  # how a task might name the tool: "read_file", "read file"
    name_words: frozenset[str] = frozenset()  # a compound name's words: create, entity

    def weight(self, term: str) -> float:
        if term in self.strong:
            return NAME_WEIGHT
        if term in self.weak:
            return DESCRIPTION_WEIGHT
        return 0.0


@functools.lru_cache(maxsize=256)
def _document(
    name: str, description: str, keywords: tuple[str, ...], parameters: tuple[str, ...]
) -> _Document:
    spaced = _spaced(name)
    server, separator, own = name.lower().partition(MCP_SEPARATOR)
    if not separator:
        server, own = "", server
    # The tool's own name is its strongest words; its server's name (a person's choice:
    # "files", "github") only as a description's would be, or a server named "files" would
    # take the file signal for every one of its tools.
    named = _terms(_spaced(own))
    strong = frozenset(named | _terms(" ".join(keywords)))
    described = _terms(description) | named | _terms(_spaced(server))
    if any(_PATH_TERM in _terms(_spaced(p)) for p in parameters):
        described.add(_PATH_TERM)  # a path in the task is one of its arguments
    if described & _ARITHMETIC_TOOL_TERMS:
        described.add(_ARITHMETIC_TERM)
    # An MCP server's tool is named without its server as well ("use read_file" for
    # filesystem.read_file), as the server's own documentation names it; only a compound
    # name, since a one-word one ("fetch", "add") is a word a task uses anyway.
    own_names = (own,) if separator and re.search(r"\w[_-]\w", own) else ()
    return _Document(
        strong=strong,
        weak=frozenset(described - strong),
        names=tuple(dict.fromkeys((name.lower(), spaced, *own_names))),
        name_words=frozenset(named) if len(named) > 1 else frozenset(),
    )


def _spaced(name: str) -> str:
    return re.sub(r"[_\-]+", " ", name.lower()).strip()


def _document_of(tool: Tool) -> _Document:
    properties = tool.parameters.get("properties")
    names = tuple(properties) if isinstance(properties, dict) else ()
    return _document(tool.name, tool.description, tuple(tool.keywords), names)


@dataclass(frozen=True)
class _Query:
    text: str  # lower-cased
    factors: dict[str, float]  # term -> 1.0, or SIGNAL_FACTOR for a signal
    plain: frozenset[str]  # the terms of its words that are not parts of a name or path


def _query(task: str) -> _Query:
    text = task.lower()
    factors = dict.fromkeys(_terms(text, task=True), 1.0)
    operations = [word for operation, word in _OPERATIONS if operation.search(text)]
    factors.update(dict.fromkeys(map(_term, operations), 1.0))
    if operations or _looks_like_arithmetic(text):
        factors[_ARITHMETIC_TERM] = SIGNAL_FACTOR
    if _FILE_NAME.search(task):
        factors[_FILE_TERM] = SIGNAL_FACTOR
    elif _PATH.search(task):
        factors[_PATH_TERM] = SIGNAL_FACTOR
    if _WEB_ADDRESS.search(task):
        factors[_URL_TERM] = SIGNAL_FACTOR
    plain = frozenset(_terms(" ".join(_PLAIN_WORD.findall(text)), task=True))
    return _Query(text, factors, plain)


def _looks_like_arithmetic(text: str) -> bool:
    text = _DATES_AND_TIMES.sub(" ", text)  # 2024-05-01 and 10:30 are not sums
    if _EXPRESSION.search(text):
        return True
    return bool(_ARITHMETIC_WORDS.search(text) and _NUMBER.search(text))


def _score(query: _Query, document: _Document, idf: dict[str, float]) -> float:
    total = 0.0
    for term, factor in query.factors.items():
        weight = document.weight(term)
        if weight:
            total += factor * weight * idf.get(term, 1.0)
    if _named(query, document):
        total += NAMED_BONUS
    elif document.name_words and document.name_words <= query.plain:
        total += NAME_WORDS_BONUS
    return total


def _named(query: _Query, document: _Document) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", query.text) for n in document.names)


def _idf(query: _Query, documents: Sequence[_Document]) -> dict[str, float]:
    count = len(documents)
    idf: dict[str, float] = {}
    for term in query.factors:
        frequency = sum(1 for d in documents if term in d.strong or term in d.weak)
        if frequency:
            idf[term] = 1.0 + math.log(count / frequency)
    return idf


def _scores(query: _Query, documents: Sequence[_Document]) -> list[float]:
    """Each document's score for ``query``, its words weighed by their IDF among them."""
    idf = _idf(query, documents)
    return [_score(query, document, idf) for document in documents]


def relevance(task: str, tool: Tool, *, among: Sequence[Tool] | None = None) -> float:
    """How strongly ``task`` points at ``tool``: 0.0 when nothing in it does.

    Without ``among`` the tool is scored on its own (every word's IDF is 1), so scores are
    comparable across calls: 1.0 or more means the task needs the tool (see the module's
    notes). With ``among`` (the candidate tools, ``tool`` included), words the other tools
    share count for less, as in :func:`select_tools`.
    """
    candidates = list(among) if among is not None else [tool]
    if all(c is not tool for c in candidates):
        candidates.append(tool)
    query = _query(task)
    documents = [_document_of(c) for c in candidates]
    return _score(query, _document_of(tool), _idf(query, documents))


def select_tools(task: str, tools: Sequence[Tool], *, limit: int = 3) -> tuple[Tool, ...]:
    """The ``limit`` tools most relevant to ``task``, best first.

    Always returns ``min(limit, len(tools))`` tools: when fewer match, the rest follow in
    the order given, so an agent always has its tools to choose from. Equal scores keep the
    given order (the team file's order is a deliberate preference).
    """
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    if not tools or limit == 0:
        return ()
    scores = _scores(_query(task), [_document_of(t) for t in tools])
    order = sorted(range(len(tools)), key=lambda i: (-scores[i], i))
    return tuple(tools[i] for i in order[:limit])


def clear_choice(task: str, tools: Sequence[Tool]) -> Tool | None:
    """The tool ``task`` clearly points at among ``tools``, or ``None`` when none stands out.

    Clearly: the most relevant tool, with a :func:`relevance` of its own of at least
    :data:`CLEAR_RELEVANCE` (a signal, its name or two of its words: "write a poem" is not
    enough for ``write_file``) and, among ``tools``, at least :data:`CLEAR_MARGIN` times the
    next tool's. On the tool-call benchmark's requests such a tool is the right one in 77 of
    the 78 cases where there is one, far more often than SmolLM2 picks the right tool from
    the same few.
    """
    if not tools:
        return None
    query = _query(task)
    documents = [_document_of(t) for t in tools]
    scores = sorted(((score, i) for i, score in enumerate(_scores(query, documents))), reverse=True)
    best, at = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    on_its_own = _score(query, documents[at], {})  # every word counted once, as relevance()
    if on_its_own >= CLEAR_RELEVANCE and best >= CLEAR_MARGIN * runner_up:
        return tools[at]
    return None


def likely_tools(task: str, tools: Sequence[Tool]) -> tuple[Tool, ...]:
    """Those of ``tools`` that ``task`` points at most, in the given order: the ones that
    share the highest score (usually one), when it is above 0, and any the task names
    ("use Python to print 17*23" points at the calculator more, but a person who names a
    tool means it). ``()`` when that is none of them, or all.

    On the tool-call benchmark the most relevant tool is the right one more often than
    SmolLM2 picks the right one from the three most relevant (docs/benchmarks.md).
    """
    if not tools:
        return ()
    query = _query(task)
    documents = [_document_of(t) for t in tools]
    scores = _scores(query, documents)
    best = max(scores)
    likely = tuple(
        tool
        for tool, document, score in zip(tools, documents, scores, strict=True)
        if score == best or _named(query, document)
    )
    return likely if best > 0 and len(likely) < len(tools) else ()
