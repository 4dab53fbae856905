"""One llama.cpp build for every x86-64 CPU: the worker loads the CPU code that suits the CPU it
runs on, and a command put in front of the worker (here an emulator of older CPUs) is used."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
from pathlib import Path

import psutil
import pytest
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.llama_cpu import variant_folders
from purpose_desktop.models.llama_process import LlamaProcessModel
from purpose_desktop.models.messages import GenerationOptions, StreamDone
from purpose_desktop.models.worker_entry import WORKER_PREFIX_ENV
from tests.support.llama import collect, config

pytestmark = pytest.mark.model

FEW_TOKENS = GenerationOptions(max_tokens=4, temperature=0.0, seed=1)
REQUIRE_QEMU_ENV = "PURPOSE_DESKTOP_REQUIRE_QEMU"
"""Set in CI, where the emulator is installed: without it the emulated test fails, never
skips unseen."""


def _variants() -> set[str]:
    return {
        path.name.split("-", 2)[2].split(".", 1)[0]
        for folder in variant_folders()
        for path in folder.glob("libggml-cpu-*")
    }


async def _answer(**environment: str) -> tuple[LlamaProcessModel, StreamDone]:
    """SmolLM2's short answer from a worker started with ``environment`` set."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()), load_timeout=600)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    events = await collect(model, FEW_TOKENS)
    done = events[-1]
    assert isinstance(done, StreamDone)
    return model, done


def test_the_build_carries_cpu_code_for_old_and_new_x86_64_cpus() -> None:
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the CPU variants are built for x86-64")
    variants = _variants()
    # SSE4.2 alone (Nehalem, 2008), AVX2 (Haswell) and AVX-512 (Skylake-X) among them.
    assert {"x64", "sse42", "haswell", "skylakex"} <= variants, variants


def test_the_worker_runs_the_cpu_code_that_suits_this_cpu() -> None:
    async def scenario() -> None:
        model, done = await _answer()
        try:
            assert done.usage.completion_tokens > 0
            assert model.cpu_variant in _variants()
            if "avx2" in _cpu_flags():
                # Never the plain SSE code on a CPU that has AVX2.
                assert model.cpu_variant not in {"x64", "sse42", "sandybridge", "ivybridge"}
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_the_worker_prefix_is_put_in_front_of_the_worker() -> None:
    async def scenario() -> None:
        model, done = await _answer(**{WORKER_PREFIX_ENV: "nice -n 7"})
        try:
            assert done.usage.completion_tokens > 0
            assert psutil.Process(model.pid).nice() == os.nice(0) + 7
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_on_an_emulated_cpu_without_avx_the_worker_runs_its_sse_code() -> None:
    """Nehalem (2008) has SSE4.2 but no AVX: code built for this machine's CPU would die there
    of an illegal instruction."""
    emulator = shutil.which("qemu-x86_64")
    if emulator is None:
        if os.environ.get(REQUIRE_QEMU_ENV) == "1":
            pytest.fail(f"{REQUIRE_QEMU_ENV}=1 but qemu-x86_64 is not installed", pytrace=False)
        pytest.skip("qemu-x86_64 (Debian's qemu-user) is not installed")

    async def scenario() -> None:
        model, done = await _answer(**{WORKER_PREFIX_ENV: f"{emulator} -cpu Nehalem"})
        try:
            assert done.usage.completion_tokens > 0
            assert model.cpu_variant == "sse42"
        finally:
            await model.aclose()

    asyncio.run(scenario())


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()
