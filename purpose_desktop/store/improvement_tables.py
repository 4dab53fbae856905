"""The table of improvement benchmark results (see
:mod:`purpose_desktop.engine.learning.improvement`).

Rows never leave :mod:`purpose_desktop.store`; :mod:`~purpose_desktop.store.improvement_store`
returns plain frozen dataclasses.
"""

from __future__ import annotations

import time

from sqlalchemy import Column, Index, Table, Text
from sqlmodel import Field, SQLModel


class ImprovementResultRow(SQLModel, table=True):
    """One benchmark result, whole: ``result`` is its JSON, as its file holds it, so it reads
    back exactly as saved. Suite, team, model and ``created_at`` (when the benchmark finished,
    seconds since the epoch) repeat what it says, for listing without reading the JSON;
    ``file`` is the JSON file it was saved to at the same time, if any."""

    __tablename__ = "improvement_results"
    __table_args__ = (Index("ix_improvement_results_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Text, not a bounded string: PostgreSQL would refuse a longer name, and a model may be
    # a path to a GGUF file, or several models joined by commas.
    suite: str = Field(sa_column=Column(Text, nullable=False))
    team: str = Field(sa_column=Column(Text, nullable=False))
    model: str = Field(sa_column=Column(Text, nullable=False))
    created_at: float
    saved_at: float = Field(default_factory=time.time)
    file: str | None = Field(default=None, sa_column=Column(Text))
    result: str = Field(sa_column=Column(Text, nullable=False))


TABLE_NAMES = ("improvement_results",)

#: The table as SQLAlchemy Core builds statements on it.
IMPROVEMENT_RESULTS: Table = SQLModel.metadata.tables["improvement_results"]
