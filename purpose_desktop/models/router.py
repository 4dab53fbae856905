"""One provider for every backend: a team file's model reference says where the model is.

``bundled:NAME`` and GGUF paths run locally through llama.cpp; ``ollama:NAME`` asks Ollama;
``server:SERVER/MODEL`` asks an OpenAI-compatible server from the settings; ``auto:KEY`` looks a
well-known model up in the registry and takes the first place that has it: a local file, then
Ollama, then the configured servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import ServerSetting
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel, ModelStatus, ModelTraits, StatusCallback
from purpose_desktop.models.families import is_instruction_tuned
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.probe import find_auto_model
from purpose_desktop.models.references import (
    AUTO_SCHEME,
    OLLAMA_SCHEME,
    SERVER_SCHEME,
    resolve_model_file,
)

if TYPE_CHECKING:
    from purpose_desktop.models.ollama_backend import OllamaChatModel
    from purpose_desktop.models.openai_backend import OpenAIChatModel

log = logging.getLogger(__name__)


class ModelRouter:
    """Hands out the model a reference names, from whichever backend holds it.

    Remote models keep one client each, with the same context size on every call (Ollama
    reloads a model whose ``num_ctx`` changes). Call :meth:`aclose` at shutdown.
    """

    def __init__(
        self,
        pool: LocalModelPool,
        models_dir: Path,
        *,
        n_ctx: int,
        ollama_host: str | None = None,
        servers: Sequence[ServerSetting] = (),
    ) -> None:
        self.pool = pool
        self._models_dir = models_dir
        self._n_ctx = n_ctx
        self._ollama_host = ollama_host
        self._servers = {server.name: server for server in servers}
        self._remote: dict[str, ChatModel] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []  # the remote clients' aclose
        self._opening = asyncio.Lock()
        self._auto: dict[str, str] = {}  # auto: keys already found, so probing happens once

    def configure_remote(self, ollama_host: str | None, servers: Sequence[ServerSetting]) -> None:
        """Use this Ollama host and these servers for models opened from now on (the
        settings changed); a model already handed out keeps the server it was opened on."""
        self._ollama_host = ollama_host
        self._servers = {server.name: server for server in servers}
        self._remote.clear()  # their clients are still closed by aclose
        self._auto.clear()

    @contextlib.asynccontextmanager
    async def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AsyncIterator[ChatModel]:
        """The model ``reference`` names; raises :class:`ModelError` (after reporting
        "unavailable") if it cannot be had."""
        if reference.startswith(AUTO_SCHEME):
            reference = await self._find_auto(reference, on_status)
        if reference.startswith((OLLAMA_SCHEME, SERVER_SCHEME)):
            yield await self._remote_model(reference, on_status)
            return
        async with self.pool.use(reference, base_dir, on_status) as model:
            yield model

    async def traits(self, reference: str, base_dir: Path) -> ModelTraits:
        """What ``reference`` is, read from the GGUF header for local models (no loading)."""
        if reference.startswith((OLLAMA_SCHEME, SERVER_SCHEME, AUTO_SCHEME)):
            return ModelTraits(reference, remote=True, size_bytes=None, instruction_tuned=True)
        return await asyncio.to_thread(_local_traits, reference, base_dir, self._models_dir)

    async def _find_auto(self, reference: str, on_status: StatusCallback) -> str:
        found = self._auto.get(reference)
        if found is not None:
            return found
        key = reference.removeprefix(AUTO_SCHEME)
        try:
            found = await find_auto_model(
                key, self._models_dir, self._ollama_host, tuple(self._servers.values())
            )
        except ModelError as exc:
            on_status(ModelStatus(reference, "unavailable", str(exc)))
            raise
        log.info("%s is %s", reference, found)
        self._auto[reference] = found
        return found

    async def _remote_model(self, reference: str, on_status: StatusCallback) -> ChatModel:
        async with self._opening:
            model = self._remote.get(reference)
            if model is not None:
                return model
            on_status(ModelStatus(reference, "loading", "asking the server"))
            started = time.perf_counter()
            try:
                if reference.startswith(OLLAMA_SCHEME):
                    model, detail = await self._open_ollama(reference.removeprefix(OLLAMA_SCHEME))
                else:
                    model, detail = await self._open_server(reference.removeprefix(SERVER_SCHEME))
            except ModelError as exc:
                on_status(ModelStatus(reference, "unavailable", str(exc)))
                raise
            self._remote[reference] = model
            # How long the server took to answer: the remote counterpart of a local model's
            # load time, and the first sign of a slow link.
            connected = f"connected in {time.perf_counter() - started:.1f} s"
            on_status(ModelStatus(reference, "ready", f"{detail}, {connected}"))
            return model

    async def _open_ollama(self, name: str) -> tuple[OllamaChatModel, str]:
        from purpose_desktop.models.ollama_backend import OllamaServer

        server = OllamaServer(self._ollama_host)
        try:
            details = await server.show(name)  # a missing model is found out here, clearly
            if details.capabilities and not details.supports("completion"):
                raise ModelError(
                    f"The Ollama model '{name}' cannot chat (it offers "
                    f"{', '.join(details.capabilities)}); choose a chat model for this agent."
                )
            num_ctx = min(self._n_ctx, details.context_length or self._n_ctx)
            detail = f"Ollama at {server.host}, {name}, context {num_ctx}"
            model = server.chat_model(name, num_ctx=num_ctx)
            self._closers.append(model.aclose)
            return model, detail
        finally:
            await server.aclose()

    async def _open_server(self, target: str) -> tuple[OpenAIChatModel, str]:
        from purpose_desktop.models.openai_backend import OpenAIServer

        server_name, _, model_id = target.partition("/")
        setting = self._servers.get(server_name)
        if setting is None or not model_id:
            known = ", ".join(sorted(self._servers)) or "none yet"
            raise ModelError(
                f"'server:{target}' does not name a configured server and model "
                f"(server:SERVER/MODEL). Configured servers: {known}."
            )
        server = await OpenAIServer.with_saved_key(setting.name, setting.base_url)
        try:
            offered = {model.id for model in await server.list_models()}
            if model_id not in offered:
                raise ModelError(
                    f"The server '{server_name}' has no model '{model_id}'. It offers: "
                    f"{', '.join(sorted(offered)) or 'nothing'}."
                )
        except BaseException:
            await server.aclose()
            raise
        self._closers.append(server.aclose)
        detail = f"server {server_name} at {setting.base_url}, {model_id}"
        return server.chat_model(model_id, name=f"{SERVER_SCHEME}{target}"), detail

    async def aclose(self) -> None:
        """Close every client and end every local model process."""
        closers, self._closers, self._remote = self._closers, [], {}
        for close in closers:
            await close()
        await self.pool.aclose()


def _local_traits(reference: str, base_dir: Path, models_dir: Path) -> ModelTraits:
    metadata = read_gguf_metadata(resolve_model_file(reference, base_dir, models_dir))
    return ModelTraits(
        reference,
        remote=False,
        size_bytes=metadata.size_bytes,
        instruction_tuned=is_instruction_tuned(metadata),
    )
