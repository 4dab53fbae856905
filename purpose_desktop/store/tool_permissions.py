"""Each team's standing approvals of tools and MCP servers: listed, added and revoked.

Every method runs its SQL in one short transaction and returns plain frozen data; the async
forms run it on a worker thread, the ``*_now`` forms are for the services' worker threads and
the CLI.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import ColumnElement, Engine, and_, delete, select

from purpose_desktop.engine.review import APPROVAL_KINDS, ApprovalKind, RememberedApproval
from purpose_desktop.store.database import reading, saving
from purpose_desktop.store.on_conflict import insert_on_conflict
from purpose_desktop.store.tool_permission_tables import TOOL_PERMISSIONS

_T = TOOL_PERMISSIONS.c


class ToolPermissionStore:
    """The approvals kept in a database opened with
    :func:`~purpose_desktop.store.opening.open_store`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def list_for(self, team: str) -> list[RememberedApproval]:
        return await asyncio.to_thread(self.list_now, team)

    async def allow(self, team: str, kind: ApprovalKind, name: str) -> RememberedApproval:
        return await asyncio.to_thread(self.allow_now, team, kind, name)

    async def revoke(self, team: str, kind: ApprovalKind, name: str) -> bool:
        return await asyncio.to_thread(self.revoke_now, team, kind, name)

    def list_now(self, team: str) -> list[RememberedApproval]:
        """``team``'s approvals: servers first, then tools, each by name."""
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(_T.team, _T.kind, _T.name, _T.created_at)
                .where(_T.team == team)
                .order_by(_T.kind, _T.name)  # "server" sorts before "tool"
            ).all()
        return [
            RememberedApproval(row.team, _kind(row.kind), row.name, float(row.created_at))
            for row in rows
        ]

    def allow_now(self, team: str, kind: ApprovalKind, name: str) -> RememberedApproval:
        """Keep the approval; one kept before stays as it was (with its first time)."""
        _check(kind, name)
        with saving(self._engine, "The approval") as connection:
            statement = insert_on_conflict(connection, TOOL_PERMISSIONS).values(
                team=team, kind=kind, name=name, created_at=time.time()
            )
            connection.execute(statement.on_conflict_do_nothing())
            created = connection.execute(
                select(_T.created_at).where(_matches(team, kind, name))
            ).scalar_one()
        return RememberedApproval(team, kind, name, float(created))

    def revoke_now(self, team: str, kind: ApprovalKind, name: str) -> bool:
        """Forget the approval; ``False`` if there was none."""
        with saving(self._engine, "The revocation") as connection:
            result = connection.execute(delete(TOOL_PERMISSIONS).where(_matches(team, kind, name)))
            return bool(result.rowcount)


def _matches(team: str, kind: str, name: str) -> ColumnElement[bool]:
    return and_(_T.team == team, _T.kind == kind, _T.name == name)


def _check(kind: str, name: str) -> None:
    if kind not in APPROVAL_KINDS:
        raise ValueError(f"An approval is of a tool or a server, not {kind!r}.")
    if not name.strip():
        raise ValueError("An approval names a tool or a server.")


def _kind(value: str) -> ApprovalKind:
    return "server" if value == "server" else "tool"
