from __future__ import annotations

from pathlib import Path

import pytest
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.gguf_metadata import GGUFFormatError, read_gguf_metadata


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
