"""JSON answers constrained to a schema: the real SmolLM2 through llama.cpp's grammar, and
exact bad answers from a scripted model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.scripted import ScriptedModel
from purpose_desktop.models.structured import ModelOutputError, generate_json

ACTION = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 100},
        "tool": {"type": "string", "enum": ["calculator", "finish"]},
        "argument": {"type": "string", "maxLength": 40},
    },
    "required": ["thought", "tool", "argument"],
    "additionalProperties": False,
}
TASKS = ["What is 17 times 23?", "Say hello to the user.", "Add 2.5 and 4."]


def ask(task: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", "Reply with one JSON action: thought, tool, argument."),
        ChatMessage("user", task),
    ]


@pytest.mark.model
def test_smollm2_answers_match_the_schema_on_the_first_try() -> None:
    async def scenario() -> list[Any]:
        model = await LlamaProcessModel.start(
            "smollm2", LocalModelConfig(smollm2_path(), n_ctx=1024, n_threads=2)
        )
        try:
            results = []
            for task in TASKS:
                streamed: list[str] = []
                result = await generate_json(
                    model,
                    ask(task),
                    ACTION,
                    GenerationOptions(max_tokens=160, seed=3),
                    on_token=streamed.append,
                )
                assert "".join(streamed) == result.text
                results.append(result.value)
            return results
        finally:
            await model.aclose()

    for value in asyncio.run(scenario()):
        assert set(value) == {"thought", "tool", "argument"}
        assert value["tool"] in {"calculator", "finish"}
        assert len(value["argument"]) <= 40


@pytest.mark.model
def test_an_answer_cut_off_by_the_token_limit_is_reported() -> None:
    async def scenario() -> None:
        model = await LlamaProcessModel.start(
            "smollm2", LocalModelConfig(smollm2_path(), n_ctx=1024, n_threads=2)
        )
        try:
            with pytest.raises(ModelOutputError, match="cut off at the token limit") as caught:
                await generate_json(model, ask(TASKS[0]), ACTION, GenerationOptions(max_tokens=4))
            assert caught.value.text.startswith("{")
        finally:
            await model.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think the answer is 4", "not valid JSON"),
        (
            '{"thought": "x", "tool": "browser", "argument": ""}',
            r"at \$\.tool: 'browser' is not one of \['calculator', 'finish'\]",
        ),
        ('{"thought": "x", "tool": "finish"}', "'argument' is a required property"),
        ('["not", "an", "object"]', "is not of type 'object'"),
    ],
)
def test_answers_that_break_the_schema_are_refused_with_the_reason(
    reply: str, message: str
) -> None:
    model = ScriptedModel([reply])
    with pytest.raises(ModelOutputError, match=message) as caught:
        asyncio.run(generate_json(model, ask("x"), ACTION))
    assert caught.value.text == reply


def test_the_schema_reaches_the_backend() -> None:
    model = ScriptedModel(['{"thought": "t", "tool": "finish", "argument": "done"}'])
    result = asyncio.run(generate_json(model, ask("x"), ACTION))
    assert result.value["argument"] == "done"
    assert model.calls[0][1].json_schema == ACTION


def test_an_invalid_schema_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="The JSON schema is not valid"):
        asyncio.run(generate_json(ScriptedModel(["{}"]), ask("x"), {"type": "nonsense"}))


def test_a_raw_line_break_inside_a_string_is_accepted() -> None:
    # llama.cpp's JSON grammar lets control characters into strings; small models use them.
    model = ScriptedModel(['{"thought": "line one\nline two", "tool": "finish", "argument": "a"}'])
    result = asyncio.run(generate_json(model, ask("x"), ACTION))
    assert result.value["thought"] == "line one\nline two"
