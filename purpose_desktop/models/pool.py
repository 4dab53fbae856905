"""Loaded local models, kept for reuse and ended together at shutdown."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus, StatusCallback
from purpose_desktop.models.references import resolve_model_file

if TYPE_CHECKING:
    from purpose_desktop.models.llama_process import LlamaProcessModel

log = logging.getLogger(__name__)


class LocalModelPool:
    """Starts each GGUF model once, in its own worker process, and hands it to every caller.

    A model whose worker died is started again on the next request.
    """

    def __init__(self, models_dir: Path, *, n_ctx: int, n_threads: int) -> None:
        self._models_dir = models_dir
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._loaded: dict[Path, LlamaProcessModel] = {}
        self._starting: dict[Path, asyncio.Lock] = {}

    async def get(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> LlamaProcessModel:
        name = reference.removeprefix("bundled:")
        try:
            path = await asyncio.to_thread(
                resolve_model_file, reference, base_dir, self._models_dir
            )
        except ModelError as exc:
            on_status(ModelStatus(name, "unavailable", str(exc)))
            raise
        async with self._starting.setdefault(path, asyncio.Lock()):
            model = self._loaded.pop(path, None)
            if model is not None:
                if model.alive:
                    self._loaded[path] = model
                    return model
                await model.aclose()  # a worker that died: release its pipes before restarting
            on_status(ModelStatus(name, "loading", str(path)))
            # Imported on first load: the GUI starts without the worker machinery.
            from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig

            config = LocalModelConfig(path, n_ctx=self._n_ctx, n_threads=self._n_threads)
            try:
                model = await LlamaProcessModel.start(name, config)
            except ModelError as exc:
                on_status(ModelStatus(name, "unavailable", str(exc)))
                raise
            self._loaded[path] = model
            on_status(ModelStatus(
                name, "ready", f"llama.cpp, {model.metadata.name}, loaded in "
                f"{model.load_seconds:.1f} s"
            ))
            return model

    async def aclose(self) -> None:
        """End every worker process."""
        models, self._loaded = list(self._loaded.values()), {}
        await asyncio.gather(*(model.aclose() for model in models))
