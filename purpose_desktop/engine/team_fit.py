"""Whether a team's local models fit the memory budget for models together.

Each distinct local model the team names counts once, at the memory the catalog estimates
for it (weights, context cache, prompt cache and buffers, at the context the app loads
models with), however many agents share it. Agents on Ollama or on an OpenAI-compatible
server need no local memory; an ``auto:`` reference is found only when a run starts. Neither
is counted, and the answer says so.

Everything here is pure: the caller hands in the catalog (and, for model files outside the
models folder, entries describing them), so the answer can be worked out on any thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from purpose_desktop.engine.specs import TeamSpec
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.models.memory import MIB
from purpose_desktop.models.references import AUTO_SCHEME, OLLAMA_SCHEME, SERVER_SCHEME

ROUTER = "the router"
"""The user named for the model that picks among agents whose expertise ties."""

_BUDGET_PLACES = "the Models pane's budget, or model_memory_mib in settings.json"

ModelKind = Literal["local", "remote", "auto", "unknown"]


@dataclass(frozen=True)
class ModelUse:
    """One model the team names, and who uses it.

    ``kind`` is ``local`` for a GGUF model counted against the budget (``memory_bytes`` is
    then set), ``remote`` for Ollama or a server, ``auto`` for a model found when a run
    starts, ``unknown`` for a local model that cannot be measured (``note`` says why).
    """

    reference: str
    kind: ModelKind
    users: tuple[str, ...]
    """The agents that use it, in the team's order; :data:`ROUTER` when the router does."""
    memory_bytes: int | None = None
    note: str = ""

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents among :attr:`users` (the router left out)."""
        return tuple(user for user in self.users if user != ROUTER)


@dataclass(frozen=True)
class TeamFit:
    """The team's local models against the memory budget for models.

    ``fits`` is true when every local model could be measured and together they need no
    more than ``budget_bytes``. ``lines`` says all of it in words, the ``suggestions`` (what
    to change when it does not fit) among them.
    """

    team: str
    budget_bytes: int
    total_bytes: int
    """The memory of the distinct local models that could be measured, added up."""
    fits: bool
    models: tuple[ModelUse, ...]
    """Every model the team names, in the order the team first names it."""
    suggestions: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def shared(self) -> tuple[ModelUse, ...]:
        """The local models more than one agent uses."""
        return tuple(m for m in self.models if m.kind == "local" and len(m.agents) > 1)

    @property
    def local(self) -> tuple[ModelUse, ...]:
        """The models counted against the budget."""
        return tuple(m for m in self.models if m.kind == "local")

    @property
    def unknown(self) -> tuple[ModelUse, ...]:
        """The local models that could not be measured (each ``note`` says why)."""
        return tuple(m for m in self.models if m.kind == "unknown")


def size_text(size_bytes: int) -> str:
    """``98362432`` as ``94 MiB``; sizes of a gibibyte and more as ``1.5 GiB``."""
    mib = size_bytes / MIB
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"


def team_fit(
    team: TeamSpec,
    catalog: Sequence[CatalogEntry],
    budget_bytes: int,
    *,
    files: Mapping[str, CatalogEntry] | None = None,
) -> TeamFit:
    """Whether ``team``'s distinct local models fit ``budget_bytes`` together.

    A local reference is looked up in ``files`` first (entries for the files the caller
    resolved the team's references to), then in ``catalog`` by its reference, then by its
    path; one found nowhere is ``unknown``.
    """
    agents = [(agent.name, agent.model) for agent in team.agents]
    uses = model_uses(agents, team.router.model or team.default_model)
    return models_fit(team.name, uses, catalog, budget_bytes, files=files)


def model_uses(agents: Sequence[tuple[str, str]], router: str | None) -> list[tuple[str, str]]:
    """Who uses which model: ``agents`` (name, model reference) and, in a team of more than
    one agent, :data:`ROUTER` with ``router`` (the router's model, else the default one),
    which picks among agents whose expertise ties. A team of one never asks it."""
    uses = list(agents)
    if router and len(agents) > 1:
        uses.append((ROUTER, router))
    return uses


def models_fit(
    team: str,
    uses: Sequence[tuple[str, str]],
    catalog: Sequence[CatalogEntry],
    budget_bytes: int,
    *,
    files: Mapping[str, CatalogEntry] | None = None,
) -> TeamFit:
    """:func:`team_fit` for ``uses``, pairs of (user, model reference): for a team still
    being edited, which need not be valid yet. Empty references are left out."""
    groups: dict[str, tuple[ModelKind, str, list[str], CatalogEntry | None]] = {}
    for user, written in uses:
        reference = written.strip()
        if not reference:
            continue
        kind, note, entry = _classify(reference, catalog, files or {})
        # The pool keeps one worker per file: references to the same file share it.
        key = (
            (entry.path or entry.reference) if entry is not None and kind == "local" else reference
        )
        if key not in groups:
            groups[key] = (kind, note, [], entry)
        if user not in groups[key][2]:
            groups[key][2].append(user)
    models = tuple(
        ModelUse(
            reference=entry.reference if entry is not None and kind == "local" else key,
            kind=kind,
            users=tuple(users),
            memory_bytes=entry.memory_bytes if entry is not None and kind == "local" else None,
            note=note,
        )
        for key, (kind, note, users, entry) in groups.items()
    )
    total = sum(m.memory_bytes or 0 for m in models if m.kind == "local")
    measured = not any(m.kind == "unknown" for m in models)
    fits = measured and total <= budget_bytes
    suggestions = () if total <= budget_bytes else _suggestions(models, catalog, budget_bytes)
    return TeamFit(
        team=team,
        budget_bytes=budget_bytes,
        total_bytes=total,
        fits=fits,
        models=models,
        suggestions=suggestions,
        lines=_lines(
            team,
            models,
            total=total,
            budget=budget_bytes,
            measured=measured,
            suggestions=suggestions,
        ),
    )


_NOT_LOCAL: Mapping[str, tuple[ModelKind, str]] = {
    OLLAMA_SCHEME: ("remote", "remote (Ollama)"),
    SERVER_SCHEME: ("remote", "remote (an OpenAI-compatible server)"),
    AUTO_SCHEME: ("auto", "found when a run starts (a local file, Ollama or a server)"),
}


def _classify(
    reference: str, catalog: Sequence[CatalogEntry], files: Mapping[str, CatalogEntry]
) -> tuple[ModelKind, str, CatalogEntry | None]:
    for scheme, (kind, note) in _NOT_LOCAL.items():
        if reference.startswith(scheme):
            return kind, note, None
    entry = files.get(reference) or _in_catalog(reference, catalog)
    if entry is None:
        return "unknown", "not in the catalog (a GGUF file outside the models folder?)", None
    if entry.error or entry.memory_bytes is None:
        return "unknown", f"cannot be used: {entry.error or 'its memory is not known'}", entry
    return "local", entry.title, entry


def _in_catalog(reference: str, catalog: Sequence[CatalogEntry]) -> CatalogEntry | None:
    for entry in catalog:
        if entry.reference == reference:
            return entry
    given = Path(reference).expanduser()
    if given.is_absolute():
        for entry in catalog:
            if entry.path is not None and Path(entry.path) == given:
                return entry
    return None


def _lines(
    team: str,
    models: Sequence[ModelUse],
    *,
    total: int,
    budget: int,
    measured: bool,
    suggestions: Sequence[str],
) -> tuple[str, ...]:
    local = [m for m in models if m.kind == "local"]
    budget_text = f"the memory budget for models is {size_text(budget)}"
    need = (
        f"its local model needs {size_text(total)}"
        if len(local) == 1
        else f"its {len(local)} local models need {size_text(total)} together"
    )
    if not local:
        head = f"Team {team} fits: it runs no local model, so it needs none of the budget."
    elif total > budget:
        short = _mib_up(total - budget)
        head = f"Team {team} does not fit: {need}, but {budget_text} ({short} MiB short)."
    elif not measured:
        head = (
            f"Cannot tell whether team {team} fits: {need} and {budget_text}, but not every "
            "local model could be measured."
        )
    else:
        head = f"Team {team} fits: {need}, and {budget_text}."
    lines = [head]
    for model in models:
        users = _names(model.users)
        if model.kind == "local":
            assert model.memory_bytes is not None
            how = "shared by" if len(model.users) > 1 else "used by"
            lines.append(f"  {model.reference}: {size_text(model.memory_bytes)}, {how} {users}")
        elif model.kind == "remote":
            lines.append(
                f"  {model.reference}: {model.note}, used by {users}: not counted against "
                "the local budget"
            )
        else:
            lines.append(f"  {model.reference}: {model.note}, used by {users}: not counted")
    if total > budget and len(local) > 1:
        lines.append(
            "  Models that do not fit together are unloaded and loaded again as the run "
            "moves between agents, and a load fails when those in use at once do not fit."
        )
    elif total > budget:
        lines.append("  The model cannot be loaded within this budget.")
    lines += [f"Suggestion: {suggestion}" for suggestion in suggestions]
    return tuple(lines)


def _suggestions(
    models: Sequence[ModelUse], catalog: Sequence[CatalogEntry], budget: int
) -> tuple[str, ...]:
    local = sorted((m for m in models if m.kind == "local"), key=lambda m: -(m.memory_bytes or 0))
    total = sum(m.memory_bytes or 0 for m in local)
    found: list[str] = []
    share = _share(local, total, budget)
    if share is not None:
        found.append(share)
    smaller = _smaller(local, catalog, total, budget)
    if smaller is not None:
        found.append(smaller)
    found.append(
        f"raise the memory budget for models to at least {_mib_up(total)} MiB ({_BUDGET_PLACES})."
    )
    return tuple(found)


def _share(local: Sequence[ModelUse], total: int, budget: int) -> str | None:
    """Move one model's agents onto another the team uses, the largest saving first; or, if
    no one move is enough, everyone onto one model that fits alone."""
    if len(local) < 2:
        return None
    for dropped in local:
        rest = [m for m in local if m is not dropped]
        if total - (dropped.memory_bytes or 0) > budget:
            continue
        onto = rest[0]  # the largest that stays: the most capable, as a rule
        need = total - (dropped.memory_bytes or 0)
        return (
            f"{_names(dropped.users)} could share {onto.reference} with "
            f"{_names(onto.users)} instead of {dropped.reference}: the team would need "
            f"{size_text(need)}."
        )
    alone = [m for m in local if (m.memory_bytes or 0) <= budget]
    if alone:
        onto = alone[0]
        return (
            f"the whole team could share {onto.reference}: the team would need "
            f"{size_text(onto.memory_bytes or 0)}."
        )
    return None


def _smaller(
    local: Sequence[ModelUse], catalog: Sequence[CatalogEntry], total: int, budget: int
) -> str | None:
    """Put the users of the largest model that can give way on a smaller catalog model the
    team does not use yet (one it uses is :func:`_share`'s), the largest that makes it fit."""
    used = {m.reference for m in local}
    for model in local:
        size = model.memory_bytes or 0
        candidates = sorted(
            (
                entry
                for entry in catalog
                if not entry.error
                and entry.reference not in used
                and entry.memory_bytes is not None
                and entry.memory_bytes < size
                and entry.instruction_tuned is not False
            ),
            key=lambda entry: -(entry.memory_bytes or 0),
        )
        for entry in candidates:
            need = total - size + (entry.memory_bytes or 0)
            if need <= budget:
                return (
                    f"use a smaller model for {_names(model.users)}: {entry.reference} "
                    f"({size_text(entry.memory_bytes or 0)}) instead of {model.reference} "
                    f"({size_text(size)}); the team would need {size_text(need)}."
                )
    return None


def _mib_up(size_bytes: int) -> int:
    return math.ceil(size_bytes / MIB)


def _names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
