"""Getting models from outside, for the Models pane and ``purpose-desktop models``: GGUF
files searched for, listed and downloaded from the Hugging Face Hub into the models folder,
and models pulled into Ollama.

The network calls and the hashing run on worker threads; progress comes back on the event
loop. A download ends as an added model only once it matched the Hub's SHA-256, read as a
whole GGUF model and, where there is a model manager, was read by llama.cpp in a worker
process; until then it is ``NAME.part`` in the models folder, which the catalog does not list
and a new download of the same file goes on from. Importing this module loads neither
``huggingface_hub`` nor ``ollama``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from purpose_desktop.errors import ModelError
from purpose_desktop.services.background import off_loop, stoppable_progress
from purpose_desktop.services.models import AddedModel, CopyProgress, ModelsService

if TYPE_CHECKING:
    from purpose_desktop.models.hub import FileOption, HubClient, HubFile, HubRepo, RepoListing
    from purpose_desktop.models.ollama_backend import PullProgress


class ModelDownloadsService:
    """Downloads into ``models``' folder, checked with ``models``' model manager, from the
    Hub at ``endpoint`` (``None``: ``$HF_ENDPOINT`` or huggingface.co)."""

    def __init__(self, models: ModelsService, *, endpoint: str | None = None) -> None:
        self._models = models
        self._endpoint = endpoint
        self._client: HubClient | None = None

    async def _hub(self) -> HubClient:
        if self._client is None:
            # Off the loop, as the first use of huggingface_hub is later, on the worker
            # thread of the call that needs it: importing it and its HTTP client takes a while.
            self._client = await off_loop(_make_client, self._endpoint)
        return self._client

    async def search(self, query: str, limit: int = 30) -> list[HubRepo]:
        """At most ``limit`` repositories with GGUF files whose names contain ``query``, most
        downloaded first; :class:`ModelError` (a :class:`HubUnreachable` offline) says why
        not."""
        hub = await self._hub()
        return await off_loop(hub.search, query, limit)

    async def budget(self, memory_mib: int | None) -> int:
        """The bytes loaded models may hold: ``memory_mib`` set in the settings, else the
        model manager's budget, else half the machine's memory."""
        from purpose_desktop.models.memory import MIB, half_of_memory

        if memory_mib is not None:
            return memory_mib * MIB
        in_force = await self._models.memory_budget()
        return in_force if in_force is not None else await off_loop(half_of_memory)

    async def listing(self, repo_id: str, context_size: int, memory_mib: int | None) -> RepoListing:
        """``repo_id``'s GGUF files with the memory each needs at ``context_size`` tokens
        and the default choice: the largest that fits the budget."""
        hub = await self._hub()
        budget = await self.budget(memory_mib)
        return await off_loop(hub.listing, repo_id.strip(), context_size, budget)

    async def download(
        self, file: HubFile, on_progress: CopyProgress, stop: threading.Event
    ) -> AddedModel:
        """Download ``file`` into the models folder and add it, calling ``on_progress`` on
        the event loop as it goes.

        Setting ``stop`` ends it at its next piece with :class:`DownloadCancelled`, keeping
        what was fetched for the next try. A file already there is not fetched again
        (``new`` is false). :class:`ModelError` says why a file was not added: the Hub cannot
        be reached, the file is not the one the Hub describes (deleted), or it is not a
        model llama.cpp can run.
        """
        from purpose_desktop.models.hub import already_there, install

        hub = await self._hub()
        folder = self._models.models_dir
        there = await off_loop(already_there, file, folder)
        if there is not None:
            return AddedModel(there, new=False)

        progress = stoppable_progress(on_progress, stop)

        try:
            part = await off_loop(hub.download, file, folder, progress)
        except asyncio.CancelledError:
            stop.set()  # the thread goes on otherwise, to the file's end
            raise
        try:
            await self._models.check_file(part)
        except ModelError:
            await off_loop(part.unlink, missing_ok=True)
            raise
        metadata = await off_loop(install, part, folder, file.name)
        return AddedModel(metadata, new=True)

    async def pull_ollama(
        self, name: str, host: str | None, on_progress: Callable[[PullProgress], None]
    ) -> str:
        """Have the Ollama at ``host`` (``None``: ``$OLLAMA_HOST`` or this computer) pull
        ``name``, calling ``on_progress`` with each line of its progress; returns the name
        pulled. Cancelling the awaiting task stops the pull."""
        await off_loop(_import_ollama)
        from purpose_desktop.models.ollama_pull import pull_ollama_model

        return await pull_ollama_model(name, on_progress, host=host)


def choose(listing: RepoListing, wanted: str | None) -> FileOption:
    """The file of ``listing`` that ``wanted`` names: a file name (or its path in the
    repository), a quantisation such as ``Q4_K_M``, or ``None`` for the default choice.
    :class:`ModelError` says what there is when nothing matches."""
    options = listing.options
    if not options:
        skipped = "; ".join(listing.skipped)
        raise ModelError(
            f"{listing.repo_id} has no GGUF model file that can be used by itself"
            + (f" ({skipped})." if skipped else ".")
        )
    if wanted is None or not wanted.strip():
        assert listing.default is not None  # there are options
        return options[listing.default]
    key = wanted.strip().lower()
    for option in options:
        if key in (option.file.filename.lower(), option.file.name.lower()):
            return option
    same_quantisation = [o for o in options if o.file.quantisation.lower() == key]
    if same_quantisation:
        return same_quantisation[-1]
    names = ", ".join(option.file.name for option in options)
    raise ModelError(f"{listing.repo_id} has no GGUF file '{wanted}'. It has: {names}.")


def split_repo_file(spec: str) -> tuple[str, str | None]:
    """``REPO[:FILE]`` as (repository, file or quantisation or ``None``)."""
    repo_id, _, wanted = spec.strip().partition(":")
    if not repo_id or "/" not in repo_id:
        raise ModelError(
            f"'{spec}' does not name a repository on the Hub: give OWNER/NAME, for example "
            "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF, with :FILE or :Q4_K_M to pick a file."
        )
    return repo_id, wanted or None


def _make_client(endpoint: str | None) -> HubClient:
    from purpose_desktop.models.hub import HubClient

    return HubClient(endpoint)


def _import_ollama() -> None:
    import purpose_desktop.models.ollama_pull  # noqa: F401
