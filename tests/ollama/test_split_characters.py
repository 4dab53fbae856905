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

from .conftest import FakeOllama

pytestmark = pytest.mark.model

# SmolLM2 answers this with characters of two, three and four bytes (é, 日本語, 🙂).
REPEAT = [ChatMessage("user", "Repeat exactly: 日本語のテキスト 🙂🚀 café naïve")]


def test_a_character_split_across_chunks_arrives_whole(fake_ollama: FakeOllama) -> None:
    fake_ollama.set_faults(split_utf8=True)

    async def scenario() -> list[str]:
        model = OllamaChatModel(fake_ollama.model, num_ctx=1024, host=fake_ollama.url)
        try:
            options = GenerationOptions(max_tokens=40, temperature=0.0, seed=1)
            return [e.text async for e in model.stream_chat(REPEAT, options)
                    if isinstance(e, TokenDelta)]
        finally:
            await model.aclose()

    pieces = asyncio.run(scenario())
    record = fake_ollama.requests()[-1]
    assert record["faults"] == {"split_utf8": True} and record["outcome"] == "completed"
    # The stand-in did cut characters in two on the wire...
    assert record["split_lines"] > 0
    assert any(ord(character) > 0x3000 for character in "".join(pieces))
    # ...and the client put every one of them back together.
    assert "".join(pieces) == "".join(record["pieces"])
    assert not any("\ufffd" in piece for piece in pieces)
