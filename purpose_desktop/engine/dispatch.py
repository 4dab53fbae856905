"""Handing each event to the code written for its type, with the event's own type checked.

A consumer registers a handler per event type and passes every event it receives to
:meth:`EventDispatcher.dispatch`::

    events = EventDispatcher()
    events.on(Scored, self._scored)  # _scored(event: Scored) -> None
    events.on(RunFinished, self._finished)
    events.dispatch(event)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from purpose_desktop.engine.events import E, Event


class EventDispatcher:
    """Calls the handlers registered for an event's exact type (not its base classes).

    An event of a type with no handler is ignored. A type may have several handlers: they are
    called in the order they were registered. A handler that raises stops the dispatch of that
    event, and the exception reaches the caller of :meth:`dispatch`.
    """

    def __init__(self) -> None:
        # Any: each list holds handlers of its key's type, which a dict's type cannot say;
        # on() is where the pairing is checked.
        self._handlers: dict[type[Event], list[Callable[[Any], None]]] = {}

    def on(self, kind: type[E], handler: Callable[[E], None]) -> None:
        """Have ``handler`` called with every event of type ``kind`` dispatched from now on."""
        self._handlers.setdefault(kind, []).append(handler)

    def dispatch(self, event: Event) -> bool:
        """Call the handlers of ``event``'s type; whether it had any."""
        handlers = self._handlers.get(type(event), ())
        for handler in handlers:
            handler(event)
        return bool(handlers)
