"""The table of the approvals a team keeps standing: tools and MCP servers whose calls its
runs do not ask about (see :mod:`purpose_desktop.store.tool_permissions`).

Rows never leave :mod:`purpose_desktop.store`; the store returns plain frozen dataclasses.
"""

from __future__ import annotations

import time

from sqlalchemy import Column, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ToolPermissionRow(SQLModel, table=True):
    """A team's standing approval: ``kind`` ``tool`` names a tool (``calculator``,
    ``time.get_current_time``), ``server`` an MCP server (``time``); once per team."""

    __tablename__ = "tool_permissions"
    __table_args__ = (
        UniqueConstraint("team", "kind", "name", name="uq_tool_permissions_team_kind_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Text: a team's name is bounded by the team file's rules, not by this table.
    team: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    created_at: float = Field(default_factory=time.time)


TABLE_NAMES = ("tool_permissions",)

#: The table as SQLAlchemy Core builds statements on it.
TOOL_PERMISSIONS: Table = SQLModel.metadata.tables["tool_permissions"]
