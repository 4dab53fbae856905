"""What differs between model families: chat format, sampling defaults and the context they
are trained for; and whether a model was tuned to follow instructions.

GGUF files usually carry their chat template, and llama.cpp uses it. Some do not (the bundled
Gemma 3 270M has none), and then the format is chosen by the file's architecture instead of
falling back to llama.cpp's default, which would give such a model a prompt it was never
trained on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purpose_desktop.models.gguf_metadata import GGUFMetadata


@dataclass(frozen=True)
class ModelFamily:
    name: str
    chat_format: str
    """llama-cpp-python chat format used when the file has no chat template."""
    temperature: float
    top_p: float
    context_length: int
    """Tokens of context assumed trained for when a GGUF file does not say: the shortest its
    family's models have, so a context that is too long is refused rather than degrading the
    answers."""


_DEFAULT = ModelFamily("generic", "chatml", temperature=0.3, top_p=0.9, context_length=2048)

_LLAMA = ModelFamily("llama", "llama-3", temperature=0.3, top_p=0.9, context_length=8192)
_QWEN = ModelFamily("qwen", "chatml", temperature=0.6, top_p=0.95, context_length=32768)
_GEMMA = ModelFamily("gemma", "gemma", temperature=0.3, top_p=0.95, context_length=8192)
_PHI = ModelFamily("phi", "chatml", temperature=0.3, top_p=0.9, context_length=4096)
# SmolLM2 reports the llama architecture but was trained on ChatML.
_SMOLLM = ModelFamily("smollm2", "chatml", temperature=0.2, top_p=0.9, context_length=8192)

_BY_ARCHITECTURE: dict[str, ModelFamily] = {
    "llama": _LLAMA,
    "qwen2": _QWEN,
    "qwen3": _QWEN,
    "gemma": _GEMMA,
    "gemma2": _GEMMA,
    "gemma3": _GEMMA,
    "phi3": _PHI,
}

_BY_NAME: dict[str, ModelFamily] = {"smollm": _SMOLLM}

# Words in a model's name that mark a fine-tune for chat or instructions.
_INSTRUCT_MARKERS = re.compile(r"instruct|\bchat\b|(?:^|[-_ .])it(?:$|[-_ .])", re.IGNORECASE)


def family_for(architecture: str, model_name: str) -> ModelFamily:
    """The family of a model, from its GGUF architecture and its name."""
    lowered = model_name.lower()
    for marker, family in _BY_NAME.items():
        if marker in lowered:
            return family
    return _BY_ARCHITECTURE.get(architecture, _DEFAULT)


def trained_context(metadata: GGUFMetadata) -> int:
    """The context ``metadata``'s model was trained for: what its file says, else its
    family's default."""
    family = family_for(metadata.architecture, metadata.name)
    return metadata.context_length or family.context_length


def is_instruction_tuned(metadata: GGUFMetadata) -> bool:
    """Whether the model was tuned to follow instructions rather than only continue text.

    A chat template in the file is taken as a sign of it (some base models ship one too, so
    this errs towards "tuned"); otherwise the name, fine-tune and file name are searched for
    markers such as "Instruct" or "-it". A base model (the bundled
    Gemma 3 270M is one) can still be loaded, but agents get poor answers from it.
    """
    if metadata.chat_template is not None:
        return True
    names = (
        metadata.name,
        str(metadata.values.get("general.finetune", "")),
        metadata.path.stem,
    )
    return any(_INSTRUCT_MARKERS.search(name) for name in names)
