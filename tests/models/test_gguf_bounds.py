"""The header check measures where each tensor's data ends, so a file missing even its last
byte is refused, without reading the tensor data itself."""

from __future__ import annotations

import ctypes
import shutil
import struct
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.gguf_metadata import (
    TENSOR_TYPES,
    GGUFFormatError,
    read_gguf_metadata,
)
from purpose_desktop.models.library import add_model_file

F32, Q4_K, UNKNOWN = 0, 12, 200
ALIGNMENT = 32


def cut_copy(source: Path, folder: Path, cut: int) -> Path:
    """A copy of ``source`` without its last ``cut`` bytes, as an interrupted download."""
    path = folder / source.name
    shutil.copyfile(source, path)
    with path.open("r+b") as file:
        file.truncate(source.stat().st_size - cut)
    return path


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def gguf_file(path: Path, tensors: list[tuple[str, list[int], int, int]], data: int) -> Path:
    """A GGUF v3 file with one metadata key, ``tensors`` as (name, dims, type, offset) and
    ``data`` bytes after the aligned header."""
    header = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 1))
    header += _string("general.architecture") + struct.pack("<I", 8) + _string("llama")
    for name, dims, tensor_type, offset in tensors:
        header += _string(name) + struct.pack("<I", len(dims))
        header += b"".join(struct.pack("<Q", dim) for dim in dims)
        header += struct.pack("<IQ", tensor_type, offset)
    header += bytes(-len(header) % ALIGNMENT)
    path.write_bytes(bytes(header) + bytes(data))
    return path


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the bytes read from each file opened with ``Path.open``, in order."""
    counts: list[int] = []
    real_open = Path.open

    class Counting:
        def __init__(self, file: BinaryIO) -> None:
            self._file = file
            self._index = len(counts)
            counts.append(0)

        def read(self, size: int = -1) -> bytes:
            data = self._file.read(size)
            counts[self._index] += len(data)
            return data

        def seek(self, offset: int, whence: int = 0) -> int:
            return self._file.seek(offset, whence)

        def tell(self) -> int:
            return self._file.tell()

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self._file.close()

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Counting:
        return Counting(real_open(self, *args, **kwargs))

    monkeypatch.setattr(Path, "open", counting_open)
    return counts


def test_the_bundled_models_pass_without_their_tensor_data_being_read(
    shared_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = (smollm2_path(), gemma3_path(shared_models_dir))
    bytes_read = count_reads(monkeypatch)
    for path in paths:
        metadata = read_gguf_metadata(path)
        assert metadata.size_bytes == path.stat().st_size
    # Headers of a few MiB (the vocabularies, mostly skipped over), files of 98 and 253 MiB.
    assert len(bytes_read) == 2
    assert all(count < 4 * 2**20 for count in bytes_read), bytes_read


@pytest.mark.parametrize("cut", [1, 1000])
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    size = smollm2_path().stat().st_size
    path = cut_copy(smollm2_path(), tmp_path, cut)
    with pytest.raises(
        GGUFFormatError,
        match=f"is truncated: its tensor data should reach "
        f"byte {size}, but the file has {size - cut} bytes",
    ):
        read_gguf_metadata(path)


def test_gemma_missing_its_last_byte_is_truncated(tmp_path: Path, shared_models_dir: Path) -> None:
    # Gemma's tensors are Q4_K, Q6_K, Q5_0, Q8_0 and F32: other block sizes than SmolLM2's.
    path = cut_copy(gemma3_path(shared_models_dir), tmp_path, 1)
    with pytest.raises(GGUFFormatError, match="is truncated"):
        read_gguf_metadata(path)


@pytest.mark.parametrize("cut", [1, 1000])
def test_add_model_file_refuses_a_truncated_file_and_copies_nothing(
    tmp_path: Path, cut: int
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    source = cut_copy(smollm2_path(), downloads, cut)
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="is truncated"):
        add_model_file(source, models_dir)
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


def test_the_size_table_is_the_one_llama_cpp_uses() -> None:
    import llama_cpp
    from llama_cpp._ctypes_extensions import load_shared_library

    ggml = load_shared_library("ggml-base", Path(llama_cpp.__file__).parent / "lib")
    ggml.ggml_blck_size.restype = ctypes.c_int64
    ggml.ggml_blck_size.argtypes = [ctypes.c_int]
    ggml.ggml_type_size.restype = ctypes.c_size_t
    ggml.ggml_type_size.argtypes = [ctypes.c_int]
    for tensor_type, sizing in TENSOR_TYPES.items():
        assert (ggml.ggml_blck_size(tensor_type), ggml.ggml_type_size(tensor_type)) == sizing
    # Every type below the newest in the table that llama.cpp still sizes is in the table.
    known = [t for t in range(max(TENSOR_TYPES) + 1) if ggml.ggml_blck_size(t) > 0]
    assert known == sorted(TENSOR_TYPES)
    assert {12, 14, 8, 1, 0, 30, 13, 11, 10, 2, 3, 6, 7, 20, 23} <= set(TENSOR_TYPES)


@pytest.mark.parametrize(
    ("dims", "tensor_type", "data_bytes"),
    [([8, 2], F32, 64), ([256, 2], Q4_K, 288), ([512], Q4_K, 288)],
)
def test_the_data_must_reach_the_end_of_every_tensor(
    tmp_path: Path, dims: list[int], tensor_type: int, data_bytes: int
) -> None:
    whole = gguf_file(tmp_path / "whole.gguf", [("t", dims, tensor_type, 0)], data_bytes)
    assert read_gguf_metadata(whole).tensor_count == 1
    short = gguf_file(tmp_path / "short.gguf", [("t", dims, tensor_type, 0)], data_bytes - 1)
    with pytest.raises(GGUFFormatError, match="is truncated"):
        read_gguf_metadata(short)


def test_the_tensor_that_ends_last_counts_whatever_its_place_in_the_table(
    tmp_path: Path,
) -> None:
    # The first tensor listed lies after the second in the data: 64 + 64 bytes in all.
    tensors = [("b", [16], F32, 64), ("a", [16], F32, 0)]
    read_gguf_metadata(gguf_file(tmp_path / "whole.gguf", tensors, 128))
    with pytest.raises(GGUFFormatError, match="is truncated"):
        read_gguf_metadata(gguf_file(tmp_path / "short.gguf", tensors, 127))


def test_a_tensor_type_the_table_does_not_know_is_checked_by_its_start(tmp_path: Path) -> None:
    tensors = [("new", [1000], UNKNOWN, 0)]
    assert read_gguf_metadata(gguf_file(tmp_path / "some.gguf", tensors, 1)).tensor_count == 1
    with pytest.raises(GGUFFormatError, match="is truncated"):
        read_gguf_metadata(gguf_file(tmp_path / "none.gguf", tensors, 0))


def test_rows_that_do_not_fill_whole_blocks_are_corrupt(tmp_path: Path) -> None:
    path = gguf_file(tmp_path / "odd.gguf", [("blk.0.ffn", [100, 4], Q4_K, 0)], 1 << 12)
    with pytest.raises(
        GGUFFormatError,
        match=r"corrupt: tensor 'blk\.0\.ffn' has rows of 100 "
        "values, which its type \\(12\\) stores in blocks of 256",
    ):
        read_gguf_metadata(path)
