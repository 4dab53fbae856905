"""Read a GGUF file's metadata without loading the model.

Only the header is parsed: the key-value metadata and the tensor table. That is enough to
validate a file before handing it to llama.cpp (which aborts the whole process on some bad
files), including that its tensor data is all there, to pick a chat format, and to show size
and context length in the catalog.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from purpose_desktop.errors import ModelError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
# Arrays longer than this (token lists, merges) are skipped rather than kept in memory.
MAX_KEPT_ARRAY = 64
# Guards against garbage lengths in a corrupt header.
MAX_STRING_BYTES = 64 * 1024 * 1024
MAX_ITEMS = 1 << 32

_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9

# GGML's `general.file_type` values for the quantisations small models ship in.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
}


# How GGML stores each tensor type, keyed by the type's number in a GGUF tensor table: (values
# per block, bytes per block), as ggml_blck_size and ggml_type_size of the llama.cpp that
# llama-cpp-python ships give them. With these the header alone says where each tensor's data
# ends, so a file cut short by even one byte is caught without reading the data. Types
# llama.cpp has dropped (4, 5, 31-33, 36-38) are left out, as are any newer than this table.
TENSOR_TYPES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
    42: (64, 18),  # Q2_0
}


class GGUFFormatError(ModelError):
    """The file is not a readable GGUF model."""


@dataclass(frozen=True)
class GGUFMetadata:
    """What the header of a GGUF file says about the model in it."""

    path: Path
    version: int
    size_bytes: int
    tensor_count: int
    parameter_count: int
    values: dict[str, object] = field(repr=False)

    @property
    def architecture(self) -> str:
        return str(self.values.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.values.get("general.name", self.path.stem))

    @property
    def context_length(self) -> int | None:
        value = self.values.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.values.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def quantisation(self) -> str:
        file_type = self.values.get("general.file_type")
        if isinstance(file_type, int):
            return FILE_TYPES.get(file_type, f"type {file_type}")
        return "unknown"


def read_gguf_metadata(path: Path) -> GGUFMetadata:
    """Parse the header of ``path``.

    Raises :class:`GGUFFormatError` naming the file and what is wrong with it: missing, empty,
    not GGUF at all, an unsupported version, or cut short.
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise GGUFFormatError(f"{path} is not a file.")
        if size == 0:
            raise GGUFFormatError(f"{path} is empty: it is not a GGUF model file.")
        with path.open("rb") as handle:
            return _parse(path, size, handle)
    except FileNotFoundError:
        if path.is_symlink():  # added with --link, and the file it points to has gone
            raise GGUFFormatError(
                f"Model file not found: {path} links to {path.readlink()}, which no longer "
                "exists. Add the file again."
            ) from None
        raise GGUFFormatError(f"Model file not found: {path}") from None
    except PermissionError:
        raise GGUFFormatError(f"Model file {path} cannot be read: permission denied.") from None
    except _Truncated:
        raise GGUFFormatError(
            f"{path} is truncated: the file ends inside its header "
            f"({size} bytes). It may be an incomplete download."
        ) from None


def read_joined_gguf_metadata(path: Path, parts: Sequence[Path]) -> GGUFMetadata:
    """The header of the GGUF file that ``parts`` make when joined in order, to be written at
    ``path``, read from the first part without joining them. The header must lie whole in
    the first part; :class:`GGUFFormatError` says what is wrong otherwise."""
    try:
        size = sum(part.stat().st_size for part in parts)
        with parts[0].open("rb") as handle:
            return _parse(path, size, handle)
    except (OSError, IndexError) as exc:
        raise GGUFFormatError(f"The parts of {path.name} cannot be read: {exc}") from None
    except _Truncated:
        raise GGUFFormatError(
            f"The header of {path.name} does not fit in its first part ({parts[0]})."
        ) from None


class GGUFHeaderIncomplete(GGUFFormatError):
    """The bytes given end inside the header: more of the file is needed to read it."""


def read_gguf_header(path: Path, size: int, handle: BinaryIO) -> GGUFMetadata:
    """The header of a GGUF file of ``size`` bytes, read from ``handle`` at the file's start:
    the first bytes of a file not yet downloaded, say (``path`` names it in messages).

    Raises :class:`GGUFHeaderIncomplete` when ``handle`` ends inside the header, and
    :class:`GGUFFormatError` as :func:`read_gguf_metadata` does for a file that is not a whole
    GGUF model of ``size`` bytes.
    """
    try:
        return _parse(path, size, handle)
    except _Truncated:
        raise GGUFHeaderIncomplete(
            f"The header of {path.name} goes on past what was read."
        ) from None


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self._handle = handle
        self._path = path

    def read(self, count: int) -> bytes:
        data = self._handle.read(count)
        if len(data) != count:
            raise _Truncated
        return data

    def unpack(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        return value

    def count(self, what: str) -> int:
        value = int(self.unpack("<Q"))
        if value > MAX_ITEMS:
            raise GGUFFormatError(f"{self._path} is corrupt: implausible {what} ({value}).")
        return value

    def string(self) -> str:
        length = int(self.unpack("<Q"))
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"{self._path} is corrupt: a string of {length} bytes.")
        return self.read(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = int(self.unpack("<Q"))
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"{self._path} is corrupt: a string of {length} bytes.")
        self._handle.seek(length, 1)

    def value(self, value_type: int) -> object:
        if value_type in _SCALARS:
            return self.unpack(_SCALARS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            return self.array()
        raise GGUFFormatError(f"{self._path} is corrupt: unknown value type {value_type}.")

    def array(self) -> object:
        item_type = int(self.unpack("<I"))
        length = self.count("array length")
        if length <= MAX_KEPT_ARRAY:
            return [self.value(item_type) for _ in range(length)]
        if item_type in _SCALARS:
            self._handle.seek(length * struct.calcsize(_SCALARS[item_type]), 1)
        elif item_type == _STRING:
            for _ in range(length):
                self.skip_string()
        else:
            for _ in range(length):
                self.value(item_type)
        return f"<array of {length}>"

    def position(self) -> int:
        return self._handle.tell()


def _parse(path: Path, size: int, handle: BinaryIO) -> GGUFMetadata:
    reader = _Reader(handle, path)
    magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise GGUFFormatError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not {GGUF_MAGIC!r})."
        )
    version = int(reader.unpack("<I"))
    if version not in SUPPORTED_VERSIONS:
        raise GGUFFormatError(f"{path} uses GGUF version {version}, which is not supported.")
    tensor_count = reader.count("tensor count")
    kv_count = reader.count("metadata count")
    values: dict[str, object] = {}
    for _ in range(kv_count):
        key = reader.string()
        values[key] = reader.value(int(reader.unpack("<I")))
    parameters, data_end = 0, 0
    for _ in range(tensor_count):
        name = reader.string()
        dims = [int(reader.unpack("<Q")) for _ in range(int(reader.unpack("<I")))]
        tensor_type = int(reader.unpack("<I"))
        offset = int(reader.unpack("<Q"))
        parameters += math.prod(dims)
        data_end = max(data_end, offset + _tensor_bytes(path, name, dims, tensor_type))
    alignment = values.get("general.alignment", DEFAULT_ALIGNMENT)
    align = alignment if isinstance(alignment, int) and alignment > 0 else DEFAULT_ALIGNMENT
    data_start = -(-reader.position() // align) * align
    if tensor_count and data_start + data_end > size:
        raise GGUFFormatError(
            f"{path} is truncated: its tensor data should reach byte {data_start + data_end}, "
            f"but the file has {size} bytes. It may be an incomplete download."
        )
    return GGUFMetadata(path, version, size, tensor_count, parameters, values)


def _tensor_bytes(path: Path, name: str, dims: list[int], tensor_type: int) -> int:
    """The bytes of a tensor's data, from its shape and type.

    A type missing from :data:`TENSOR_TYPES` (one newer than the table) counts as one byte, so
    only the tensor's start is checked against the file's end: a file llama.cpp can load is
    never refused for want of an entry here, and llama.cpp itself rejects a type it does not
    know.
    """
    sizing = TENSOR_TYPES.get(tensor_type)
    if sizing is None:
        return 1
    block_values, block_bytes = sizing
    row = dims[0] if dims else 1
    if row % block_values:
        raise GGUFFormatError(
            f"{path} is corrupt: tensor '{name}' has rows of {row} values, which its type "
            f"({tensor_type}) stores in blocks of {block_values}."
        )
    return row // block_values * block_bytes * math.prod(dims[1:])
