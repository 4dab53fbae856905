"""What each backend offers right now, and where an ``auto:`` model is found.

Probing asks Ollama and every configured server with a short timeout, in parallel, so a server
that is down costs seconds, not minutes. Nothing here raises for a server that cannot be
reached: the answer says so, and why. GGUF files in the models folder are offered only when
their header reads as a whole model; the others are reported with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.config import ServerSetting
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import BUNDLED_MODELS
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.references import (
    BUNDLED_SCHEME,
    OLLAMA_SCHEME,
    SERVER_SCHEME,
)
from purpose_desktop.models.registry import KNOWN_MODELS, KnownModel, known_model, matches_file

PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class BackendReport:
    """One backend as probed: whether it answered, what it offers, or why not."""

    backend: str
    where: str
    reachable: bool
    references: tuple[str, ...]
    """Model references a team file can use, such as ``ollama:qwen3:0.6b``."""
    detail: str = ""
    unusable: tuple[str, ...] = ()
    """Files found that cannot be used, each as "NAME: why"."""


def _local_report(models_dir: Path) -> BackendReport:
    """The bundled models and the usable GGUF files of ``models_dir``. Reads each file's
    header (not its data): call it off the event loop."""
    paths = sorted(models_dir.glob("*.gguf")) if models_dir.is_dir() else []
    files: list[str] = []
    unusable: list[str] = []
    for path in paths:
        try:
            read_gguf_metadata(path)
        except ModelError as exc:
            unusable.append(f"{path.name}: {exc}")
        else:
            files.append(path.name)
    bundled = [BUNDLED_SCHEME + key for key in BUNDLED_MODELS]
    detail = f"{len(bundled)} bundled, {len(files)} in the models folder"
    if unusable:
        detail += f", {len(unusable)} unusable"
    return BackendReport(
        "llama.cpp", str(models_dir), True, (*bundled, *files), detail, tuple(unusable)
    )


async def _ollama_report(host: str | None) -> BackendReport:
    from purpose_desktop.models.ollama_backend import OllamaServer

    try:
        server = OllamaServer(host, timeout=PROBE_TIMEOUT)
    except ModelError as exc:  # an address that cannot be used
        return BackendReport("Ollama", host or "", False, (), str(exc))
    try:
        models = await server.list_models()
    except ModelError as exc:
        return BackendReport("Ollama", server.host, False, (), str(exc))
    finally:
        await server.aclose()
    return BackendReport(
        "Ollama",
        server.host,
        True,
        tuple(OLLAMA_SCHEME + m.name for m in models),
        f"{len(models)} model(s)",
    )


async def _server_report(setting: ServerSetting) -> BackendReport:
    from purpose_desktop.models.openai_backend import OpenAIServer

    where = f"{setting.name} ({setting.base_url})"
    try:
        server = await OpenAIServer.with_saved_key(
            setting.name, setting.base_url, timeout=PROBE_TIMEOUT, connect_timeout=PROBE_TIMEOUT
        )
    except ModelError as exc:
        return BackendReport("OpenAI-compatible", where, False, (), str(exc))
    try:
        models = await server.list_models()
    except ModelError as exc:
        return BackendReport("OpenAI-compatible", where, False, (), str(exc))
    finally:
        await server.aclose()
    references = tuple(f"{SERVER_SCHEME}{setting.name}/{m.id}" for m in models)
    return BackendReport("OpenAI-compatible", where, True, references, f"{len(models)} model(s)")


async def probe_backends(
    models_dir: Path, ollama_host: str | None, servers: Sequence[ServerSetting]
) -> list[BackendReport]:
    """Every backend and what it offers: local files first, then Ollama, then servers."""
    local = await asyncio.to_thread(_local_report, models_dir)
    return [local, *await _remote_reports(ollama_host, servers)]


async def _remote_reports(
    ollama_host: str | None, servers: Sequence[ServerSetting]
) -> list[BackendReport]:
    return list(
        await asyncio.gather(
            _ollama_report(ollama_host), *(_server_report(server) for server in servers)
        )
    )


def _offered_by(model: KnownModel, reference: str) -> bool:
    if reference.startswith(BUNDLED_SCHEME):
        return reference.removeprefix(BUNDLED_SCHEME) == model.bundled
    if reference.startswith(OLLAMA_SCHEME):
        name = reference.removeprefix(OLLAMA_SCHEME)
        # Ollama adds ":latest" to names given without a tag, and quantisation suffixes to
        # the tags of variants ("qwen3:0.6b-q8_0"); another model's name never matches.
        wanted_name, _, wanted_tag = model.ollama_name.partition(":")
        name_part, _, tag = name.partition(":")
        if name_part != wanted_name:
            return False
        return (
            tag == wanted_tag or tag.startswith(f"{wanted_tag}-")
            if wanted_tag
            else (tag in ("", "latest"))
        )
    return matches_file(model, reference.rpartition("/")[2])


def _first_offering(model: KnownModel, reports: Sequence[BackendReport]) -> str | None:
    return next(
        (ref for report in reports for ref in report.references if _offered_by(model, ref)),
        None,
    )


async def find_auto_model(
    key: str, models_dir: Path, ollama_host: str | None, servers: Sequence[ServerSetting]
) -> str:
    """The reference of the first place that has the well-known model ``key``.

    Raises :class:`ModelError` for a key the registry does not know, or a model nothing
    reachable has, saying where it looked.
    """
    model = known_model(key)
    if model is None:
        known = ", ".join(m.key for m in KNOWN_MODELS)
        raise ModelError(f"'auto:{key}' is not a model the app knows. Known models: {known}.")
    # Local files first, without waiting for any server.
    reports = [await asyncio.to_thread(_local_report, models_dir)]
    found = _first_offering(model, reports)
    if found is None:
        reports += await _remote_reports(ollama_host, servers)
        found = _first_offering(model, reports)
    if found is not None:
        return found
    looked = "; ".join(_looked_in(report) for report in reports)
    raise ModelError(
        f"No backend has {model.title} (auto:{model.key}). Looked in {looked}. Add a GGUF file, "
        f"or run  ollama pull {model.ollama_name}"
    )


def _looked_in(report: BackendReport) -> str:
    found = report.detail if not report.reachable else "not there"
    # A file named as the model but cut short is the likely reason it was not found.
    unusable = "".join(f" ({problem})" for problem in report.unusable)
    return f"{report.backend} at {report.where}: {found}{unusable}"
