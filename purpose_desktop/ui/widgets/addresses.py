"""Checking a web address typed into a form, before anything tries to reach it."""

from __future__ import annotations

from urllib.parse import urlsplit


def address_problem(url: str, example: str) -> str | None:
    """Why ``url`` is not an http(s) address such as ``example``, or ``None`` when it is one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        return "This is not a valid address."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"The address starts with http:// or https://, like {example}"
    return None
