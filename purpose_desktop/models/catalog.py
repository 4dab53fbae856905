"""The local models the user can choose from: the bundled ones and GGUF files in the models
folder, each described from its file header without loading it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import BUNDLED_MODELS, bundled_model_metadata
from purpose_desktop.models.families import family_for, is_instruction_tuned
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata
from purpose_desktop.models.memory import estimate_memory
from purpose_desktop.models.references import BUNDLED_SCHEME


@dataclass(frozen=True)
class CatalogEntry:
    """One model as the catalog shows it. ``error`` says why a file cannot be used."""

    reference: str
    title: str
    backend: str
    path: str | None
    family: str | None = None
    architecture: str | None = None
    parameters: int | None = None
    quantisation: str | None = None
    context_length: int | None = None
    size_bytes: int | None = None
    has_chat_template: bool | None = None
    instruction_tuned: bool | None = None
    memory_bytes: int | None = None
    """Estimated memory when loaded at the catalog's context size."""
    error: str | None = None


def _describe(reference: str, title: str, metadata: GGUFMetadata, n_ctx: int) -> CatalogEntry:
    return CatalogEntry(
        reference=reference,
        title=title,
        backend="llama.cpp",
        path=str(metadata.path),
        family=family_for(metadata.architecture, metadata.name).name,
        architecture=metadata.architecture,
        parameters=metadata.parameter_count,
        quantisation=metadata.quantisation,
        context_length=metadata.context_length,
        size_bytes=metadata.size_bytes,
        has_chat_template=metadata.chat_template is not None,
        instruction_tuned=is_instruction_tuned(metadata),
        memory_bytes=estimate_memory(metadata, n_ctx).total,
    )


def list_local_models(models_dir: Path, n_ctx: int = 2048) -> list[CatalogEntry]:
    """Every bundled model and every ``*.gguf`` in ``models_dir``, with the memory each needs
    at a context of ``n_ctx`` tokens.

    A model that cannot be read is listed with its ``error`` rather than left out, so the user
    sees why it is not usable. This reads file headers (the bundled Gemma's from its first
    chunk until it is first loaded): call it off the UI loop.
    """
    entries: list[CatalogEntry] = []
    for key, bundled in BUNDLED_MODELS.items():
        reference = BUNDLED_SCHEME + key
        try:
            metadata = bundled_model_metadata(key, models_dir)
            entries.append(_describe(reference, bundled.title, metadata, n_ctx))
        except ModelError as exc:
            entries.append(
                CatalogEntry(reference, bundled.title, "llama.cpp", None, error=str(exc))
            )
    for path in sorted(models_dir.glob("*.gguf")):
        try:
            entries.append(_describe(path.name, path.stem, read_gguf_metadata(path), n_ctx))
        except ModelError as exc:
            entries.append(
                CatalogEntry(path.name, path.stem, "llama.cpp", str(path), error=str(exc))
            )
    return entries
