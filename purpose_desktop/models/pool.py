"""Loaded local models: kept for reuse, held within a memory budget, ended together at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus, StatusCallback
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata
from purpose_desktop.models.memory import MIB, MemoryEstimate, estimate_memory, half_of_memory
from purpose_desktop.models.references import BUNDLED_SCHEME, model_title, resolve_model_file

if TYPE_CHECKING:
    from purpose_desktop.models.llama_process import LlamaProcessModel
    from purpose_desktop.models.orphans import WorkerRecord

log = logging.getLogger(__name__)

_CHECK_CONTEXT = 256  # tokens of context for the vocabulary-only check: little is needed


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
    path: Path
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

    Every change (loading, ready, unavailable, unloaded) goes to the caller's status callback
    and to every callback given to :meth:`watch`, so a view of the pool stays current whoever
    loaded the model.
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
        self._watchers: list[StatusCallback] = []

    @contextlib.asynccontextmanager
    async def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AsyncIterator[LlamaProcessModel]:
        """The loaded model for ``reference``, kept loaded while the block runs.

        Raises :class:`ModelError` (after reporting "unavailable") if it cannot be had.
        """
        slot = await self._slot(reference, base_dir, self._reporter(on_status))
        slot.users += 1
        try:
            yield slot.model
        finally:
            slot.users -= 1
            slot.last_used = time.monotonic()

    async def load(self, reference: str, base_dir: Path, on_status: StatusCallback) -> LoadedModel:
        """Load ``reference`` now, so its first use does not wait; it stays loaded until it is
        unloaded, or until room is needed and nobody is using it.

        Raises :class:`ModelError` (after reporting "unavailable") if it cannot be loaded,
        among others when it does not fit the memory budget.
        """
        slot = await self._slot(reference, base_dir, self._reporter(on_status))
        return self._describe(slot)

    async def unload(self, reference: str, base_dir: Path | None = None) -> bool:
        """End the worker of ``reference`` (found as :meth:`load` finds it, ``base_dir``
        defaulting to the models folder); ``False`` if it was not loaded.

        Raises :class:`ModelError` while a run is using the model.
        """
        path = await asyncio.to_thread(
            resolve_model_file, reference, base_dir or self._models_dir, self._models_dir
        )
        # The same locks, in the same order, as a load: never unload a model half started or
        # one that a load is counting on.
        async with self._starting.setdefault(path, asyncio.Lock()), self._budget_lock:
            slot = self._slots.get(path)
            if slot is None:
                return False
            if slot.users:
                raise ModelError(
                    f"The model '{slot.model.name}' is in use by a run; unload it once the "
                    "run has finished."
                )
            await self._unload(path)
        self._report(ModelStatus(slot.model.name, "unloaded", "unloaded on request"))
        return True

    def loaded(self) -> list[LoadedModel]:
        """The models loaded now, most recently used first."""
        slots = sorted(self._slots.values(), key=lambda slot: -slot.last_used)
        return [self._describe(slot) for slot in slots]

    @property
    def memory_in_use(self) -> int:
        """Estimated bytes the loaded models hold together."""
        return sum(slot.memory for slot in self._slots.values())

    @property
    def memory_budget(self) -> int:
        """Bytes the loaded models may hold together."""
        if self._budget is None:
            self._budget = half_of_memory()
        return self._budget

    async def set_memory_budget(self, budget: int, on_status: StatusCallback) -> None:
        """Change the budget; idle models are unloaded, least recently used first, until the
        loaded ones fit it. Models in use stay until they are idle and room is needed."""
        if budget <= 0:
            raise ModelError(f"The memory budget must be more than 0 bytes, not {budget}.")
        async with self._budget_lock:
            self._budget = budget
            await self._unload_idle_until_fits(
                0, "to keep within the new budget", self._reporter(on_status)
            )

    def watch(self, on_status: StatusCallback) -> Callable[[], None]:
        """Call ``on_status`` with every change of any model from now on; returns a function
        that stops it."""
        self._watchers.append(on_status)
        return lambda: self._watchers.remove(on_status)

    async def check_file(self, path: Path) -> GGUFMetadata:
        """The metadata of ``path`` once llama.cpp has shown it can read the file's
        architecture and vocabulary, in a worker process of its own (seconds at most: the
        weights are not read).

        Raises :class:`ModelError` saying why for a file that is not a GGUF model, is cut
        short, or has an architecture this build of llama.cpp does not know.
        """
        from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig

        metadata = await asyncio.to_thread(read_gguf_metadata, path)
        n_ctx = min(_CHECK_CONTEXT, metadata.context_length or _CHECK_CONTEXT)
        config = LocalModelConfig(path, n_ctx=n_ctx, n_threads=1, vocab_only=True)
        try:
            model = await LlamaProcessModel.start(path.name, config, metadata=metadata)
        except ModelError as exc:
            raise ModelError(
                f"{path.name} cannot be run by llama.cpp (its architecture is "
                f"'{metadata.architecture}'). {exc}"
            ) from exc
        await model.aclose()
        return metadata

    def _describe(self, slot: _Slot) -> LoadedModel:
        return LoadedModel(slot.model.name, str(slot.path), slot.memory, slot.users > 0)

    def _reporter(self, on_status: StatusCallback) -> StatusCallback:
        def report(status: ModelStatus) -> None:
            on_status(status)
            self._report(status)

        return report

    def _report(self, status: ModelStatus) -> None:
        for watcher in list(self._watchers):
            watcher(status)

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
                    slot = await self._load(name, path, model_title(reference, path), on_status)
                    self._slots[path] = slot
            except ModelError as exc:
                on_status(ModelStatus(name, "unavailable", str(exc)))
                raise
            except asyncio.CancelledError:  # its worker was ended: nothing stays loaded
                on_status(ModelStatus(name, "unloaded", "loading was cancelled"))
                raise
        on_status(ModelStatus(name, "ready", slot.ready_detail))
        return slot

    async def _load(self, name: str, path: Path, title: str, on_status: StatusCallback) -> _Slot:
        # Imported on first load: the GUI starts without the worker machinery.
        from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig

        metadata = await asyncio.to_thread(read_gguf_metadata, path)
        config = LocalModelConfig(path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        config.validate(metadata)  # before anything is unloaded to make room for it
        estimate = estimate_memory(metadata, self._n_ctx, config.n_batch, config.prompt_cache_bytes)
        memory = estimate.total
        await self._make_room(name, estimate, on_status)
        on_status(ModelStatus(name, "loading", str(path)))
        model = await LlamaProcessModel.start(name, config, metadata=metadata)
        if self._record is not None:
            await asyncio.to_thread(self._record.add, model.pid)
        kind = "" if model.instruction_tuned else "; a base model, not tuned to follow instructions"
        detail = f"llama.cpp, {title}, loaded in {model.load_seconds:.1f} s{kind}"
        return _Slot(model, path, memory, last_used=time.monotonic(), ready_detail=detail)

    async def _make_room(
        self, name: str, estimate: MemoryEstimate, on_status: StatusCallback
    ) -> None:
        needed = estimate.total
        budget_text = self._budget_text()
        if needed > self.memory_budget:
            raise ModelError(
                f"The model '{name}' needs {estimate.describe()} at a context of "
                f"{self._n_ctx} tokens, but {budget_text}. Choose a smaller model or context, "
                "or raise the budget."
            )
        idle = self._idle_slots()
        if self.memory_in_use - sum(slot.memory for slot in idle) + needed > self.memory_budget:
            busy = ", ".join(slot.model.name for slot in self._slots.values() if slot.users)
            raise ModelError(
                f"The model '{name}' needs about {needed / MIB:.0f} MiB and does not fit: "
                f"{budget_text} and the models in use ({busy}) hold "
                f"{self.memory_in_use / MIB:.0f} MiB. Wait for them to finish or raise the "
                "budget."
            )
        await self._unload_idle_until_fits(needed, f"to make room for {name}", on_status)

    def _budget_text(self) -> str:
        return f"the memory budget for models is {self.memory_budget / MIB:.0f} MiB"

    def _idle_slots(self) -> list[_Slot]:
        """Models nobody is using, in the order to unload them: dead workers first (they hold
        nothing), then the least recently used."""
        return sorted(
            (slot for slot in self._slots.values() if slot.users == 0),
            key=lambda slot: (slot.model.alive, slot.last_used),
        )

    async def _unload_idle_until_fits(
        self, needed: int, why: str, on_status: StatusCallback
    ) -> None:
        idle = self._idle_slots()
        while self.memory_in_use + needed > self.memory_budget and idle:
            slot = idle.pop(0)
            await self._unload(slot.path)
            on_status(ModelStatus(slot.model.name, "unloaded", f"{why} ({self._budget_text()})"))

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
