"""Pulling a model into Ollama, with its progress, for the "Find models" dialog and
``purpose-desktop models pull ollama:NAME``.

Ollama downloads the model itself; the app asks for it (``POST /api/pull``, streamed, through
:meth:`OllamaServer.pull`) and passes on each line of progress. Cancelling the awaiting task
closes the connection, which stops the pull; Ollama keeps what it fetched and goes on from
there next time.
"""

from __future__ import annotations

from collections.abc import Callable

from purpose_desktop.errors import ModelError
from purpose_desktop.models.ollama_backend import DEFAULT_TIMEOUT, OllamaServer, PullProgress
from purpose_desktop.models.references import OLLAMA_SCHEME


def ollama_model_name(name: str) -> str:
    """``name`` as Ollama knows it (an ``ollama:`` reference's prefix taken off);
    :class:`ModelError` when it is empty."""
    bare = name.strip().removeprefix(OLLAMA_SCHEME).strip()
    if not bare:
        raise ModelError("Name the Ollama model to pull, such as 'qwen3:0.6b'.")
    return bare


async def pull_ollama_model(
    name: str,
    on_progress: Callable[[PullProgress], None],
    *,
    host: str | None = None,
    max_silence: float = DEFAULT_TIMEOUT,
) -> str:
    """Have the Ollama at ``host`` (``None``: ``$OLLAMA_HOST`` or this computer) pull
    ``name``, calling ``on_progress`` with each line of progress; returns the name pulled.

    ``max_silence`` is the longest Ollama may stay silent, in seconds. Raises
    :class:`ModelError` saying why when Ollama is not running, has no such model to pull, or
    reports an error.
    """
    model = ollama_model_name(name)
    server = OllamaServer(host, timeout=max_silence)
    try:
        async for line in server.pull(model):
            on_progress(line)
    finally:
        await server.aclose()
    return model
