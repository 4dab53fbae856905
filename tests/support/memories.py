"""Memories for tests: heuristics and experiences made up, and written straight into a store."""

from __future__ import annotations

import asyncio

from purpose_desktop.engine.learning.memory import Experience, Heuristic, ScoreAnchor, Tier
from purpose_desktop.store.opening import Store
from sqlalchemy import text


def heuristic(pattern: str, strategy: str = "do the obvious thing", **kw: object) -> Heuristic:
    fields: dict[str, object] = {"team": "lab", "tier": Tier.PROCEDURAL, **kw}
    return Heuristic(pattern=pattern, strategy=strategy, **fields)  # type: ignore[arg-type]


def experience(task: str, summary: str = "went fine", **kw: object) -> Experience:
    fields: dict[str, object] = {
        "team": "lab",
        "outcome": "completed",
        "final_phi": 0.8,
        "steps": 4,
        "run_id": "run-1",
        **kw,
    }
    return Experience(task=task, summary=summary, **fields)  # type: ignore[arg-type]


TOPICS = (
    "parsing the invoices",
    "deploying services",
    "writing weekly reports",
    "cleaning datasets",
)


INSERT_HEURISTIC = text(
    "INSERT INTO heuristics (team, tier, pattern, strategy, q_value, uses, successes, source, "
    "pinned, created_at) VALUES (:team, :tier, :pattern, :strategy, :q_value, :uses, "
    ":successes, :source, :pinned, :created_at)"
)


def remember(store: Store) -> None:
    """Two teams' memory, through the memory store as the engine writes it."""

    async def go() -> None:
        memory = store.memory
        for team in ("lab", "ops"):
            await memory.add_heuristic(
                Heuristic(
                    team,
                    Tier.STRATEGIC,
                    "sums",
                    "add digits",
                    q_value=0.7,
                    uses=3,
                    successes=2,
                    run_ids=("r1", "r2"),
                )
            )
            await memory.add_heuristic(
                Heuristic(team, Tier.TOOL, "calculator", "use * for products", source="human")
            )
            low = await memory.add_heuristic(
                Heuristic(team, Tier.PROCEDURAL, "files", "read first", q_value=0.2)
            )
            assert low.id is not None
            await memory.set_pinned(low.id, True)
            await memory.add_experience(
                Experience(
                    team, "17*23", "calculator, then finish", "completed", 9.0, 2, "r1", q_value=0.8
                )
            )
            await memory.add_anchor(
                ScoreAnchor(team, "17*23", "Observation 1: 391", 5.0, 7.0, "it is right", "r1")
            )

    asyncio.run(go())
