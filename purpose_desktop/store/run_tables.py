"""The tables behind runs and teams: saved teams and their agents, runs, their events, steps,
checkpoints, score overrides and costs, and the model catalog.

Rows never leave :mod:`purpose_desktop.store`; queries return plain frozen dataclasses. JSON
columns hold text, so every database reads them the same way.
"""

from __future__ import annotations

import time

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _run_id() -> Column[str]:
    return Column(String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)


class TeamRow(SQLModel, table=True):
    """A team saved in the app; ``spec`` is its team file's content as JSON."""

    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    description: str = ""
    spec: str = Field(sa_column=Column(Text, nullable=False))
    source: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)


class AgentSpecRow(SQLModel, table=True):
    """One agent of a saved team, in the team's order (``position``)."""

    __tablename__ = "agent_specs"
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_agent_specs_name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(
        sa_column=Column(ForeignKey("teams.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    name: str
    role: str = Field(sa_column=Column(Text, nullable=False))
    model: str
    expertise: str = "[]"
    tools: str = "[]"
    review: str
    max_steps: int


class RunRow(SQLModel, table=True):
    """One run of a team on a task. ``team_spec`` and ``team_source`` are what resuming needs
    even after the team file changed; ``host`` and ``pid`` tell a run whose process died."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_started", "started_at"),
        Index("ix_runs_status", "status"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    team: str
    team_spec: str = Field(sa_column=Column(Text, nullable=False))
    team_source: str | None = Field(default=None, sa_column=Column(Text))
    task: str = Field(sa_column=Column(Text, nullable=False))
    status: str
    agent: str = ""
    answer: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    error: str | None = Field(default=None, sa_column=Column(Text))
    steps: int = 0
    phi: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float = 0.0
    last_seq: int = 0
    parent_run_id: str | None = None
    forked_from_step: int | None = None
    host: str = ""
    pid: int = 0
    process_started: float = 0.0
    started_at: float = Field(default_factory=time.time)
    finished_at: float | None = None


class EventRow(SQLModel, table=True):
    """One event of a run; ``data`` holds its fields other than run, sequence and time."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_events_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_id())
    seq: int
    type: str
    agent: str | None = None
    step: int | None = None
    timestamp: float
    data: str = Field(sa_column=Column(Text, nullable=False))


class StepRow(SQLModel, table=True):
    """A step as the engine recorded it when it checkpointed."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_steps_step"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_id())
    step: int
    agent: str
    tool: str
    arguments: str = Field(sa_column=Column(Text, nullable=False))
    thought: str = Field(sa_column=Column(Text, nullable=False))
    observation: str = Field(sa_column=Column(Text, nullable=False))
    ok: bool
    phi_before: float
    phi_after: float
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    heuristic_ids: str = "[]"


class CheckpointRow(SQLModel, table=True):
    """Everything a run needs to go on after ``step``, as JSON."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_checkpoints_step"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_id())
    step: int
    created_at: float = Field(default_factory=time.time)
    last_seq: int
    """The run's last event before the checkpoint: what a fork from it copies."""
    data: str = Field(sa_column=Column(Text, nullable=False))


class ScoreOverrideRow(SQLModel, table=True):
    __tablename__ = "score_overrides"
    __table_args__ = (Index("ix_score_overrides_run", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_id())
    step: int
    agent: str
    critic_phi: float
    phi: float
    reason: str = ""
    created_at: float = Field(default_factory=time.time)


class CostRow(SQLModel, table=True):
    """One model call's tokens, time and money. ``day`` is the local date (``YYYY-MM-DD``), so
    totals by day need no date functions, which differ between databases."""

    __tablename__ = "costs"
    __table_args__ = (
        Index("ix_costs_run", "run_id"),
        Index("ix_costs_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_id())
    agent: str
    model: str
    purpose: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost: float
    day: str
    created_at: float = Field(default_factory=time.time)


class ModelCatalogRow(SQLModel, table=True):
    """A model the catalog knows, with what its file header said (``details``, JSON)."""

    __tablename__ = "model_catalog"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_column=Column(String(1000), nullable=False, unique=True))
    title: str
    backend: str
    path: str | None = Field(default=None, sa_column=Column(Text))
    size_bytes: int | None = None
    modified_at: float | None = None
    details: str = Field(sa_column=Column(Text, nullable=False))
    added_at: float = Field(default_factory=time.time)


TABLE_NAMES = (
    "teams",
    "agent_specs",
    "runs",
    "events",
    "steps",
    "checkpoints",
    "score_overrides",
    "costs",
    "model_catalog",
)

# The tables as SQLAlchemy Core builds statements on them.
TEAMS: Table = SQLModel.metadata.tables["teams"]
AGENT_SPECS: Table = SQLModel.metadata.tables["agent_specs"]
RUNS: Table = SQLModel.metadata.tables["runs"]
EVENTS: Table = SQLModel.metadata.tables["events"]
STEPS: Table = SQLModel.metadata.tables["steps"]
CHECKPOINTS: Table = SQLModel.metadata.tables["checkpoints"]
SCORE_OVERRIDES: Table = SQLModel.metadata.tables["score_overrides"]
COSTS: Table = SQLModel.metadata.tables["costs"]
MODEL_CATALOG: Table = SQLModel.metadata.tables["model_catalog"]
