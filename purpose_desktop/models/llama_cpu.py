"""Keeps llama.cpp off its AMX code path, which crashes on some Intel CPUs.

A llama.cpp built on a CPU with AMX (Intel Xeon from Sapphire Rapids on) repacks a model's
weights into AMX buffers when it loads it, and the first generation after that can die with a
segmentation fault (ggml-org/llama.cpp#20824; with the bundled SmolLM2 it does every time). The
repacking is one of llama.cpp's "extra buffer types"; without them the weights stay in plain
CPU buffers and the same build runs them with its AVX code. llama-cpp-python's ``Llama`` has
no argument for this, so the defaults it starts from are changed for the whole process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_has_amx() -> bool:
    """Whether the llama.cpp that llama-cpp-python loaded was built with AMX code."""
    import llama_cpp

    info: bytes = llama_cpp.llama_print_system_info()
    return b"AMX_INT8 = 1" in info


def avoid_amx_repacking() -> bool:
    """Make every model this process loads from now on keep its weights out of AMX buffers.

    Does nothing where llama.cpp has no AMX code, so other CPUs keep their repacking. Returns
    whether models are kept out of AMX buffers (the build has AMX code). Call it before the
    first ``Llama``; calling it again changes nothing more. It turns off all of llama.cpp's
    extra buffer types, so on those CPUs the plain repacking of Q4_0 and Q4_K weights for AVX2
    is given up too.
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
