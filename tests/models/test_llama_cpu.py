"""The AMX work-around: weights stay out of AMX buffers only where llama.cpp has AMX code."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.llama_cpu import build_has_amx
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig

pytestmark = pytest.mark.process

# Each script runs in a process of its own: the change lasts for the process that makes it.
ON_THIS_BUILD = """
import llama_cpp.llama_cpp as low_level
from purpose_desktop.models.llama_cpu import avoid_amx_repacking, build_has_amx
changed = avoid_amx_repacking()
wrapped = low_level.llama_model_default_params
again = avoid_amx_repacking()
print(build_has_amx(), changed, again, wrapped is low_level.llama_model_default_params,
      low_level.llama_model_default_params().use_extra_bufts)
"""

AS_IF_WITH_AMX = """
import llama_cpp.llama_cpp as low_level
from purpose_desktop.models import llama_cpu
def fields(params):
    return {name: getattr(params, name) for name, _ in params._fields_
            if isinstance(getattr(params, name), (bool, int, float))}
before = fields(low_level.llama_model_default_params())
llama_cpu.build_has_amx = lambda: True
assert llama_cpu.avoid_amx_repacking() and llama_cpu.avoid_amx_repacking()
after = fields(low_level.llama_model_default_params())
# Only the extra buffer types change; the rest stay llama.cpp's own defaults.
print(before["use_extra_bufts"], after["use_extra_bufts"], len(llama_cpu._llama_defaults),
      {k: v for k, v in before.items() if k != "use_extra_bufts"}
      == {k: v for k, v in after.items() if k != "use_extra_bufts"})
"""


def run(script: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.split()


def test_extra_buffers_are_off_exactly_when_the_build_has_amx() -> None:
    has_amx, changed, again, kept, extra_buffers = run(ON_THIS_BUILD)
    assert changed == again == has_amx
    assert kept == "True"  # a second call does not wrap the defaults twice
    assert extra_buffers == str(has_amx == "False")


def test_with_amx_the_defaults_lose_their_extra_buffers_once() -> None:
    assert run(AS_IF_WITH_AMX) == ["True", "False", "1", "True"]


@pytest.mark.model
def test_the_log_says_when_a_model_keeps_out_of_amx_buffers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        model = await LlamaProcessModel.start(
            "smollm2", LocalModelConfig(smollm2_path(), n_ctx=512, n_threads=2)
        )
        await model.aclose()

    with caplog.at_level(logging.INFO, logger="purpose_desktop.models.llama_process"):
        asyncio.run(scenario())
    assert "Model smollm2 ready" in caplog.text
    assert ("keeps its weights out of AMX buffers" in caplog.text) == build_has_amx()
