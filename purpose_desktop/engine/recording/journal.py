"""Where a run's record goes as it happens: the :class:`RunJournal` protocol.

The engine hands the journal its events and a checkpoint after every step, in order and without
waiting; the journal commits them in the same order, so a committed checkpoint implies every
event before it is committed too. After a crash the run can go on from its last committed
checkpoint (:meth:`RunJournal.resume_point`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from purpose_desktop.engine.events import Event, RunStatus
from purpose_desktop.engine.recording.checkpoint import Checkpoint
from purpose_desktop.errors import UserError

#: A stored run's status: how it ended, or that it is still going, or that its process died.
StoredStatus = RunStatus | Literal["running", "interrupted"]


class RecordingStopped(UserError):
    """The journal can record nothing more (its writer died): a run under way must end, as
    its record could never be completed."""

    PREFIX = "The run could not be recorded: "

    @classmethod
    def because(cls, reason: str) -> RecordingStopped:
        """The error for a journal stopped for ``reason``, worded the same wherever raised."""
        return cls(f"{cls.PREFIX}{reason}")


@dataclass(frozen=True)
class RunHeader:
    """What a run is, beyond its events: enough to rebuild its team and go on with it.

    ``team_spec`` is the team as JSON; ``team_source`` is its file, which relative model
    paths are resolved against. A fork names the run and step it came from. ``resumed`` marks
    a run taken up again after it was interrupted, rather than a new one.
    """

    run_id: str
    team: str
    team_spec: str
    team_source: str | None
    task: str
    parent_run_id: str | None = None
    forked_from_step: int | None = None
    resumed: bool = False
    started_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ResumePoint:
    """A stored run and a checkpoint to go on from. ``checkpoint_seq`` numbers the last event
    before the checkpoint, ``last_seq`` the run's last event."""

    header: RunHeader
    status: StoredStatus
    checkpoint: Checkpoint
    checkpoint_seq: int
    last_seq: int


class RunJournal(Protocol):
    """Records runs. The recording methods queue and return at once; ``flush`` waits."""

    def begin(self, header: RunHeader) -> None:
        """A run starts, or an interrupted one goes on (``header.resumed``)."""

    def record(self, event: Event) -> None:
        """One event of a run begun before."""

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        """The run's state after a step; committed after every event recorded before it."""

    @property
    def problem(self) -> str | None:
        """Why recording fails at the moment (a full disk, say), or ``None``. What could not
        be committed is kept and tried again."""

    @property
    def stopped(self) -> str | None:
        """Why the journal has stopped recording for good (its writer died), or ``None``.
        Once stopped, what is recorded is dropped and :meth:`flush` raises
        :class:`RecordingStopped` at once."""

    async def flush(self) -> None:
        """Wait until everything recorded so far is committed; raises what kept it from
        being committed (a :class:`~purpose_desktop.errors.UserError`). Never waits for a
        writer that has stopped."""

    async def resume_point(self, run_id: str, step: int | None = None) -> ResumePoint:
        """The run's checkpoint after ``step`` (the latest when ``None``). Raises
        :class:`~purpose_desktop.errors.UserError` for an unknown run or step."""
