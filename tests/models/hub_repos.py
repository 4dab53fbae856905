"""The repositories the stand-in Hub serves in the tests of getting models: the bundled
SmolLM2 file, and a repository of it at two "quantisations" (the second a copy with bytes
after its data, so it is a larger, whole GGUF file) beside a shard that cannot be used alone.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.models.bundled import smollm2_path
from tests.support.fake_hub import FakeHub, HubRepo, running_fake_hub

SMOL_REPO = "stand-in/SmolLM2-135M-Instruct-GGUF"
SMOL_FILE = "SmolLM2-135M-Instruct-Q4_1.gguf"
SIZES_REPO = "stand-in/SmolLM2-sizes-GGUF"
SMALL_FILE = "smollm2-135m-Q4_1.gguf"
LARGE_FILE = "quants/smollm2-135m-Q8_0.gguf"
SHARD_FILE = "smollm2-135m-F16-00001-of-00002.gguf"
TEXT_REPO = "stand-in/SmolLM2-135M-Instruct"
PADDING = 8 * 2**20


def unreachable_endpoint() -> str:
    """The address of a Hub that is not there: a port of 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def padded_copy(folder: Path) -> Path:
    """The bundled SmolLM2 with 8 MiB after its data: still a whole GGUF model."""
    copy = Path(shutil.copy(smollm2_path(), folder / "padded.gguf"))
    with copy.open("ab") as handle:
        handle.write(b"\0" * PADDING)
    return copy


@pytest.fixture(scope="module")
def fake_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    """The stand-in Hub, one per test module."""
    padded = padded_copy(tmp_path_factory.mktemp("hub-files"))
    repos = [
        HubRepo(SMOL_REPO, {SMOL_FILE: smollm2_path(), "README.md": smollm2_path()}, 5000, 40),
        HubRepo(
            SIZES_REPO,
            {SMALL_FILE: smollm2_path(), LARGE_FILE: padded, SHARD_FILE: smollm2_path()},
            700,
            3,
        ),
        # Weights in another format only: the search for GGUF models leaves it out.
        HubRepo(TEXT_REPO, {"model.safetensors": smollm2_path()}, 90000, 500, ("safetensors",)),
    ]
    with running_fake_hub(repos) as hub:
        yield hub


@pytest.fixture
def clean_hub(fake_hub: FakeHub) -> Iterator[FakeHub]:
    """The module's stand-in with its switches off and its request log empty."""
    fake_hub.requests.clear()
    fake_hub.wrong_sha256.clear()
    fake_hub.chunk_delay = 0.0
    yield fake_hub
    fake_hub.wrong_sha256.clear()
    fake_hub.chunk_delay = 0.0
