"""The worker's grammar sampling checks the chosen token before filtering the vocabulary: greedy
answers are those of llama-cpp-python's own grammar sampling, token for token, on both bundled
models; a token the grammar refuses is replaced by one it allows; sampled answers keep to the
grammar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.loop.action_schema import action_schema
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.llama_grammar import Grammars

pytestmark = pytest.mark.model

NESTED = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 40},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["title", "count", "tags"],
    "additionalProperties": False,
}
TASKS = ("What is 17 * 23?", "Write hello into notes.txt.", "Name three primary colours.")


def messages(task: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Answer with one JSON object."},
        {"role": "user", "content": task},
    ]


@pytest.fixture(scope="module", params=["smollm2", "gemma3"])
def models(request: pytest.FixtureRequest, shared_models_dir: Path) -> Iterator[tuple[Any, Any]]:
    """llama-cpp-python's own ``Llama`` and the worker's, on the same bundled model."""
    import llama_cpp
    from purpose_desktop.models.llama_cpu import prepare_llama_cpp
    from purpose_desktop.models.worker_llama import WorkerLlama

    prepare_llama_cpp()

    path = smollm2_path() if request.param == "smollm2" else gemma3_path(shared_models_dir)
    settings: dict[str, Any] = {
        "model_path": str(path),
        "n_ctx": 1024,
        "n_threads": 2,
        "verbose": False,
    }
    theirs = llama_cpp.Llama(**settings)
    ours = WorkerLlama(prompt_cache_bytes=0, **settings)
    yield theirs, ours
    theirs.close()
    ours.close()


def answer(llm: Any, grammars: Grammars, schema: dict[str, Any], task: str, **options: Any) -> str:
    reply = llm.create_chat_completion(
        messages=messages(task), grammar=grammars.for_schema(schema), **options
    )
    return str(reply["choices"][0]["message"]["content"])


@pytest.mark.parametrize("schema", [action_schema(BUILTIN_TOOLS), NESTED], ids=["action", "nested"])
def test_greedy_answers_are_those_of_grammar_sampling_over_the_whole_vocabulary(
    models: tuple[Any, Any], schema: dict[str, Any]
) -> None:
    theirs, ours = models
    grammars = Grammars(ours._model.vocab)
    for task in TASKS:
        expected = answer(theirs, grammars, schema, task, max_tokens=64, temperature=0.0)
        assert answer(ours, grammars, schema, task, max_tokens=64, temperature=0.0) == expected


def test_a_token_the_grammar_refuses_is_replaced_by_one_it_allows(
    models: tuple[Any, Any],
) -> None:
    _, ours = models
    grammars = Grammars(ours._model.vocab)
    # Asked for a sum, the model's own first token is a digit or a word, never this string.
    schema = {"type": "string", "enum": ["xylophone quokka"]}
    text = answer(ours, grammars, schema, "What is 2 + 2?", max_tokens=16, temperature=0.0)
    assert json.loads(text) == "xylophone quokka"


def test_sampled_answers_keep_to_the_grammar(models: tuple[Any, Any]) -> None:
    _, ours = models
    grammars = Grammars(ours._model.vocab)
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    for seed in range(5):
        text = answer(
            ours, grammars, schema, "Pick a colour.", max_tokens=32, temperature=1.0, seed=seed
        )
        assert json.loads(text)["colour"] in {"red", "green", "blue"}
