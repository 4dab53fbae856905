"""The tables behind a team's memory: heuristics (and the runs that used them), experiences and
score anchors, each with a full-text index over its text.

Rows never leave :mod:`purpose_desktop.store`; the store turns them into the frozen dataclasses
of :mod:`purpose_desktop.engine.learning.memory`.
"""

from __future__ import annotations

import time

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from purpose_desktop.store.full_text import FullTextIndex


class HeuristicRow(SQLModel, table=True):
    __tablename__ = "heuristics"
    __table_args__ = (
        # Also what add_heuristic looks duplicates up by.
        UniqueConstraint("team", "tier", "pattern", "strategy", name="uq_heuristics_text"),
        # A team's heuristics best first, without a query.
        Index("ix_heuristics_team_rank", "team", "pinned", "q_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str
    tier: str
    pattern: str
    strategy: str
    q_value: float = 0.5
    uses: int = 0
    successes: int = 0
    source: str = "distilled"
    pinned: bool = False
    created_at: float = Field(default_factory=time.time)


class HeuristicRunRow(SQLModel, table=True):
    """A run that used a heuristic; ``id`` keeps them in the order they were noted."""

    __tablename__ = "heuristic_runs"
    __table_args__ = (
        UniqueConstraint("heuristic_id", "run_id", name="uq_heuristic_runs"),
        Index("ix_heuristic_runs_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    heuristic_id: int = Field(
        sa_column=Column(Integer, ForeignKey("heuristics.id", ondelete="CASCADE"), nullable=False)
    )
    run_id: str


class ExperienceRow(SQLModel, table=True):
    __tablename__ = "experiences"
    __table_args__ = (
        Index("ix_experiences_team_rank", "team", "q_value"),
        Index("ix_experiences_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str
    task: str
    summary: str
    outcome: str
    final_phi: float
    steps: int
    run_id: str
    q_value: float = 0.5
    created_at: float = Field(default_factory=time.time)


class ScoreAnchorRow(SQLModel, table=True):
    __tablename__ = "score_anchors"
    __table_args__ = (
        Index("ix_score_anchors_team", "team"),
        Index("ix_score_anchors_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str
    task: str
    state: str
    critic_score: float
    human_score: float
    reason: str
    run_id: str
    created_at: float = Field(default_factory=time.time)


TABLE_NAMES = ("heuristics", "heuristic_runs", "experiences", "score_anchors")

# The tables as SQLAlchemy Core builds statements on them.
HEURISTICS: Table = SQLModel.metadata.tables["heuristics"]
HEURISTIC_RUNS: Table = SQLModel.metadata.tables["heuristic_runs"]
EXPERIENCES: Table = SQLModel.metadata.tables["experiences"]
SCORE_ANCHORS: Table = SQLModel.metadata.tables["score_anchors"]

HEURISTICS_FTS = FullTextIndex("heuristics_fts", "heuristics", ("pattern", "strategy"))
EXPERIENCES_FTS = FullTextIndex("experiences_fts", "experiences", ("task", "summary"))
ANCHORS_FTS = FullTextIndex("score_anchors_fts", "score_anchors", ("task", "state"))
FULL_TEXT_INDEXES = (HEURISTICS_FTS, EXPERIENCES_FTS, ANCHORS_FTS)
