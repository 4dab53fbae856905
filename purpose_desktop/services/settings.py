"""The user's settings file, written off the event loop."""

from __future__ import annotations

import asyncio

from purpose_desktop.config import Paths, Settings, save_settings
from purpose_desktop.services.background import off_loop


class SettingsService:
    """Saves the settings of the home folder ``paths`` describes."""

    def __init__(self, paths: Paths) -> None:
        self._paths = paths
        self._writing = asyncio.Lock()

    async def save(self, settings: Settings) -> None:
        """Write ``settings`` to the settings file (atomically: a failed write leaves the
        file as it was); :class:`UserError` when it cannot be written. Saves asked for
        one after another are written in that order, so the last one asked for is kept."""
        # One write at a time: two at once would share the temporary file, and the older
        # settings could be renamed over the newer ones (Ctrl++ pressed twice quickly).
        async with self._writing:
            await off_loop(save_settings, self._paths, settings)
