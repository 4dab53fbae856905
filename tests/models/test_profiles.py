"""Model profiles: which family a file belongs to, whether it follows instructions, and the
registry of well-known small models."""

from __future__ import annotations

from pathlib import Path

import pytest
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.families import family_for, is_instruction_tuned
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata
from purpose_desktop.models.registry import KNOWN_MODELS, known_model, matches_file


def metadata(name: str, file_name: str = "model.gguf", **values: object) -> GGUFMetadata:
    return GGUFMetadata(Path(file_name), 3, 0, 0, 0, {"general.name": name, **values})


def test_bundled_smollm2_is_instruction_tuned_and_gemma_270m_is_a_base_model(
    shared_models_dir: Path,
) -> None:
    smollm2 = read_gguf_metadata(smollm2_path())
    gemma = read_gguf_metadata(gemma3_path(shared_models_dir))
    assert is_instruction_tuned(smollm2)
    assert not is_instruction_tuned(gemma)
    assert family_for(smollm2.architecture, smollm2.name).name == "smollm2"
    assert family_for(gemma.architecture, gemma.name).chat_format == "gemma"


@pytest.mark.parametrize(
    ("name", "file_name", "expected"),
    [
        ("Qwen3 0.6B", "Qwen3-0.6B-Q4_K_M.gguf", False),
        ("Llama 3.2 1B Instruct", "model.gguf", True),
        ("gemma-3-1b", "gemma-3-1b-it-Q4_K_M.gguf", True),
        ("Phi 4 Mini", "phi-4-mini-chat.gguf", True),
        ("Unit test", "titanic.gguf", False),  # "it" inside a word is not a marker
    ],
)
def test_instruction_markers_are_read_from_names(name: str, file_name: str, expected: bool) -> None:
    assert is_instruction_tuned(metadata(name, file_name)) is expected


def test_a_chat_template_means_instruction_tuned_whatever_the_name() -> None:
    assert is_instruction_tuned(metadata("Base", **{"tokenizer.chat_template": "{{ x }}"}))


def test_the_registry_names_the_well_known_small_models() -> None:
    keys = {model.key for model in KNOWN_MODELS}
    assert {
        "qwen3-0.6b",
        "qwen3-1.7b",
        "llama3.2-1b",
        "llama3.2-3b",
        "phi4-mini",
        "smollm2-135m",
        "gemma3-270m",
    } <= keys
    family_names = {"smollm2", "llama", "qwen", "gemma", "phi"}
    for model in KNOWN_MODELS:
        assert model.family_name in family_names
        assert model.context_length >= 2048
        assert model.ollama_name
    qwen = known_model("Qwen3-0.6B")
    assert qwen is not None and qwen.ollama_name == "qwen3:0.6b"
    assert known_model("no-such-model") is None


def test_registry_entries_recognise_their_gguf_files() -> None:
    smollm2 = known_model("smollm2-135m")
    qwen_small, qwen_large = known_model("qwen3-0.6b"), known_model("qwen3-1.7b")
    assert smollm2 is not None and qwen_small is not None and qwen_large is not None
    assert matches_file(smollm2, smollm2_path().name)
    assert matches_file(qwen_small, "Qwen3-0.6B-Q8_0.gguf")
    assert not matches_file(qwen_large, "Qwen3-0.6B-Q8_0.gguf")
    phi, llama = known_model("phi4-mini"), known_model("llama3.2-1b")
    assert phi is not None and llama is not None
    assert matches_file(phi, "Phi-4-mini-instruct-Q4_K_M.gguf")
    assert not matches_file(phi, "Phi-3-mini-4k-instruct-q4.gguf")
    assert matches_file(llama, "Llama-3.2-1B-Instruct-Q8_0.gguf")
    assert not matches_file(llama, "Llama-3.2-11B-Vision-Instruct.gguf")
