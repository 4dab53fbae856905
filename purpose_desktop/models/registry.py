"""Well-known small models: what they are called in each place they can come from.

The registry lets a team file name a model once (``auto:qwen3-0.6b``) and the app find it as a
local GGUF file, in Ollama, or on a configured server. Context lengths are what each model was
trained for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownModel:
    key: str
    """The name used in team files after ``auto:``, e.g. ``qwen3-0.6b``."""
    title: str
    family_name: str
    parameters: str
    ollama_name: str
    context_length: int
    instruction_tuned: bool = True
    bundled: str | None = None
    """The bundled model key when a copy ships with the app."""
    file_markers: tuple[str, ...] = ()
    """Lower-case words that all appear in the name of a matching GGUF file."""


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        "smollm2-135m",
        "SmolLM2 135M Instruct",
        "smollm2",
        "135M",
        "smollm2:135m",
        8192,
        bundled="smollm2-135m",
        file_markers=("smollm2", "135m"),
    ),
    KnownModel(
        "smollm2-360m",
        "SmolLM2 360M Instruct",
        "smollm2",
        "360M",
        "smollm2:360m",
        8192,
        file_markers=("smollm2", "360m"),
    ),
    KnownModel(
        "smollm2-1.7b",
        "SmolLM2 1.7B Instruct",
        "smollm2",
        "1.7B",
        "smollm2:1.7b",
        8192,
        file_markers=("smollm2", "1.7b"),
    ),
    KnownModel(
        "gemma3-270m",
        "Gemma 3 270M",
        "gemma",
        "270M",
        "gemma3:270m",
        32768,
        instruction_tuned=False,
        bundled="gemma3-270m",
        file_markers=("gemma", "270m"),
    ),
    KnownModel(
        "gemma3-1b",
        "Gemma 3 1B Instruct",
        "gemma",
        "1B",
        "gemma3:1b",
        32768,
        file_markers=("gemma", "3", "1b"),
    ),
    KnownModel(
        "qwen3-0.6b",
        "Qwen3 0.6B",
        "qwen",
        "0.6B",
        "qwen3:0.6b",
        40960,
        file_markers=("qwen3", "0.6b"),
    ),
    KnownModel(
        "qwen3-1.7b",
        "Qwen3 1.7B",
        "qwen",
        "1.7B",
        "qwen3:1.7b",
        40960,
        file_markers=("qwen3", "1.7b"),
    ),
    KnownModel(
        "llama3.2-1b",
        "Llama 3.2 1B Instruct",
        "llama",
        "1B",
        "llama3.2:1b",
        131072,
        file_markers=("llama", "3.2", "1b"),
    ),
    KnownModel(
        "llama3.2-3b",
        "Llama 3.2 3B Instruct",
        "llama",
        "3B",
        "llama3.2:3b",
        131072,
        file_markers=("llama", "3.2", "3b"),
    ),
    KnownModel(
        "phi4-mini",
        "Phi-4 mini Instruct",
        "phi",
        "3.8B",
        "phi4-mini",
        131072,
        file_markers=("phi", "4", "mini"),
    ),
)


def known_model(key: str) -> KnownModel | None:
    """The registry entry called ``key`` (case-insensitive), or ``None``."""
    lowered = key.strip().lower()
    return next((model for model in KNOWN_MODELS if model.key == lowered), None)


def matches_file(model: KnownModel, file_name: str) -> bool:
    """Whether a GGUF file's name looks like a copy of ``model``."""
    # Whole parts of the name only: "phi-3-mini" is not Phi-4 mini, nor "11b" a 1B model.
    parts = set(re.split(r"[-_ ]+|\.(?!\d)", file_name.lower()))
    return bool(model.file_markers) and all(marker in parts for marker in model.file_markers)
