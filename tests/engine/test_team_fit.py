"""Whether a team's local models fit the memory budget together, worked out from the real
catalog of the bundled SmolLM2 and Gemma files."""

from __future__ import annotations

import math
from pathlib import Path

from purpose_desktop.engine.specs import TeamSpec
from purpose_desktop.engine.team_fit import ROUTER, team_fit
from purpose_desktop.models.catalog import CatalogEntry
from tests.support.catalog import GEMMA, MIB, SMOLLM, memory


def team(*models: str, default_model: str | None = None) -> TeamSpec:
    agents = [
        {"name": name, "role": "Answer.", "model": model}
        for name, model in zip("abcdefgh", models, strict=False)
    ]
    return TeamSpec.model_validate(
        {"name": "Crew", "default_model": default_model, "agents": agents}
    )


def test_a_shared_model_counts_once_and_remote_ones_not_at_all(
    catalog: list[CatalogEntry],
) -> None:
    spec = team(SMOLLM, GEMMA, SMOLLM, "ollama:qwen3:0.6b", "server:lab/llama-3.2-1b")
    needed = memory(catalog, SMOLLM) + memory(catalog, GEMMA)

    fit = team_fit(spec, catalog, needed)

    assert fit.fits
    assert fit.total_bytes == needed
    assert fit.suggestions == ()
    assert [(m.reference, m.users) for m in fit.shared] == [(SMOLLM, ("a", "c"))]
    remote = {m.reference: m.users for m in fit.models if m.kind == "remote"}
    assert remote == {"ollama:qwen3:0.6b": ("d",), "server:lab/llama-3.2-1b": ("e",)}
    assert fit.lines[0].startswith("Team Crew fits: its 2 local models need")
    assert "  ollama:qwen3:0.6b: remote (Ollama), used by d: not counted against the local " in (
        "\n".join(fit.lines)
    )
    assert (
        f"  {SMOLLM}: {round(memory(catalog, SMOLLM) / MIB)} MiB, shared by a and c"
        in fit.lines[1:]
    )


def test_one_byte_short_of_the_budget_does_not_fit_and_says_what_to_change(
    catalog: list[CatalogEntry],
) -> None:
    spec = team(GEMMA, SMOLLM, default_model=SMOLLM)
    needed = memory(catalog, SMOLLM) + memory(catalog, GEMMA)

    fit = team_fit(spec, catalog, needed - 1)

    assert not fit.fits
    assert fit.total_bytes == needed
    assert fit.lines[0].startswith("Team Crew does not fit: its 2 local models need")
    assert fit.suggestions == (
        f"a could share {SMOLLM} with b and {ROUTER} instead of {GEMMA}: the team would need "
        f"{round(memory(catalog, SMOLLM) / MIB)} MiB.",
        f"raise the memory budget for models to at least {math.ceil(needed / MIB)} MiB "
        "(the Models pane's budget, or model_memory_mib in settings.json).",
    )
    assert [f"Suggestion: {s}" for s in fit.suggestions] == list(fit.lines[-2:])


def test_a_smaller_chat_model_is_suggested_when_sharing_cannot_help(
    catalog: list[CatalogEntry],
) -> None:
    spec = team(GEMMA, GEMMA)
    budget = memory(catalog, SMOLLM) + MIB  # SmolLM2 fits, Gemma does not

    fit = team_fit(spec, catalog, budget)

    assert not fit.fits
    assert len(fit.suggestions) == 2
    assert fit.suggestions[0].startswith(
        f"use a smaller model for a and b: {SMOLLM} ({round(memory(catalog, SMOLLM) / MIB)} MiB)"
        f" instead of {GEMMA}"
    )


def test_below_the_smallest_model_only_a_larger_budget_helps(catalog: list[CatalogEntry]) -> None:
    fit = team_fit(team(SMOLLM, GEMMA), catalog, 64 * MIB)

    assert not fit.fits
    assert len(fit.suggestions) == 1
    assert fit.suggestions[0].startswith("raise the memory budget for models to at least")


def test_a_path_to_a_catalog_file_is_the_same_model_as_its_reference(
    catalog: list[CatalogEntry],
) -> None:
    gemma_path = next(e.path for e in catalog if e.reference == GEMMA)
    assert gemma_path is not None and Path(gemma_path).is_absolute()

    fit = team_fit(team(GEMMA, gemma_path), catalog, 2**40)

    assert fit.total_bytes == memory(catalog, GEMMA)
    assert [(m.reference, m.users) for m in fit.local] == [(GEMMA, ("a", "b"))]


def test_a_model_it_cannot_measure_means_it_cannot_tell(catalog: list[CatalogEntry]) -> None:
    fit = team_fit(team(SMOLLM, "elsewhere/missing.gguf", "auto:qwen3-0.6b"), catalog, 2**40)

    assert not fit.fits
    assert fit.total_bytes == memory(catalog, SMOLLM)
    assert [(m.reference, m.kind) for m in fit.models] == [
        (SMOLLM, "local"),
        ("elsewhere/missing.gguf", "unknown"),
        ("auto:qwen3-0.6b", "auto"),
    ]
    assert fit.lines[0].startswith("Cannot tell whether team Crew fits")
    assert fit.suggestions == ()


def test_a_team_of_remote_models_needs_none_of_the_budget(catalog: list[CatalogEntry]) -> None:
    fit = team_fit(team("ollama:qwen3:0.6b"), catalog, 64 * MIB)

    assert fit.fits
    assert fit.total_bytes == 0
    assert fit.lines[0] == "Team Crew fits: it runs no local model, so it needs none of the budget."


def test_the_router_counts_in_a_team_of_several_and_not_in_a_team_of_one(
    catalog: list[CatalogEntry],
) -> None:
    several = team_fit(team(SMOLLM, SMOLLM, default_model=GEMMA), catalog, 2**40)
    assert {m.reference: m.users for m in several.models} == {
        SMOLLM: ("a", "b"),
        GEMMA: (ROUTER,),
    }
    alone = team_fit(team(SMOLLM, default_model=GEMMA), catalog, 2**40)
    assert {m.reference: m.users for m in alone.models} == {SMOLLM: ("a",)}
    assert alone.total_bytes == memory(catalog, SMOLLM)
