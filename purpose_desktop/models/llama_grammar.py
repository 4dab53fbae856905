"""llama.cpp grammars for JSON schemas, compact whatever the schema's lengths.

llama-cpp-python's JSON-schema converter writes a bounded repetition as nested optional
groups: a string with ``"maxLength": 4000`` becomes ``(char (char (char ...)?)?)?`` four
thousand levels deep. llama.cpp refuses such a grammar ("number of rules that are going to be
repeated ... exceeds sane defaults") and llama-cpp-python then hands the refused (null) sampler
on, which kills the process. GBNF has bounded repetition of its own, ``char{0,4000}``, which
llama.cpp expands without nesting: this module converts with that instead, so a grammar's
text grows with the number of fields and not with their lengths.

Only the model worker imports this module (it needs ``llama_cpp``). Grammars are kept by
schema, since the agent loop asks for the same few schemas on every step.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from llama_cpp import llama_cpp as low_level
from llama_cpp import llama_grammar

ROOT_RULE = "root"
_conversion = threading.Lock()


class GrammarRefused(ValueError):
    """llama.cpp could not parse the grammar written for a schema."""


def _bounds(low: int, high: int | None) -> str:
    if high is None:
        return f"{{{low},}}"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def compact_repetition(
    item_rule: str,
    min_items: int,
    max_items: int | None,
    separator_rule: str | None = None,
    item_rule_is_literal: bool = False,
) -> str:
    """GBNF for ``min_items`` to ``max_items`` (``None``: no limit) of ``item_rule``, each
    after the first preceded by ``separator_rule``, in text whose size does not grow with
    the counts. Same signature and meaning as llama-cpp-python's ``_build_repetition``."""
    del item_rule_is_literal  # a literal is repeated like any other item
    if max_items == 0:
        return ""
    if separator_rule is None:
        if (min_items, max_items) == (0, 1):
            return f"({item_rule})?"
        return f"({item_rule}){_bounds(min_items, max_items)}"
    later = f"({separator_rule} {item_rule})"
    if min_items == 0:
        rest = None if max_items is None else max_items - 1
        return f"({item_rule} {later}{_bounds(0, rest)})?"
    rest = None if max_items is None else max_items - 1
    return f"{item_rule} {later}{_bounds(min_items - 1, rest)}"


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """The GBNF grammar (root rule ``root``) of JSON values matching ``schema``."""
    return _schema_grammar(json.dumps(schema, sort_keys=False))


@functools.lru_cache(maxsize=64)
def _schema_grammar(schema_text: str) -> str:
    # The converter's methods call the module's _build_repetition by name; it is swapped for
    # the compact one while this conversion runs, and the lock keeps conversions one at a time.
    with _conversion:
        original = llama_grammar._build_repetition
        llama_grammar._build_repetition = compact_repetition
        try:
            grammar: str = llama_grammar.json_schema_to_gbnf(schema_text)
        finally:
            llama_grammar._build_repetition = original
    return grammar


class Grammars:
    """The grammars of one model, by schema, each parsed once by llama.cpp before use.

    ``vocab`` is the model's ``llama_vocab`` pointer. A refused grammar handed to a sampler
    would crash the process, so :meth:`for_schema` tries it first.
    """

    def __init__(self, vocab: Any, capacity: int = 64) -> None:
        self._vocab = vocab
        self._capacity = capacity
        self._grammars: OrderedDict[str, llama_grammar.LlamaGrammar] = OrderedDict()

    def for_schema(self, schema: Mapping[str, Any]) -> llama_grammar.LlamaGrammar:
        """The grammar for ``schema``; :class:`GrammarRefused` if llama.cpp cannot parse it."""
        text = schema_grammar(schema)
        grammar = self._grammars.pop(text, None)
        if grammar is None:
            self._check(text)
            grammar = llama_grammar.LlamaGrammar.from_string(text, verbose=False)
        self._grammars[text] = grammar
        while len(self._grammars) > self._capacity:
            self._grammars.popitem(last=False)
        return grammar

    def _check(self, text: str) -> None:
        sampler = low_level.llama_sampler_init_grammar(
            self._vocab, text.encode("utf-8"), ROOT_RULE.encode("utf-8")
        )
        if not sampler:
            raise GrammarRefused(
                "llama.cpp could not build a grammar for this JSON schema (its log says why)."
            )
        low_level.llama_sampler_free(sampler)
