"""What differs between model families: chat format and sampling defaults.

GGUF files usually carry their chat template, and llama.cpp uses it. Some do not (the bundled
Gemma 3 270M has none), and then the format is chosen by the file's architecture instead of
falling back to llama.cpp's default, which would give such a model a prompt it was never
trained on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFamily:
    name: str
    chat_format: str
    """llama-cpp-python chat format used when the file has no chat template."""
    temperature: float
    top_p: float


_DEFAULT = ModelFamily("generic", chat_format="chatml", temperature=0.3, top_p=0.9)

_BY_ARCHITECTURE: dict[str, ModelFamily] = {
    "llama": ModelFamily("llama", chat_format="llama-3", temperature=0.3, top_p=0.9),
    "qwen2": ModelFamily("qwen", chat_format="chatml", temperature=0.6, top_p=0.95),
    "qwen3": ModelFamily("qwen", chat_format="chatml", temperature=0.6, top_p=0.95),
    "gemma": ModelFamily("gemma", chat_format="gemma", temperature=0.3, top_p=0.95),
    "gemma2": ModelFamily("gemma", chat_format="gemma", temperature=0.3, top_p=0.95),
    "gemma3": ModelFamily("gemma", chat_format="gemma", temperature=0.3, top_p=0.95),
    "phi3": ModelFamily("phi", chat_format="chatml", temperature=0.3, top_p=0.9),
}

# SmolLM2 reports the llama architecture but was trained on ChatML.
_BY_NAME: dict[str, ModelFamily] = {
    "smollm": ModelFamily("smollm2", chat_format="chatml", temperature=0.2, top_p=0.9),
}


def family_for(architecture: str, model_name: str) -> ModelFamily:
    """The family of a model, from its GGUF architecture and its name."""
    lowered = model_name.lower()
    for marker, family in _BY_NAME.items():
        if marker in lowered:
            return family
    return _BY_ARCHITECTURE.get(architecture, _DEFAULT)
