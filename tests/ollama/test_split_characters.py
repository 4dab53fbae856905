"""Ollama's stream read back whole when the bytes of a character arrive in two pieces.

A multi-byte character can straddle two reads from the socket. The stand-in sends each
streamed line in two HTTP chunks, a moment apart, cut after the first byte of its first
multi-byte character; the answer must still come through as whole characters.
"""

from __future__ import annotations

import asyncio

import pytest
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, TokenDelta
from purpose_desktop.models.ollama_backend import OllamaChatModel
from tests.support.multibyte import MULTIBYTE_QUESTIONS, has_multibyte

from .conftest import FakeOllama

pytestmark = pytest.mark.model


def test_a_character_split_across_chunks_arrives_whole(fake_ollama: FakeOllama) -> None:
    async def ask(text: str) -> list[str]:
        model = OllamaChatModel(fake_ollama.model, num_ctx=1024, host=fake_ollama.url)
        try:
            options = GenerationOptions(max_tokens=40, temperature=0.0, seed=1)
            return [
                e.text
                async for e in model.stream_chat([ChatMessage("user", text)], options)
                if isinstance(e, TokenDelta)
            ]
        finally:
            await model.aclose()

    for text in MULTIBYTE_QUESTIONS:
        fake_ollama.set_faults(split_utf8=True)  # for the next request
        pieces = asyncio.run(ask(text))
        if has_multibyte("".join(pieces)):
            break
    record = fake_ollama.requests()[-1]
    assert record["faults"] == {"split_utf8": True} and record["outcome"] == "completed"
    assert has_multibyte("".join(pieces))
    # The stand-in did cut characters in two on the wire...
    assert record["split_lines"] > 0
    # ...and the client put every one of them back together.
    assert "".join(pieces) == "".join(record["pieces"])
    assert not any("\ufffd" in piece for piece in pieces)
