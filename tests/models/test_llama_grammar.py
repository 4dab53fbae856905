"""Grammars for JSON schemas: compact whatever the lengths, and every tool's action schema
generated under one by each bundled model in its real worker process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psutil
import pytest
from purpose_desktop.engine.loop.action_schema import action_schema
from purpose_desktop.engine.loop.parsing import parse_action
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.llama_grammar import GrammarRefused, Grammars, schema_grammar
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamDone, TokenDelta


def text_schema(max_length: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": max_length}},
        "required": ["text"],
        "additionalProperties": False,
    }


def test_a_grammar_does_not_grow_with_a_strings_max_length() -> None:
    short, long = schema_grammar(text_schema(40)), schema_grammar(text_schema(40_000))
    # The same rules, one bound written with three more digits.
    assert len(long) - len(short) == 3
    assert "{0,40000}" in long


def test_arrays_and_optional_keys_are_bounded_without_nesting() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "maxLength": 20},
                "minItems": 1,
                "maxItems": 500,
            },
            "note": {"type": "string"},
        },
        "required": ["tags"],
        "additionalProperties": False,
    }
    grammar = schema_grammar(schema)
    assert "{0,499}" in grammar  # the items after the first, each after a comma
    assert grammar.count("(") < 40


@pytest.fixture(scope="module")
def vocab_grammars() -> Grammars:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_path()), vocab_only=True, verbose=False)
    return Grammars(llm._model.vocab)


@pytest.mark.model
def test_llama_cpp_parses_the_grammar_of_every_tool_and_all_of_them(
    vocab_grammars: Grammars,
) -> None:
    for tools in [(tool,) for tool in BUILTIN_TOOLS] + [BUILTIN_TOOLS]:
        schema = action_schema(tools, teammates=["helper"])
        assert vocab_grammars.for_schema(schema) is vocab_grammars.for_schema(schema)


@pytest.mark.model
def test_a_grammar_llama_cpp_cannot_parse_is_refused_before_it_reaches_a_sampler(
    vocab_grammars: Grammars, monkeypatch: pytest.MonkeyPatch
) -> None:
    from purpose_desktop.models import llama_grammar

    monkeypatch.setattr(llama_grammar, "schema_grammar", lambda schema: "root ::= (")
    with pytest.raises(GrammarRefused, match="could not build a grammar"):
        vocab_grammars.for_schema(text_schema(10))


async def act_under_grammar(model: LlamaProcessModel, tools: tuple[Tool, ...]) -> str:
    schema = action_schema(tools, teammates=["helper"])
    messages = [
        ChatMessage("system", "Reply with one JSON action."),
        ChatMessage("user", "Task: What is 17 * 23?"),
    ]
    options = GenerationOptions(max_tokens=48, temperature=0.0, json_schema=schema)
    pieces: list[str] = []
    done = None
    async for event in model.stream_chat(messages, options):
        if isinstance(event, TokenDelta):
            pieces.append(event.text)
        elif isinstance(event, StreamDone):
            done = event
    assert done is not None and done.usage.completion_tokens > 0
    text = "".join(pieces)
    assert text.lstrip().startswith('{ "tool": "') or text.lstrip().startswith('{"tool": "')
    if done.finish_reason == "stop":  # a whole answer: one of the offered actions
        action = parse_action(text, tools, ["helper"]).action
        assert action.tool in {*(t.name for t in tools), "finish", "delegate"}
    return text


@pytest.mark.model
@pytest.mark.parametrize("which", ["smollm2", "gemma3"])
def test_every_tool_alone_and_all_together_run_under_the_grammar(
    which: str, shared_models_dir: Path
) -> None:
    path = smollm2_path() if which == "smollm2" else gemma3_path(shared_models_dir)

    async def scenario() -> None:
        model = await LlamaProcessModel.start(
            which, LocalModelConfig(path, n_ctx=2048, n_threads=2)
        )
        try:
            for tools in [(tool,) for tool in BUILTIN_TOOLS] + [BUILTIN_TOOLS]:
                await act_under_grammar(model, tools)
            # The worker lived through all of them.
            assert psutil.Process(model.pid).status() != psutil.STATUS_ZOMBIE
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_the_schema_text_is_what_the_grammar_is_kept_by() -> None:
    first = schema_grammar(text_schema(10))
    assert schema_grammar(json.loads(json.dumps(text_schema(10)))) is first
