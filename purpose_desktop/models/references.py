"""Turn the model an agent names in a team file into a file to load.

A reference is either ``bundled:NAME`` for a model that ships with the app, or a path to a GGUF
file: absolute, relative to the team file, or relative to the models folder.
"""

from __future__ import annotations

from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import bundled_model_path

BUNDLED_SCHEME = "bundled:"


def resolve_model_file(reference: str, base_dir: Path, models_dir: Path) -> Path:
    """The GGUF file that ``reference`` names; :class:`ModelError` if there is none."""
    reference = reference.strip()
    if not reference:
        raise ModelError("No model given: name a bundled model (bundled:NAME) or a GGUF file.")
    if reference.startswith(BUNDLED_SCHEME):
        return bundled_model_path(reference.removeprefix(BUNDLED_SCHEME), models_dir)
    given = Path(reference).expanduser()
    candidates = [given] if given.is_absolute() else [base_dir / given, models_dir / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise ModelError(f"Model file not found: '{reference}' (looked for {looked}).")


OLLAMA_SCHEME = "ollama:"
SERVER_SCHEME = "server:"
AUTO_SCHEME = "auto:"
