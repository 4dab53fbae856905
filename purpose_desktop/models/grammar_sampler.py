"""Grammar-constrained sampling that checks the grammar against the chosen token first.

llama-cpp-python puts the grammar into the sampler chain, so at every token llama.cpp runs the
grammar over the whole vocabulary (49,152 tokens for SmolLM2), matching each token's text
against the grammar's stacks: that alone held generation under an action schema to about 0.6
of unconstrained speed. A model that is following a JSON schema mostly picks a token the
grammar allows anyway. So, as llama.cpp's own ``common_sampler`` does, the chain without the
grammar chooses a token, the grammar checks that one token, and only when it refuses does the
grammar filter the whole vocabulary before the chain chooses again. Greedy answers are the
same token for token: the best token the grammar allows is the best token when it is allowed.

Only the worker imports this module: it loads llama_cpp.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals as internals
from llama_cpp.llama_grammar import LlamaGrammar

# llama_token_data as numpy sees it: the array is filled from the logits without a Python loop.
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.float32), ("p", np.float32)], align=True)
assert _TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)


class GrammarCheckingSampler:
    """Samples like ``chain`` followed by ``grammar``'s filter, checking the grammar against the
    chain's choice first. Owns the grammar sampler and frees it when dropped (the chain frees
    itself)."""

    def __init__(self, chain: internals.LlamaSampler, grammar: Any, n_vocab: int) -> None:
        self._chain = chain
        self._grammar = grammar
        self._n_vocab = n_vocab
        self._ids = np.arange(n_vocab, dtype=np.intc)
        self._candidates = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._all = _token_data_array(self._candidates)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)
        self._single = _token_data_array(self._one)

    def sample(self, ctx: internals.LlamaContext, idx: int = -1) -> int:
        """The next token from the logits at ``idx``; the grammar and the chain accept it."""
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,)
        )
        token = self._choose(logits, grammar_first=False)
        if not self._allows(token):
            token = self._choose(logits, grammar_first=True)
        llama_cpp.llama_sampler_accept(self._grammar, token)
        llama_cpp.llama_sampler_accept(self._chain.sampler, token)
        return token

    def _choose(self, logits: np.ndarray[Any, Any], *, grammar_first: bool) -> int:
        self._candidates["id"] = self._ids
        self._candidates["logit"] = logits
        self._candidates["p"] = 0.0
        self._all.size = self._n_vocab
        self._all.selected = -1
        self._all.sorted = False
        pointer = ctypes.byref(self._all)
        if grammar_first:
            llama_cpp.llama_sampler_apply(self._grammar, pointer)
        llama_cpp.llama_sampler_apply(self._chain.sampler, pointer)
        return int(self._candidates["id"][self._all.selected])

    def _allows(self, token: int) -> bool:
        self._one[0] = (token, 1.0, 0.0)
        self._single.size = 1
        self._single.selected = -1
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._single))
        return math.isfinite(float(self._one["logit"][0]))

    def __del__(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None


def _token_data_array(buffer: np.ndarray[Any, Any]) -> llama_cpp.llama_token_data_array:
    data = buffer.ctypes.data_as(llama_cpp.llama_token_data_p)
    return llama_cpp.llama_token_data_array(data=data, size=len(buffer), selected=-1, sorted=False)


class GrammarCheckingLlama(llama_cpp.Llama):
    """A ``llama_cpp.Llama`` whose grammar-constrained generation uses
    :class:`GrammarCheckingSampler`; generation without a grammar is unchanged."""

    def _init_sampler(self, *args: Any, grammar: LlamaGrammar | None = None, **kwargs: Any) -> Any:
        chain = super()._init_sampler(*args, **kwargs)
        if grammar is None:
            return chain
        checker = llama_cpp.llama_sampler_init_grammar(
            self._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not checker:
            raise ValueError("llama.cpp could not build a sampler for this grammar.")
        return GrammarCheckingSampler(chain, checker, self._n_vocab)
