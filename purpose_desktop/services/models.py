"""The models the app can run, for the Models pane and ``purpose-desktop models``: GGUF files
checked and copied into the models folder (with progress, and a way to stop), what Ollama and
the servers offer, where Ollama is looked for, and the servers' API keys in the system
keyring.

What blocks (copying a file, reading how much memory the machine has, importing the servers'
clients, the keyring) runs on worker threads; progress comes back on the event loop. Loading
and unloading go to the model manager itself (:attr:`ModelsService.pool`), which keeps its
worker processes off the loop. Importing this module loads none of the model layer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop, stoppable_progress

if TYPE_CHECKING:
    from purpose_desktop.config import ServerSetting
    from purpose_desktop.models.catalog import CatalogEntry
    from purpose_desktop.models.gguf_metadata import GGUFMetadata
    from purpose_desktop.models.pool import LocalModelPool
    from purpose_desktop.models.probe import BackendReport
    from purpose_desktop.models.router import ModelRouter
    from purpose_desktop.secrets import KeyringStatus
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store

log = logging.getLogger(__name__)

CopyProgress = Callable[[int, int], None]
"""Bytes copied so far, and of how many."""


@dataclass(frozen=True)
class AddedModel:
    """A file copied into the models folder; ``new`` is false when one of its name was there
    already."""

    metadata: GGUFMetadata
    new: bool


@dataclass(frozen=True)
class Catalog:
    """The local models, described from their files, and the bytes loaded local models may
    hold together."""

    entries: tuple[CatalogEntry, ...]
    budget: int


class KeyNotKept(UserError):
    """An API key was not saved because there is no usable keyring; it says why."""


class ModelsService:
    """The models folder ``models_dir`` and the model manager ``models`` makes (when first
    asked for; ``None`` where there is none, and then nothing can be loaded)."""

    def __init__(
        self,
        models_dir: Path,
        models: Callable[[], ModelRouter] | None,
        *,
        store: StoreService | None = None,
    ) -> None:
        """``store``, where given, remembers the models each listing finds (its catalog)."""
        self.models_dir = models_dir
        self._models = models
        self._store = store

    @property
    def router(self) -> ModelRouter | None:
        """The model manager, made now if it was not yet."""
        return None if self._models is None else self._models()

    @property
    def pool(self) -> LocalModelPool | None:
        """The local models' pool, which loads and unloads them."""
        router = self.router
        return None if router is None else router.pool

    # --- files ------------------------------------------------------------------------------

    async def check_file(self, path: Path) -> None:
        """Have llama.cpp read ``path``'s architecture and vocabulary in a worker process
        (where there is a model manager); :class:`ModelError` says why it cannot."""
        if (pool := self.pool) is not None:
            await pool.check_file(path)

    async def copy_file(
        self,
        path: Path,
        on_progress: CopyProgress,
        stop: threading.Event,
        *,
        link: bool = False,
    ) -> AddedModel:
        """Validate ``path`` and copy it (with ``link``, link to it) into the models folder,
        calling ``on_progress`` on the event loop as the copy goes. Setting ``stop`` ends the
        copy at its next piece, removes what it wrote and raises :class:`CopyCancelled`; a
        file that is not a usable model is a :class:`ModelError` saying why."""
        from purpose_desktop.models.library import add_model_file

        there_before = await off_loop((self.models_dir / path.name).exists)

        progress = stoppable_progress(on_progress, stop)

        metadata = await off_loop(
            add_model_file, path, self.models_dir, link=link, progress=progress
        )
        return AddedModel(metadata, new=not there_before)

    # --- the catalog ------------------------------------------------------------------------

    async def catalog(self, context_size: int, memory_mib: int | None) -> Catalog:
        """The local models as they would load with ``context_size`` tokens of context, and
        the budget ``memory_mib`` sets (``None``: half the machine's memory). A store that
        cannot remember the listing costs only that: it is logged, not raised."""
        from purpose_desktop.models.catalog import list_local_models
        from purpose_desktop.models.memory import MIB, half_of_memory

        entries = await off_loop(list_local_models, self.models_dir, context_size)
        if self._store is not None:
            try:
                await self._store.run_blocking(lambda store: _remember(store, entries))
            except UserError as exc:
                log.warning("The model catalog could not be saved: %s", exc)
        budget = memory_mib * MIB if memory_mib is not None else await off_loop(half_of_memory)
        return Catalog(tuple(entries), budget)

    # --- memory -----------------------------------------------------------------------------

    async def memory_budget(self) -> int | None:
        """Bytes the loaded models may hold together (``None`` without a model manager). The
        first read of the default asks the system how much memory it has."""
        pool = self.pool
        return None if pool is None else await off_loop(lambda: pool.memory_budget)

    # --- servers ----------------------------------------------------------------------------

    async def probe(
        self, ollama_host: str | None, servers: Sequence[ServerSetting]
    ) -> list[BackendReport]:
        """Every backend and what it offers: the models folder, then Ollama, then each
        server (one that is down is reported as not reachable, with why)."""
        await off_loop(_import_clients)
        from purpose_desktop.models.probe import probe_backends

        return await probe_backends(self.models_dir, ollama_host, servers)

    async def ollama_address(self, host: str | None) -> str:
        """Where Ollama is looked for given ``host`` (``None``: ``$OLLAMA_HOST`` or this
        computer); :class:`ModelError` when ``host`` is not an address."""
        await off_loop(_import_clients)
        from purpose_desktop.models.ollama_backend import ollama_host

        return ollama_host(host)

    def use_servers(self, ollama_host: str | None, servers: Sequence[ServerSetting]) -> None:
        """Runs use this Ollama host and these servers from now on."""
        if (router := self.router) is not None:
            router.configure_remote(ollama_host, servers)

    async def keyring_status(self) -> KeyringStatus:
        """Whether API keys can be kept on this computer, and where."""
        await off_loop(_import_clients)
        from purpose_desktop.secrets import keyring_status

        return await off_loop(keyring_status)

    async def save_api_key(self, server: str, key: str) -> None:
        """Keep ``key`` for ``server`` in the system keyring. Without a usable keyring,
        :class:`KeyNotKept` says why (the key is written nowhere else); another failure is a
        :class:`ModelError`."""
        await off_loop(_import_clients)
        from purpose_desktop.secrets import KeyringUnavailableError, keyring_status, save_api_key

        try:
            await off_loop(save_api_key, server, key)
        except KeyringUnavailableError:
            status = await off_loop(keyring_status)
            raise KeyNotKept(status.reason) from None


def _remember(store: Store, entries: Sequence[CatalogEntry]) -> None:
    # On a worker thread, the store open: the module loads SQLAlchemy, imported there.
    from purpose_desktop.store.model_catalog import ModelCatalogStore

    ModelCatalogStore(store.engine).remember(entries)


def _import_clients() -> None:
    """Import the servers' clients and the keyring on a worker thread: about a quarter of a
    second the first time (most of it the ollama package), which the event loop must not wait
    for. Imported modules then come from ``sys.modules`` at once."""
    import purpose_desktop.models.ollama_backend
    import purpose_desktop.models.openai_backend
    import purpose_desktop.models.probe
    import purpose_desktop.secrets  # noqa: F401
