"""Sets up llama.cpp's CPU code in a process, before its first model.

Two things, both done by :func:`prepare_llama_cpp`:

- **The CPU variant.** A portable llama.cpp (built with ``GGML_BACKEND_DL`` and
  ``GGML_CPU_ALL_VARIANTS``, as the project's setup and bundle build it) keeps its CPU code in
  one loadable library per instruction set (``libggml-cpu-sse42.so``, ``-haswell``,
  ``-skylakex``, ...), so one build runs on any x86-64 CPU and still uses AVX2 or AVX-512 where
  the CPU has them. Nothing loads them by itself: llama.cpp refuses to load a model while no
  backend is registered. The libraries are looked for beside llama-cpp-python's own
  (``llama_cpp/lib``, where the bundle keeps them) and in ``site-packages/bin``, where pip puts
  them. A llama.cpp built the usual way has its CPU code built in, and this changes nothing.
- **AMX.** A llama.cpp with AMX code (Intel Xeon from Sapphire Rapids on) repacks a model's
  weights into AMX buffers when it loads it, and the first generation after that can die with a
  segmentation fault (ggml-org/llama.cpp#20824; with the bundled SmolLM2 it does every time).
  The repacking is one of llama.cpp's "extra buffer types"; without them the weights stay in
  plain CPU buffers and the same build runs them with its AVX code. llama-cpp-python's
  ``Llama`` has no argument for this, so the defaults it starts from are changed for the whole
  process.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.errors import ModelError

_VARIANT_PREFIX = "libggml-cpu-" if sys.platform != "win32" else "ggml-cpu-"


@dataclass(frozen=True)
class CpuSetup:
    """What :func:`prepare_llama_cpp` found and did."""

    variant: str | None
    """The CPU variant llama.cpp chose for this CPU (``haswell``, ``sse42``...), or None for a
    build with its CPU code built in (or where it cannot be told)."""
    amx_avoided: bool
    """Whether models are kept out of AMX buffers (the build has AMX code)."""


def prepare_llama_cpp() -> CpuSetup:
    """Make this process ready to load models: the CPU variant loaded, AMX avoided.

    Call it before the first ``Llama``; calling it again changes nothing more. Raises
    :class:`ModelError` when the build keeps its CPU code in variants and none can be found.
    """
    _load_cpu_variants()
    return CpuSetup(variant=loaded_cpu_variant(), amx_avoided=avoid_amx_repacking())


def variant_folders() -> list[Path]:
    """Where a portable build's CPU variants may be: the bundle's place, then pip's."""
    import llama_cpp

    package = Path(llama_cpp.__file__).resolve().parent
    return [package / "lib", package.parent / "bin"]


def _load_cpu_variants() -> None:
    from llama_cpp import llama_cpp as low_level

    library = low_level._lib
    library.ggml_backend_reg_count.restype = ctypes.c_size_t
    if library.ggml_backend_reg_count() > 0:
        return  # the CPU code is built in, or the variants are loaded already
    library.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    library.ggml_backend_load_all_from_path.restype = None
    folders = [folder for folder in variant_folders() if any(folder.glob(f"{_VARIANT_PREFIX}*"))]
    for folder in folders:
        library.ggml_backend_load_all_from_path(str(folder).encode())
        if library.ggml_backend_reg_count() > 0:
            return
    looked = ", ".join(str(folder) for folder in variant_folders())
    raise ModelError(
        "llama.cpp's CPU code was not found: this llama-cpp-python keeps it in loadable "
        f"variants ({_VARIANT_PREFIX}*), and none that runs on this CPU is in {looked}. "
        "Reinstall llama-cpp-python (see the README's setup)."
    )


def loaded_cpu_variant() -> str | None:
    """The CPU variant library this process has loaded (from ``/proc/self/maps``), if any."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    for line in maps.read_text(encoding="utf-8", errors="replace").splitlines():
        name = line.rsplit("/", 1)[-1]
        if name.startswith(_VARIANT_PREFIX):
            return name.removeprefix(_VARIANT_PREFIX).split(".", 1)[0]
    return None


def build_has_amx() -> bool:
    """Whether the llama.cpp that llama-cpp-python loaded has AMX code (for a portable build:
    the variant loaded for this CPU)."""
    import llama_cpp

    info: bytes = llama_cpp.llama_print_system_info()
    return b"AMX_INT8 = 1" in info


def avoid_amx_repacking() -> bool:
    """Make every model this process loads from now on keep its weights out of AMX buffers.

    Does nothing where llama.cpp has no AMX code, so other CPUs keep their repacking. Returns
    whether models are kept out of AMX buffers (the build has AMX code). Part of
    :func:`prepare_llama_cpp`, after the CPU variant is loaded (a portable build's features
    are those of its variant). It turns off all of llama.cpp's extra buffer types, so on
    those CPUs the plain repacking of Q4_0 and Q4_K weights for AVX2 is given up too.
    """
    if not build_has_amx():
        return False
    import llama_cpp.llama_cpp as low_level

    defaults: Callable[[], Any] = low_level.llama_model_default_params
    if defaults is not _without_extra_buffers:
        _llama_defaults.append(defaults)
        low_level.llama_model_default_params = _without_extra_buffers
    return True


_llama_defaults: list[Callable[[], Any]] = []
"""llama-cpp-python's own defaults function, once it has been replaced."""


def _without_extra_buffers() -> Any:
    params = _llama_defaults[0]()
    params.use_extra_bufts = False
    return params
