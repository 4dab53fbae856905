"""Grammar-constrained sampling that checks the grammar against the chosen token first.

llama-cpp-python puts the grammar into the sampler chain, so at every token llama.cpp runs the
grammar over the whole vocabulary (49,152 tokens for SmolLM2), matching each token's text
against the grammar's stacks: that alone held generation under an action schema to about 0.6
of unconstrained speed. A model that is following a JSON schema mostly picks a token the
grammar allows anyway. So, as llama.cpp's own ``common_sampler`` does, the chain without the
grammar chooses a token, the grammar checks that one token, and only when it refuses does the
grammar filter the likeliest few hundred tokens (then a few thousand, then the whole
vocabulary, while it refuses all of them) before the chain chooses again. The model's
end-of-generation tokens are always among those filtered: once the grammar is complete they
are all it allows, however unlikely. Greedy answers are the same token for token: the best
token the grammar allows is the chain's choice when allowed, else the best allowed among the
likeliest.

Only the worker imports this module: it loads llama_cpp.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals as internals
from llama_cpp.llama_grammar import LlamaGrammar

# llama_token_data as numpy sees it: the array is filled from the logits without a Python loop.
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.float32), ("p", np.float32)], align=True)
assert _TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)

#: How many of the model's likeliest tokens the grammar filters, in turn, before it filters
#: them all. The first is above llama-cpp-python's default ``top_k`` (40), so sampling chooses
#: from the same tokens whenever the grammar allows that many of them; greedy choice is the
#: same in any case.
SHORTLISTS = (256, 4096)


class GrammarCheckingSampler:
    """Samples like ``chain`` followed by ``grammar``'s filter, checking the grammar against the
    chain's choice first. Owns the grammar sampler and frees it when dropped (the chain frees
    itself).

    ``greedy`` says the chain picks the likeliest token and changes no logit (temperature 0, no
    penalties): its choice is then taken from the logits directly, without copying the whole
    vocabulary into a candidate array for it."""

    def __init__(
        self,
        chain: internals.LlamaSampler,
        grammar: Any,
        n_vocab: int,
        *,
        greedy: bool,
        end_tokens: np.ndarray[Any, Any],
    ) -> None:
        self._chain = chain
        self._grammar = grammar
        self._greedy = greedy
        self._end_tokens = end_tokens.astype(np.intc)
        self._ids = np.arange(n_vocab, dtype=np.intc)
        self._candidates = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._array = llama_cpp.llama_token_data_array(
            data=self._candidates.ctypes.data_as(llama_cpp.llama_token_data_p),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )

    def sample(self, ctx: internals.LlamaContext, idx: int = -1) -> int:
        """The next token from the logits at ``idx``; the grammar and the chain accept it."""
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(len(self._ids),)
        )
        token = self._unchecked_choice(logits)
        if not self._allows(token):
            token = self._shortlisted_choice(logits)
        llama_cpp.llama_sampler_accept(self._grammar, token)
        llama_cpp.llama_sampler_accept(self._chain.sampler, token)
        return token

    def _shortlisted_choice(self, logits: np.ndarray[Any, Any]) -> int:
        """The chain's choice among the tokens the grammar allows, looked for among the
        model's likeliest tokens first: filtering a few hundred tokens is cheap, and the best
        allowed token is nearly always among them."""
        for size in SHORTLISTS:
            if size >= len(logits) // 2:
                break
            likeliest = np.union1d(np.argpartition(logits, -size)[-size:], self._end_tokens)
            likeliest = likeliest.astype(np.intc)
            token = self._allowed_choice(likeliest, logits[likeliest])
            if token is not None:
                return token
        token = self._allowed_choice(self._ids, logits)
        if token is None:
            raise RuntimeError("The grammar allows no token here.")
        return token

    def _unchecked_choice(self, logits: np.ndarray[Any, Any]) -> int:
        if self._greedy:
            return int(np.argmax(logits))
        self._fill(self._ids, logits)
        return self._chain_choice()

    def _allowed_choice(
        self, ids: np.ndarray[Any, Any], logits: np.ndarray[Any, Any]
    ) -> int | None:
        """The chain's choice among those of ``ids`` the grammar allows; None if it allows
        none of them."""
        candidates = self._filtered(ids, logits)
        if candidates is None:
            return None
        if self._greedy:  # llama.cpp's greedy sampler takes the first of equal best
            allowed = candidates["logit"]
            return int(candidates["id"][allowed == allowed.max()].min())
        return self._chain_choice()

    def _allows(self, token: int) -> bool:
        one = np.array([token], dtype=np.intc)
        return self._filtered(one, np.zeros(1, dtype=np.float32)) is not None

    def _filtered(
        self, ids: np.ndarray[Any, Any], logits: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any] | None:
        """The candidate array holding ``ids``, those the grammar refuses at minus infinity;
        None if it refuses them all."""
        candidates = self._fill(ids, logits)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._array))
        return candidates if np.isfinite(candidates["logit"]).any() else None

    def _fill(
        self, ids: np.ndarray[Any, Any], logits: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        candidates = self._candidates[: len(ids)]
        candidates["id"] = ids
        candidates["logit"] = logits
        candidates["p"] = 0.0
        self._array.size = len(ids)
        self._array.selected = -1
        self._array.sorted = False
        return candidates

    def _chain_choice(self) -> int:
        llama_cpp.llama_sampler_apply(self._chain.sampler, ctypes.byref(self._array))
        return int(self._candidates["id"][self._array.selected])

    def __del__(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None


class GrammarCheckingLlama(llama_cpp.Llama):
    """A ``llama_cpp.Llama`` whose grammar-constrained generation uses
    :class:`GrammarCheckingSampler`; generation without a grammar is unchanged."""

    @functools.cached_property
    def end_tokens(self) -> np.ndarray[Any, Any]:
        """The vocabulary's end-of-generation tokens."""
        vocab = self._model.vocab
        ends = [t for t in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)]
        return np.array(ends, dtype=np.intc)

    def _init_sampler(self, *args: Any, grammar: LlamaGrammar | None = None, **kwargs: Any) -> Any:
        # llama-cpp-python passes every setting by keyword.
        chain = super()._init_sampler(*args, **kwargs)
        if grammar is None:
            return chain
        checker = llama_cpp.llama_sampler_init_grammar(
            self._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not checker:
            raise ValueError("llama.cpp could not build a sampler for this grammar.")
        greedy = (
            kwargs.get("temp") == 0.0
            and kwargs.get("repeat_penalty", 1.0) == 1.0
            and kwargs.get("frequency_penalty", 0.0) == 0.0
            and kwargs.get("presence_penalty", 0.0) == 0.0
            and kwargs.get("logits_processor") is None
        )
        return GrammarCheckingSampler(
            chain, checker, self._n_vocab, greedy=greedy, end_tokens=self.end_tokens
        )
