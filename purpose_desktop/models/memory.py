"""How much memory a GGUF model needs once loaded, estimated from its header alone.

The weights are memory-mapped and count at their file size. The KV cache holds a key and a value
vector per layer for every token of context, in 16-bit floats. llama.cpp also keeps compute
buffers that grow with the batch and the vocabulary; a margin covers them and the worker
process itself. The worker's prompt cache (:mod:`prompt_cache`) counts at its capacity, which it
fills as prompts recur. The estimate errs on the high side so that what the app admits does fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purpose_desktop.models.gguf_metadata import GGUFMetadata

MIB = 1024 * 1024
_KV_BYTES_PER_VALUE = 2  # llama.cpp's default KV cache type is f16
_PROCESS_OVERHEAD = 48 * MIB  # a Python worker with llama-cpp-python imported
PROMPT_CACHE_BYTES = 64 * MIB
"""The prompt cache a worker gets by default: with the bundled models (about 20 KiB of KV
cache a token), the contexts of an agent and its critic several times over."""


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    kv_cache: int
    compute: int
    prompt_cache: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.prompt_cache + _PROCESS_OVERHEAD

    def describe(self) -> str:
        return (
            f"about {self.total / MIB:.0f} MiB (weights {self.weights / MIB:.0f}, "
            f"context cache {self.kv_cache / MIB:.0f}, prompt cache "
            f"{self.prompt_cache / MIB:.0f}, buffers "
            f"{(self.compute + _PROCESS_OVERHEAD) / MIB:.0f})"
        )


def _int(metadata: GGUFMetadata, key: str) -> int | None:
    value = metadata.values.get(f"{metadata.architecture}.{key}")
    if isinstance(value, list):  # some architectures give a value per layer
        numbers = [v for v in value if isinstance(v, int)]
        return max(numbers) if numbers else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kv_bytes_per_token(metadata: GGUFMetadata) -> int:
    layers = _int(metadata, "block_count") or 0
    heads = _int(metadata, "attention.head_count") or 1
    kv_heads = _int(metadata, "attention.head_count_kv") or heads
    embedding = _int(metadata, "embedding_length") or 0
    key_length = _int(metadata, "attention.key_length") or embedding // heads
    value_length = _int(metadata, "attention.value_length") or embedding // heads
    return layers * kv_heads * (key_length + value_length) * _KV_BYTES_PER_VALUE


def _token_count(metadata: GGUFMetadata) -> int | None:
    tokens = metadata.values.get("tokenizer.ggml.tokens")
    if isinstance(tokens, list):
        return len(tokens)
    # Long arrays are not kept in memory; the reader leaves their length in a placeholder.
    found = re.fullmatch(r"<array of (\d+)>", tokens) if isinstance(tokens, str) else None
    return int(found.group(1)) if found else None


def estimate_memory(
    metadata: GGUFMetadata,
    n_ctx: int,
    n_batch: int = 512,
    prompt_cache: int = PROMPT_CACHE_BYTES,
) -> MemoryEstimate:
    """The memory ``metadata``'s model needs when loaded with a context of ``n_ctx`` tokens
    and a prompt cache of ``prompt_cache`` bytes."""
    vocab_size = _int(metadata, "vocab_size") or _token_count(metadata) or 32000
    embedding = _int(metadata, "embedding_length") or 0
    # Compute buffers, fitted to what llama.cpp allocates for SmolLM2 and Gemma 3 (measured
    # resident memory of their workers at 1k and 8k context, which this exceeds by about 8 %):
    # output buffers that scale with the vocabulary, activations with batch and width.
    compute = 4 * 64 * vocab_size + 4 * 16 * n_batch * embedding
    return MemoryEstimate(
        weights=metadata.size_bytes,
        kv_cache=_kv_bytes_per_token(metadata) * n_ctx,
        compute=compute,
        prompt_cache=prompt_cache,
    )


def half_of_memory() -> int:
    """Half of the machine's physical memory in bytes: room for models that leaves the rest
    of the system enough to work."""
    import psutil

    return int(psutil.virtual_memory().total // 2)
