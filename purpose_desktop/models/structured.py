"""Structured answers: JSON constrained to a schema, parsed and validated.

Backends constrain what they can (llama.cpp compiles the schema to a grammar, Ollama and
OpenAI-compatible servers take it as a response format) but silently drop schema features
they do not support, so the answer is always parsed and checked against the schema here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    TokenDelta,
    Usage,
)

TokenCallback = Callable[[str], None]


class ModelOutputError(ModelError):
    """The model answered, but not with JSON that matches the schema."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


@dataclass(frozen=True)
class StructuredOutput:
    value: Any
    text: str
    usage: Usage


def validator_for(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator for ``schema``; :class:`ModelError` if the schema itself is invalid.

    Validators are kept by the schema's content: checking a schema costs milliseconds, and the
    agent loop asks for the same few schemas on every step.
    """
    # Key order is kept: messages list properties in the order the schema declares them.
    return _validator(json.dumps(schema))


@functools.lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ModelError(f"The JSON schema is not valid: {exc.message}") from None
    return Draft202012Validator(schema)


def parse_structured(text: str, validator: Draft202012Validator, finish_reason: str) -> Any:
    """The value ``text`` holds, checked against the schema; :class:`ModelOutputError` if not."""
    try:
        # strict=False lets a raw control character (a tab or newline) stand inside a string:
        # llama.cpp's JSON grammar allows them there, and small models sample them.
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        cut = " The answer was cut off at the token limit." if finish_reason == "length" else ""
        raise ModelOutputError(
            f"The model's answer is not valid JSON ({exc.msg} at character {exc.pos}).{cut}",
            text,
        ) from None
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "$" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.path
        )
        raise ModelOutputError(
            f"The model's answer does not match the schema at {where}: {error.message}", text
        )
    return value


async def generate_json(
    model: ChatModel,
    messages: Sequence[ChatMessage],
    schema: Mapping[str, Any],
    options: GenerationOptions | None = None,
    on_token: TokenCallback | None = None,
) -> StructuredOutput:
    """Ask ``model`` for JSON matching ``schema``, streaming its tokens to ``on_token``.

    Raises :class:`ModelOutputError` (with the raw text) when the answer is not valid JSON or
    does not match the schema, and :class:`ModelError` when the schema itself is invalid.
    """
    validator = validator_for(schema)
    pieces: list[str] = []
    usage = Usage(0, 0, 0.0)
    finish_reason = "stop"
    constrained = replace(options or GenerationOptions(), json_schema=schema)
    async for item in model.stream_chat(messages, constrained):
        if isinstance(item, TokenDelta):
            pieces.append(item.text)
            if on_token is not None:
                on_token(item.text)
        elif isinstance(item, StreamDone):
            usage, finish_reason = item.usage, item.finish_reason
    text = "".join(pieces)
    return StructuredOutput(parse_structured(text, validator, finish_reason), text, usage)
