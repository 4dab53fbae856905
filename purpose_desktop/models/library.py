"""Adding GGUF files to the models folder, where the catalog and team files find them.

A file is checked before anything is copied: its header must read as GGUF and its data must be
all there. The copy goes to a temporary name first and is renamed when complete, so a failed
or cancelled copy never leaves a half file that looks like a model.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata

CHUNK_BYTES = 8 * 1024 * 1024
Progress = Callable[[int, int], bool]
"""Called with (bytes copied, bytes in all); returning False cancels the copy."""


class CopyCancelled(ModelError):
    """The user stopped the copy; nothing was added."""


def add_model_file(
    source: Path, models_dir: Path, *, link: bool = False, progress: Progress | None = None
) -> GGUFMetadata:
    """Validate ``source`` and copy (or with ``link``, symlink) it into ``models_dir``.

    Returns the metadata of the added file. Raises :class:`ModelError` for a file that is not a
    usable GGUF, a different file of the same name already there, or a copy that fails;
    :class:`CopyCancelled` when ``progress`` returns False. Adding the same file twice is
    harmless. Slow for big files: call it off the UI loop.
    """
    try:
        source = source.expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        raise ModelError(
            f"{source} cannot be added: it is a symbolic link that leads back to "
            "itself, not to a file."
        ) from None
    if source.suffix.lower() != ".gguf":
        raise ModelError(f"{source.name} is not a .gguf file; only GGUF models can be added.")
    read_gguf_metadata(source)  # raises with the reason for an unusable file
    target = models_dir / source.name
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() and not target.exists():
            target.unlink()  # a link to a file that has since gone: replace it
        if target.exists():
            if target.resolve() == source or filecmp.cmp(source, target, shallow=False):
                return read_gguf_metadata(target)
            raise ModelError(
                f"The models folder already has a different {target.name}. Rename one of "
                "them and add it again."
            )
    except OSError as exc:
        raise ModelError(f"Could not add {source.name} to {models_dir}: {exc}") from exc
    if link:
        try:
            target.symlink_to(source)
        except OSError as exc:  # Windows without the symlink privilege, for one
            raise ModelError(
                f"Could not link {source.name} into {models_dir}: {exc}. Copy it instead."
            ) from exc
    else:
        _copy(source, target, progress)
    return read_gguf_metadata(target)


def _copy(source: Path, target: Path, progress: Progress | None) -> None:
    partial = target.with_name(target.name + ".partial")
    total = source.stat().st_size
    done = 0
    try:
        with source.open("rb") as reader, partial.open("wb") as writer:
            while chunk := reader.read(CHUNK_BYTES):
                writer.write(chunk)
                done += len(chunk)
                if progress is not None and not progress(done, total):
                    raise CopyCancelled(f"Adding {source.name} was cancelled.")
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(source, partial)
        partial.replace(target)
    except OSError as exc:
        raise ModelError(f"Could not copy {source.name} into {target.parent}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
