"""Loaded local models: kept for reuse, held within a memory budget, ended together at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus, StatusCallback
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.memory import MIB, MemoryEstimate, estimate_memory, half_of_memory
from purpose_desktop.models.references import BUNDLED_SCHEME, resolve_model_file

if TYPE_CHECKING:
    from purpose_desktop.models.llama_process import LlamaProcessModel
    from purpose_desktop.models.orphans import WorkerRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model the pool holds, as the model manager shows it."""

    name: str
    path: str
    memory_bytes: int
    in_use: bool


@dataclass
class _Slot:
    model: LlamaProcessModel
    memory: int
    users: int = 0
    last_used: float = 0.0
    ready_detail: str = ""


class LocalModelPool:
    """Starts each GGUF model once, in its own worker process, and hands it to every caller.

    Loading a model first unloads the least recently used models that no caller is using until
    the estimated memory of all loaded models fits ``memory_budget`` (bytes; by default half of
    the machine's memory); a model that cannot fit is refused with a message saying what it
    needs. A model whose worker died is started again on the next request.
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        n_ctx: int,
        n_threads: int,
        memory_budget: int | None = None,
        record: WorkerRecord | None = None,
    ) -> None:
        self._models_dir = models_dir
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._budget = memory_budget
        self._record = record
        self._slots: dict[Path, _Slot] = {}
        self._starting: dict[Path, asyncio.Lock] = {}  # one start per model at a time
        # Loads wait for each other so the budget arithmetic stays true; a model already
        # loaded is handed out without waiting for anyone's load.
        self._budget_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AsyncIterator[LlamaProcessModel]:
        """The loaded model for ``reference``, kept loaded while the block runs.

        Raises :class:`ModelError` (after reporting "unavailable") if it cannot be had.
        """
        slot = await self._slot(reference, base_dir, on_status)
        slot.users += 1
        try:
            yield slot.model
        finally:
            slot.users -= 1
            slot.last_used = time.monotonic()

    def loaded(self) -> list[LoadedModel]:
        """The models loaded now, most recently used first."""
        slots = sorted(self._slots.items(), key=lambda item: -item[1].last_used)
        return [
            LoadedModel(slot.model.name, str(path), slot.memory, slot.users > 0)
            for path, slot in slots
        ]

    async def _slot(self, reference: str, base_dir: Path, on_status: StatusCallback) -> _Slot:
        name = reference.removeprefix(BUNDLED_SCHEME)
        try:
            path = await asyncio.to_thread(
                resolve_model_file, reference, base_dir, self._models_dir
            )
        except ModelError as exc:
            on_status(ModelStatus(name, "unavailable", str(exc)))
            raise
        slot = self._slots.get(path)
        if slot is not None and slot.model.alive:
            slot.last_used = time.monotonic()
            return slot
        async with self._starting.setdefault(path, asyncio.Lock()):
            slot = self._slots.get(path)
            if slot is not None and slot.model.alive:  # another caller just loaded it
                return slot
            if slot is not None:  # a worker that died: release its pipes before restarting
                await self._unload(path)
            try:
                async with self._budget_lock:
                    slot = await self._load(name, path, on_status)
                    self._slots[path] = slot
            except ModelError as exc:
                on_status(ModelStatus(name, "unavailable", str(exc)))
                raise
        on_status(ModelStatus(name, "ready", slot.ready_detail))
        return slot

    async def _load(self, name: str, path: Path, on_status: StatusCallback) -> _Slot:
        # Imported on first load: the GUI starts without the worker machinery.
        from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig

        metadata = await asyncio.to_thread(read_gguf_metadata, path)
        config = LocalModelConfig(path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        config.validate(metadata)  # before anything is unloaded to make room for it
        estimate = estimate_memory(metadata, self._n_ctx)
        memory = estimate.total
        await self._make_room(name, estimate, on_status)
        on_status(ModelStatus(name, "loading", str(path)))
        model = await LlamaProcessModel.start(name, config, metadata=metadata)
        if self._record is not None:
            await asyncio.to_thread(self._record.add, model.pid)
        kind = "" if model.instruction_tuned else "; a base model, not tuned to follow instructions"
        detail = f"llama.cpp, {metadata.name}, loaded in {model.load_seconds:.1f} s{kind}"
        return _Slot(model, memory, last_used=time.monotonic(), ready_detail=detail)

    async def _make_room(
        self, name: str, estimate: MemoryEstimate, on_status: StatusCallback
    ) -> None:
        needed = estimate.total
        if self._budget is None:
            self._budget = half_of_memory()
        budget_text = f"the memory budget for models is {self._budget / MIB:.0f} MiB"
        if needed > self._budget:
            raise ModelError(
                f"The model '{name}' needs {estimate.describe()} at a context of "
                f"{self._n_ctx} tokens, but {budget_text}. Choose a smaller model or context, "
                "or raise the budget in the settings."
            )
        # Dead workers go first (they hold nothing), then the least recently used idle ones.
        idle = sorted(
            (item for item in self._slots.items() if item[1].users == 0),
            key=lambda item: (item[1].model.alive, item[1].last_used),
        )
        if self._used() - sum(slot.memory for _, slot in idle) + needed > self._budget:
            busy = ", ".join(slot.model.name for slot in self._slots.values() if slot.users)
            raise ModelError(
                f"The model '{name}' needs about {needed / MIB:.0f} MiB and does not fit: "
                f"{budget_text} and the models in use ({busy}) hold "
                f"{self._used() / MIB:.0f} MiB. Wait for them to finish or raise the budget."
            )
        while self._used() + needed > self._budget and idle:
            path, slot = idle.pop(0)
            await self._unload(path)
            on_status(ModelStatus(
                slot.model.name, "unloaded", f"to make room for {name} ({budget_text})"
            ))

    def _used(self) -> int:
        return sum(slot.memory for slot in self._slots.values())

    async def _unload(self, path: Path) -> None:
        slot = self._slots.pop(path)
        await slot.model.aclose()
        if self._record is not None:
            await asyncio.to_thread(self._record.remove, slot.model.pid)
        log.info("Unloaded model %s", slot.model.name)

    async def aclose(self) -> None:
        """End every worker process; a load under way finishes first and is ended too."""
        async with self._budget_lock:
            await asyncio.gather(*(self._unload(path) for path in list(self._slots)))
