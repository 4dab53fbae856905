"""Each team's standing approvals of tools and MCP servers, for the Team pane (listed and
revoked) and for runs (read when a run starts, kept when a person asks during one).

Every method does its work off the event loop and returns plain frozen data; a database that
fails raises :class:`~purpose_desktop.errors.UserError` with the reason. Importing this module
loads neither SQLAlchemy nor the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError

if TYPE_CHECKING:
    from purpose_desktop.engine.review import ApprovalKind, RememberedApproval
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store
    from purpose_desktop.store.tool_permissions import ToolPermissionStore


class ToolPermissionsService:
    """The approvals kept in the database of ``store``. It is the runs'
    :class:`~purpose_desktop.engine.review.ApprovalMemory` too."""

    def __init__(self, store: StoreService) -> None:
        self._store = store

    async def list_for(self, team: str) -> tuple[RememberedApproval, ...]:
        """``team``'s approvals: servers first, then tools, each by name."""
        return tuple(await self._store.run_blocking(lambda store: _approvals(store).list_now(team)))

    async def allow(self, team: str, kind: ApprovalKind, name: str) -> RememberedApproval:
        """Allow ``team``'s runs to call the tool (``kind`` ``"tool"``) or every tool of the
        MCP server (``"server"``) called ``name`` without asking; one allowed before stays."""
        from purpose_desktop.engine.review import APPROVAL_KINDS

        if kind not in APPROVAL_KINDS or not name.strip() or not team.strip():
            raise UserError(f"Only a team can allow a tool or a server, not {kind} {name!r}.")
        return await self._store.run_blocking(
            lambda store: _approvals(store).allow_now(team, kind, name)
        )

    async def revoke(self, team: str, kind: ApprovalKind, name: str) -> None:
        """Ask again about the tool or server from the team's next run on; raises
        :class:`UserError` when it was not allowed."""
        revoked = await self._store.run_blocking(
            lambda store: _approvals(store).revoke_now(team, kind, name)
        )
        if not revoked:
            raise UserError(f"The team {team!r} had not allowed the {kind} {name!r}.")

    # --- as the runs' ApprovalMemory ------------------------------------------------------

    async def allowed_keys(self, team: str) -> frozenset[str]:
        """``team``'s approvals as a run holds them (``calculator``, ``time.*``)."""
        return frozenset(approval.key for approval in await self.list_for(team))

    async def remember(self, team: str, kind: ApprovalKind, name: str) -> RememberedApproval:
        """:meth:`allow`, for a run in which the person asked to remember an approval."""
        return await self.allow(team, kind, name)


def _approvals(store: Store) -> ToolPermissionStore:
    # On a worker thread, the store open: the module loads SQLAlchemy, imported there.
    from purpose_desktop.store.tool_permissions import ToolPermissionStore

    return ToolPermissionStore(store.engine)
