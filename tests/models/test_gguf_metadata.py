from __future__ import annotations

from pathlib import Path

import pytest
from purpose_desktop.models.bundled import bundled_model_metadata, gemma3_path, smollm2_path
from purpose_desktop.models.catalog import list_local_models
from purpose_desktop.models.gguf_metadata import (
    GGUFFormatError,
    read_gguf_metadata,
    read_joined_gguf_metadata,
)


def test_reads_smollm2_header_without_loading_it() -> None:
    metadata = read_gguf_metadata(smollm2_path())
    assert metadata.architecture == "llama"
    assert metadata.context_length == 8192
    assert metadata.quantisation == "Q4_1"
    assert 130e6 < metadata.parameter_count < 140e6
    assert metadata.chat_template is not None
    assert "<|im_start|>" in metadata.chat_template


def test_bundled_gemma_has_no_chat_template(shared_models_dir: Path) -> None:
    metadata = read_gguf_metadata(gemma3_path(shared_models_dir))
    assert metadata.architecture == "gemma3"
    assert metadata.chat_template is None
    assert metadata.quantisation == "Q4_K_M"


def test_the_gemma_chunks_are_described_without_joining_them(
    tmp_path: Path, shared_models_dir: Path
) -> None:
    joined = read_gguf_metadata(gemma3_path(shared_models_dir))
    fresh = tmp_path / "models"
    (entry,) = [e for e in list_local_models(fresh) if e.reference == "bundled:gemma3-270m"]
    assert not fresh.exists()  # nothing written: the header came from the first chunk
    assert entry.error is None
    assert entry.path == str(fresh / "bundled" / joined.path.name)
    assert (entry.size_bytes, entry.parameters, entry.context_length, entry.architecture) == (
        joined.size_bytes,
        joined.parameter_count,
        joined.context_length,
        joined.architecture,
    )
    # Once joined (a load does it), the file itself is read and says the same.
    assert bundled_model_metadata("gemma3-270m", shared_models_dir).values == joined.values


def test_parts_whose_first_one_cuts_the_header_short_say_so(tmp_path: Path) -> None:
    data = smollm2_path().read_bytes()
    first, second = tmp_path / "part0", tmp_path / "part1"
    first.write_bytes(data[:1000])
    second.write_bytes(data[1000:2000])
    with pytest.raises(GGUFFormatError, match="does not fit in its first part"):
        read_joined_gguf_metadata(tmp_path / "model.gguf", [first, second])
    with pytest.raises(GGUFFormatError, match="cannot be read"):
        read_joined_gguf_metadata(tmp_path / "model.gguf", [tmp_path / "missing"])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(GGUFFormatError, match="is empty"):
        read_gguf_metadata(path)


def test_text_file_renamed_to_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(GGUFFormatError, match="is not a GGUF model file"):
        read_gguf_metadata(path)


@pytest.mark.parametrize("keep", [10, 5_000, 20_000_000])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "cut.gguf"
    with smollm2_path().open("rb") as source:
        path.write_bytes(source.read(keep))
    with pytest.raises(GGUFFormatError, match="is truncated"):
        read_gguf_metadata(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GGUFFormatError, match="Model file not found"):
        read_gguf_metadata(tmp_path / "gone.gguf")


def test_unsupported_version(tmp_path: Path) -> None:
    path = tmp_path / "future.gguf"
    path.write_bytes(b"GGUF" + (99).to_bytes(4, "little") + bytes(16))
    with pytest.raises(GGUFFormatError, match="version 99"):
        read_gguf_metadata(path)
