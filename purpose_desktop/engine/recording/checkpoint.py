"""What a run needs to go on from the end of a step: written after every step, read to resume
a run after a crash or to fork it from an earlier step."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.costs import CallCost
from purpose_desktop.engine.trajectory import Action, Exchange, Observation, State, Step

if TYPE_CHECKING:
    from pydantic import TypeAdapter


@dataclass(frozen=True)
class PendingDelegation:
    """A step whose action handed a subtask to a teammate that has not answered yet."""

    step: int
    action: Action
    heuristic_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Frame:
    """One agent's turn on one task, as far as it got: what its model and the critic saw."""

    agent: str
    task: str
    depth: int = 0
    steps_taken: int = 0
    exchanges: tuple[Exchange, ...] = ()
    observations: tuple[str, ...] = ()
    phi: float = 0.0
    failed_steps: int = 0
    delegating: PendingDelegation | None = None

    def with_state(self, state: State) -> Frame:
        """This turn with its task and observations replaced by ``state``'s (as a person
        edited them before forking); each exchange keeps its action and gets the edited
        observation at its place."""
        if len(state.observations) != len(self.observations):
            raise ValueError(
                f"the edited state has {len(state.observations)} observations; the step had "
                f"{len(self.observations)}"
            )
        exchanges = tuple(
            replace(exchange, observation=Observation(text, exchange.observation.ok))
            for exchange, text in zip(self.exchanges, state.observations, strict=False)
        )
        return replace(
            self,
            task=state.task,
            observations=state.observations,
            exchanges=exchanges + self.exchanges[len(exchanges) :],
        )


@dataclass(frozen=True)
class Checkpoint:
    """A run after its step ``step``. ``frames`` holds the selected agent's turn first and,
    while it waits for a teammate, the teammate's turn after it."""

    run_id: str
    step: int
    frames: tuple[Frame, ...]
    steps: tuple[Step, ...] = ()
    calls: tuple[CallCost, ...] = ()
    always_allowed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    """How long the run had been going."""

    @property
    def state(self) -> State:
        """The selected agent's state: its task and what it observed."""
        top = self.frames[0]
        return State(top.task, top.observations)


class CheckpointError(ValueError):
    """A stored checkpoint that cannot be read back."""


@cache
def _adapter() -> TypeAdapter[Checkpoint]:
    from pydantic import TypeAdapter

    return TypeAdapter(Checkpoint)


def encode_checkpoint(checkpoint: Checkpoint) -> str:
    return json.dumps(_adapter().dump_python(checkpoint, mode="json"), ensure_ascii=False)


def decode_checkpoint(text: str) -> Checkpoint:
    """The checkpoint :func:`encode_checkpoint` wrote; :class:`CheckpointError` otherwise."""
    from pydantic import ValidationError

    try:
        value: Any = json.loads(text)
        return _adapter().validate_python(value)
    except (ValueError, ValidationError) as exc:
        raise CheckpointError(f"the checkpoint cannot be read: {exc}") from None
