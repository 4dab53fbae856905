"""What a model's family supplies when neither the call nor the file says: sampling settings
and the context the model was trained for."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models import llama_process
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.families import family_for, trained_context
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamDone

# The model worker, with every line it reads from the app also written to a log.
LOGGING_WORKER = """
import sys

from purpose_desktop.models.llama_worker import main


class Tee:
    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def readline(self):
        line = self._stream.readline()
        self._log.write(line)
        self._log.flush()
        return line

    def __iter__(self):
        return iter(self.readline, "")


with open(sys.argv[1], "a", encoding="utf-8") as log:
    sys.stdin = Tee(sys.stdin, log)
    sys.exit(main())
"""


def received_by_worker(
    path: Path, calls: list[GenerationOptions], folder: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[LlamaProcessModel, list[dict[str, Any]]]:
    """Load ``path`` in a logging worker, make ``calls`` and return the model and the chat
    requests the worker read."""
    script, log = folder / "logging_worker.py", folder / "worker-stdin.jsonl"
    script.write_text(LOGGING_WORKER, encoding="utf-8")
    monkeypatch.setattr(
        llama_process, "worker_command", lambda: [sys.executable, str(script), str(log)]
    )

    async def scenario() -> LlamaProcessModel:
        config = LocalModelConfig(path, n_ctx=512, n_threads=2)
        model = await LlamaProcessModel.start(path.stem, config)
        try:
            for options in calls:
                events = [e async for e in model.stream_chat([ChatMessage("user", "Hi")], options)]
                assert isinstance(events[-1], StreamDone)
        finally:
            await model.aclose()
        return model

    model = asyncio.run(scenario())
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return model, [line for line in lines if line.get("op") == "chat"]


@pytest.mark.model
@pytest.mark.parametrize("model_name", ["smollm2", "gemma"])
def test_unset_sampling_reaches_the_model_as_its_family_default(
    model_name: str, tmp_path: Path, shared_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = smollm2_path() if model_name == "smollm2" else gemma3_path(shared_models_dir)
    unset = GenerationOptions(max_tokens=4, seed=1)
    chosen = GenerationOptions(max_tokens=4, temperature=0.75, top_p=0.5, seed=1)
    model, chats = received_by_worker(path, [unset, chosen], tmp_path, monkeypatch)
    metadata = read_gguf_metadata(path)
    family = family_for(metadata.architecture, metadata.name)
    assert model.family == family and family.name == model_name
    defaulted, explicit = chats
    assert (defaulted["temperature"], defaulted["top_p"]) == (family.temperature, family.top_p)
    assert (explicit["temperature"], explicit["top_p"]) == (0.75, 0.5)


@pytest.mark.parametrize("architecture", ["llama", "qwen3", "gemma3", "phi3", "mamba"])
def test_every_family_has_usable_defaults(architecture: str) -> None:
    family = family_for(architecture, "Some Model")
    assert 0.0 < family.temperature <= 1.0
    assert 0.0 < family.top_p <= 1.0
    assert family.context_length >= 2048


def header(architecture: str, name: str, **values: object) -> GGUFMetadata:
    return GGUFMetadata(
        Path("model.gguf"),
        3,
        0,
        0,
        0,
        {"general.architecture": architecture, "general.name": name, **values},
    )


@pytest.mark.parametrize(
    ("architecture", "name", "context"),
    [
        ("qwen3", "Qwen3 0.6B", 32768),
        ("gemma3", "Gemma 3 1B", 8192),
        ("phi3", "Phi 4 Mini", 4096),
        ("llama", "Llama 3.2 1B", 8192),
        ("llama", "SmolLM2 360M", 8192),
        ("mamba", "M", 2048),
    ],
)
def test_the_family_context_stands_in_when_the_file_does_not_say(
    architecture: str, name: str, context: int
) -> None:
    assert trained_context(header(architecture, name)) == context
    # What the file says always wins.
    said = header(architecture, name, **{f"{architecture}.context_length": 1234})
    assert trained_context(said) == 1234


def test_a_file_without_its_context_length_is_held_to_its_familys(tmp_path: Path) -> None:
    # SmolLM2 with its context key renamed (same length, so the file stays valid GGUF).
    data = smollm2_path().read_bytes()
    assert data.count(b"llama.context_length") == 1
    path = tmp_path / "no-context.gguf"
    path.write_bytes(data.replace(b"llama.context_length", b"llama.context_lengtX"))
    metadata = read_gguf_metadata(path)
    assert metadata.context_length is None
    LocalModelConfig(path, n_ctx=8192, n_threads=2).validate(metadata)
    with pytest.raises(
        ModelError,
        match=r"Context size 8193 is larger than .* allows "
        r"\(8192, its family's; the file does not say\)",
    ):
        LocalModelConfig(path, n_ctx=8193, n_threads=2).validate(metadata)
