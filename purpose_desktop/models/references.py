"""Turn the model an agent names in a team file into a file to load.

A reference is either ``bundled:NAME`` for a model that ships with the app, or a path to a GGUF
file: absolute, relative to the team file, or relative to the models folder.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import BUNDLED_MODELS, bundled_model_path

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
    raise ModelError(
        f"Model file not found: '{reference}' (looked for {looked}).{_suggestion(reference)}"
    )


def _suggestion(reference: str) -> str:
    """A bundled model that ``reference`` probably means, as a sentence to add to the error;
    empty when none is close. ``smollm2-135m``, ``SmolLM2`` or ``gemma3`` name a bundled
    model without its scheme; a file name far from every bundled model's key gets none."""
    name = Path(reference).name.lower().removesuffix(".gguf")
    close = difflib.get_close_matches(name, list(BUNDLED_MODELS), n=1, cutoff=0.6)
    return f" Did you mean the bundled model '{BUNDLED_SCHEME}{close[0]}'?" if close else ""


def model_title(reference: str, path: Path) -> str:
    """What a person calls the local model ``reference``, found at ``path``, as the catalog
    lists it: a bundled model's title, else its file's name without ``.gguf`` (the name in a
    file's own header is often a training run's, such as "Smollm2 135M 8k Lc100K Mix1 Ep2")."""
    bundled = BUNDLED_MODELS.get(reference.strip().removeprefix(BUNDLED_SCHEME))
    if reference.strip().startswith(BUNDLED_SCHEME) and bundled is not None:
        return bundled.title
    return path.stem


OLLAMA_SCHEME = "ollama:"
SERVER_SCHEME = "server:"
AUTO_SCHEME = "auto:"
