"""The AMX work-around: weights stay out of AMX buffers only where llama.cpp has AMX code."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import llama_cpp.llama_cpp as low_level
from purpose_desktop.models.llama_cpu import avoid_amx_repacking, build_has_amx
changed = avoid_amx_repacking()
wrapped = low_level.llama_model_default_params
again = avoid_amx_repacking()
print(build_has_amx(), changed, again, wrapped is low_level.llama_model_default_params,
      low_level.llama_model_default_params().use_extra_bufts)
"""


def test_extra_buffers_are_off_exactly_when_the_build_has_amx() -> None:
    # A process of its own: the change lasts for the process that makes it.
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    has_amx, changed, again, kept, extra_buffers = result.stdout.split()
    assert changed == again == has_amx
    assert kept == "True"  # a second call does not wrap the defaults twice
    assert extra_buffers == str(has_amx == "False")
