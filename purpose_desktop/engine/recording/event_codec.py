"""Events as JSON and back: how the store keeps them and run files carry them.

A record is the event's fields plus its type's name under ``"type"``; a field that is itself a
dataclass (a recalled memory) is an object of its fields. Reading one back checks it against
the event's type, so a record that was edited or written by something else gives a clear error
instead of a half-valid event. Records written before recalled memories had names, which hold
each as a list (``[id, tier, strategy]``), are read too.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine import events

if TYPE_CHECKING:
    from pydantic import TypeAdapter

#: The fields every event has, which the store keeps in columns of their own.
ENVELOPE = ("run_id", "seq", "timestamp")

#: Fields whose items older records hold as lists of values in field order, by event type.
_POSITIONAL: dict[type[events.Event], dict[str, type[Any]]] = {
    events.MemoryRetrieved: {
        "heuristics": events.RecalledHeuristic,
        "experiences": events.RecalledExperience,
    },
}


class EventFormatError(ValueError):
    """A record that is not an event of a known type with valid fields."""


def event_types() -> dict[str, type[events.Event]]:
    """Every concrete event type by name."""
    return _types()


@cache
def _types() -> dict[str, type[events.Event]]:
    found: dict[str, type[events.Event]] = {}
    for value in vars(events).values():
        if (
            isinstance(value, type)
            and issubclass(value, events.Event)
            and (value is not events.Event)
        ):
            found[value.__name__] = value
    return found


@cache
def _adapter(name: str) -> TypeAdapter[events.Event]:
    from pydantic import TypeAdapter

    return TypeAdapter(_types()[name])


def encode_event(event: events.Event) -> dict[str, Any]:
    """The event as a JSON-ready dict: its type's name under ``"type"``, then its fields."""
    return {"type": type(event).__name__, **_plain(event)}


def decode_event(record: Any) -> events.Event:
    """The event a record from :func:`encode_event` describes; :class:`EventFormatError` if
    it describes none."""
    from pydantic import ValidationError

    if not isinstance(record, dict):
        raise EventFormatError(f"an event must be a JSON object, not {type(record).__name__}")
    fields = dict(record)
    name = fields.pop("type", None)
    event_type = _types().get(name) if isinstance(name, str) else None
    if event_type is None:
        raise EventFormatError(f"unknown event type {name!r}")
    # Strict about unknown fields: a record of another type must not pass as this one.
    unknown = set(fields) - {f.name for f in dataclasses.fields(event_type)}
    if unknown:
        raise EventFormatError(f"{name}: unknown field {sorted(unknown)[0]!r}")
    # The envelope has defaults for events not emitted yet; a stored event must have its own.
    missing = [field for field in ENVELOPE if field not in fields]
    if missing:
        raise EventFormatError(f"{name}: {missing[0]}: Field required")
    for field, payload in _POSITIONAL.get(event_type, {}).items():
        if isinstance(items := fields.get(field), list):
            fields[field] = [_named(item, payload) for item in items]
    try:
        return _adapter(event_type.__name__).validate_python(fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the event"
        raise EventFormatError(f"{name}: {where}: {problem['msg']}") from None


def _named(item: Any, payload: type[Any]) -> Any:
    """An item of an older record, ``[id, tier, strategy]``, as the fields of ``payload``;
    anything else as it is, for validation to judge."""
    names = [f.name for f in dataclasses.fields(payload)]
    if isinstance(item, list) and len(item) == len(names):
        return dict(zip(names, item, strict=True))
    return item


def _plain(value: Any) -> Any:
    """Dataclasses and mappings as dicts and tuples as lists, all the way down: what JSON
    holds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in value.items()}
    return value
