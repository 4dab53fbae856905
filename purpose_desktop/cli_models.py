"""``purpose-desktop models search`` and ``models pull``: getting models at the terminal,
through the same service as the window's "Find models" dialog.

Progress goes to standard error when that is a terminal. Ctrl+C stops a download and keeps
what was fetched; the same command run again goes on from there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import threading
from typing import TYPE_CHECKING

from purpose_desktop.cli_run import terminal_settings
from purpose_desktop.config import Paths
from purpose_desktop.models.references import OLLAMA_SCHEME
from purpose_desktop.services.model_downloads import (
    ModelDownloadsService,
    choose,
    split_repo_file,
)
from purpose_desktop.services.models import AddedModel, ModelsService

if TYPE_CHECKING:
    from purpose_desktop.models.ollama_backend import PullProgress

MIB = 2**20


def _paths() -> Paths:
    paths = Paths.from_environment()
    paths.ensure()
    return paths


def _service(paths: Paths, endpoint: str | None = None) -> ModelDownloadsService:
    # No model manager at the terminal, as for `models add`: a download is checked by its
    # SHA-256 and its GGUF header and data, without starting llama.cpp.
    return ModelDownloadsService(ModelsService(paths.models_dir, None), endpoint=endpoint)


def models_search(query: str, *, limit: int, as_json: bool, endpoint: str | None) -> int:
    """Print the Hub's repositories of GGUF models whose names contain ``query``."""
    service = _service(_paths(), endpoint)
    repos = asyncio.run(service.search(query, limit))
    if as_json:
        print(json.dumps([dataclasses.asdict(repo) for repo in repos], indent=2))
        return 0
    if not repos:
        print(f"No repository of GGUF models on the Hub has '{query}' in its name.")
        return 0
    width = max(len(repo.repo_id) for repo in repos)
    for repo in repos:
        print(f"{repo.repo_id:<{width}}  {repo.downloads:>12,} downloads  {repo.likes:>7,} likes")
    print(f"\nDownload one with:  purpose-desktop models pull {repos[0].repo_id}")
    return 0


def models_pull(source: str, *, endpoint: str | None) -> int:
    """``REPO[:FILE]`` from the Hub into the models folder, or ``ollama:NAME`` into Ollama."""
    paths = _paths()
    settings = terminal_settings(paths)
    if source.strip().startswith(OLLAMA_SCHEME):
        return _ollama_pull(_service(paths), source, settings.ollama_host)
    service = _service(paths, endpoint)
    repo_id, wanted = split_repo_file(source)
    added = asyncio.run(
        _pull(service, repo_id, wanted, settings.context_size, settings.model_memory_mib)
    )
    metadata = added.metadata
    if not added.new:
        print(f"{metadata.path.name} is already in {paths.models_dir}; nothing was downloaded.")
        return 0
    print(
        f"Added {metadata.path.name} ({metadata.name}, {metadata.architecture}, "
        f"{metadata.parameter_count / 1e6:.0f}M parameters, {metadata.quantisation}) to "
        f"{paths.models_dir}. Use it in a team file as  model: {metadata.path.name}"
    )
    return 0


async def _pull(
    service: ModelDownloadsService,
    repo_id: str,
    wanted: str | None,
    context_size: int,
    memory_mib: int | None,
) -> AddedModel:
    listing = await service.listing(repo_id, context_size, memory_mib)
    option = choose(listing, wanted)
    file = option.file
    print(
        f"{repo_id}: {file.name} ({file.quantisation or 'quantisation not in its name'}, "
        f"{file.size_bytes / MIB:,.0f} MiB, about {option.memory_bytes / MIB:,.0f} MiB once "
        f"loaded at {context_size} tokens of context)",
        file=sys.stderr,
    )
    if not option.fits:
        print(
            f"purpose-desktop: that is more than the memory budget for models "
            f"({listing.budget_bytes / MIB:,.0f} MiB); raise model_memory_mib to load it.",
            file=sys.stderr,
        )
    line = _ProgressLine(f"Downloading {file.name}")
    try:
        return await service.download(file, line.show, threading.Event())
    finally:
        line.end()


def _ollama_pull(service: ModelDownloadsService, source: str, host: str | None) -> int:
    progress = _ProgressLine("Ollama")

    def show(line: PullProgress) -> None:
        if line.total:
            progress.show(line.completed, line.total, line.status)
        else:
            progress.say(line.status)

    try:
        pulled = asyncio.run(service.pull_ollama(source, host, show))
    finally:
        progress.end()
    print(f"Ollama has {pulled} now. Use it in a team file as  model: ollama:{pulled}")
    return 0


class _ProgressLine:
    """Progress rewritten in place on one line of standard error, on a terminal only."""

    def __init__(self, doing: str) -> None:
        self._doing = doing
        self._last = (-1, "")
        self._shown = False

    def show(self, done: int, total: int, what: str = "") -> None:
        percent = done * 100 // max(total, 1)
        if (percent, what) == self._last or not sys.stderr.isatty():
            return
        self._last = (percent, what)
        self._shown = True
        label = f"{self._doing} {what}".strip()
        print(
            f"\r{label}: {percent:3d} % of {total / MIB:,.0f} MiB   ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def say(self, text: str) -> None:
        if sys.stderr.isatty():
            self._shown = True
            print(f"\r{self._doing}: {text:<60}", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self._shown:
            print(file=sys.stderr)
            self._shown = False
