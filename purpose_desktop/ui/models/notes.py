"""The lines of the models pane's message area: what happened, and whether it went well."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Meaning = Literal["error", "warning", "success", "info"]


@dataclass(frozen=True)
class Note:
    """One line of the pane's message area: what happened, and whether it went well."""

    meaning: Meaning
    text: str
