"""Evaluated prompt prefixes kept in a model's worker, so a recurring prompt is not evaluated
again.

An agent's steps and the critic's scores alternate on one model, each behind a long fixed front
(its system prompt), while llama.cpp holds only the context of the last prompt. After each
answer the worker copies that context (the KV cache of sequence 0, about 22 KiB a token for
SmolLM2 135M) out of llama.cpp; before the next prompt it puts back the copy that shares the
longest prefix with it, and llama-cpp-python then evaluates only the tokens after that prefix.

llama-cpp-python's own ``LlamaRAMCache`` keeps whole ``save_state`` copies instead. Each of
those also holds the logits of a whole batch (96 MiB with SmolLM2's vocabulary, not counted
against the cache's capacity) and takes about 0.3 s to save and again to load on a small
model; a copy of the sequence's KV cache alone takes about 10 ms.

Only the worker imports this module: it loads llama_cpp.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Generator, Sequence
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

Tokens = npt.NDArray[np.intc]

_SEQUENCE = 0  # llama-cpp-python keeps its whole context in sequence 0


def shared_prefix(first: Tokens, second: Tokens) -> int:
    """How many tokens ``first`` and ``second`` share from their start."""
    length = min(len(first), len(second))
    differ = np.flatnonzero(first[:length] != second[:length])
    return int(differ[0]) if differ.size else length


class PrefixStore:
    """Saved contexts keyed by the tokens they hold, within ``capacity_bytes``.

    The least recently used context goes first when room is needed; a context larger than the
    whole capacity is not kept, and a capacity of 0 keeps nothing. A context whose tokens
    continue a kept one replaces it: every prompt the older one served, the newer serves as far.
    """

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes < 0:
            raise ValueError(f"A prompt cache cannot hold {capacity_bytes} bytes.")
        self.capacity_bytes = capacity_bytes
        self._entries: OrderedDict[bytes, tuple[Tokens, Any]] = OrderedDict()
        self._size = 0

    @property
    def size_bytes(self) -> int:
        """Bytes the kept contexts and their tokens take now; never above the capacity."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def fits(self, state_bytes: int, tokens: int) -> bool:
        """Whether a context of this size could be kept at all."""
        return _entry_bytes(state_bytes, tokens) <= self.capacity_bytes

    def add(self, tokens: Tokens, state: ctypes.Array[ctypes.c_uint8]) -> None:
        """Keep ``state``, the context holding ``tokens``, making room as described above."""
        size = _entry_bytes(ctypes.sizeof(state), len(tokens))
        if size > self.capacity_bytes:
            return
        for key, (kept, kept_state) in list(self._entries.items()):
            if shared_prefix(kept, tokens) == len(kept):
                del self._entries[key]
                self._size -= _entry_bytes(ctypes.sizeof(kept_state), len(kept))
        while self._entries and self._size + size > self.capacity_bytes:
            _, (kept, kept_state) = self._entries.popitem(last=False)
            self._size -= _entry_bytes(ctypes.sizeof(kept_state), len(kept))
        self._entries[tokens.tobytes()] = (tokens, state)
        self._size += size

    def longest(self, prompt: Tokens) -> tuple[int, ctypes.Array[ctypes.c_uint8] | None]:
        """The kept context sharing the longest prefix with ``prompt``, and that prefix's
        length; ``(0, None)`` when none shares a token."""
        best_key, best_length = None, 0
        for key, (kept, _) in self._entries.items():
            length = shared_prefix(kept, prompt)
            if length > best_length:
                best_key, best_length = key, length
        if best_key is None:
            return 0, None
        self._entries.move_to_end(best_key)
        return best_length, self._entries[best_key][1]


def _entry_bytes(state_bytes: int, tokens: int) -> int:
    return state_bytes + tokens * np.dtype(np.intc).itemsize


class PrefixCachingLlama(llama_cpp.Llama):
    """A ``llama_cpp.Llama`` that restores the longest kept prefix before each prompt and
    counts what it evaluates.

    After each request, :meth:`keep_context` saves the context for later prompts.
    ``prompt_tokens`` and ``prompt_evaluated`` describe the last prompt: the tokens it had and
    those llama.cpp had to evaluate (the rest came from the context it held or from the cache).
    """

    def __init__(self, *args: Any, prompt_cache_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prompt_cache = PrefixStore(prompt_cache_bytes)
        self.prompt_tokens = 0
        self.prompt_evaluated = 0
        self._prompt_pending = False

    def generate(
        self, tokens: Sequence[int], *args: Any, **kwargs: Any
    ) -> Generator[int, Any, None]:
        prompt = np.asarray(tokens, dtype=np.intc)
        self.prompt_tokens = len(prompt)
        self.prompt_evaluated = 0
        self._prompt_pending = True
        self._restore(prompt)
        yield from super().generate(prompt.tolist(), *args, **kwargs)

    def eval(self, tokens: Sequence[int]) -> None:
        # The first evaluation of a request is the part of the prompt that was not held;
        # later ones are the tokens it generates.
        if self._prompt_pending:
            self.prompt_evaluated = len(tokens)
            self._prompt_pending = False
        super().eval(tokens)

    def keep_context(self) -> None:
        """Save the context as it is now, if the cache has room for it."""
        if self.n_tokens == 0:
            return
        ctx = self._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, _SEQUENCE)
        if not self.prompt_cache.fits(size, self.n_tokens):
            return
        state = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(ctx, state, size, _SEQUENCE) == 0:
            return
        self.prompt_cache.add(self.input_ids[: self.n_tokens].copy(), state)

    def _restore(self, prompt: Tokens) -> None:
        held = shared_prefix(self.input_ids[: self.n_tokens], prompt)
        shared, state = self.prompt_cache.longest(prompt)
        # At least the prompt's last token is evaluated again: sampling needs its logits,
        # which a saved context does not hold.
        usable = min(shared, len(prompt) - 1)
        if state is None or usable <= held:
            return
        size = ctypes.sizeof(state)
        if llama_cpp.llama_state_seq_set_data(self._ctx.ctx, state, size, _SEQUENCE) != size:
            self.n_tokens = 0  # the context is in no known state: evaluate the whole prompt
            return
        # llama-cpp-python drops what the context holds after the prefix it shares with the
        # prompt, and evaluates the rest.
        self.input_ids[:usable] = prompt[:usable]
        self.n_tokens = usable
