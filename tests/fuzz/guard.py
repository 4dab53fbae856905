"""What counts as a crash when bad input is fed to a boundary: an exception other than the
boundary's own :class:`~purpose_desktop.errors.UserError`, a message of more than one line, or
a call that has not returned after :data:`HANG_SECONDS`."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

from purpose_desktop.errors import UserError

#: Far beyond what any refusal takes: only a call that would never return gets near it.
HANG_SECONDS = 30
T = TypeVar("T")


class Hang(BaseException):
    """Raised into a call that went on past :data:`HANG_SECONDS`."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def interrupt(_signal: int, _frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(error: type[UserError], call: Callable[[], object]) -> str:
    """The one-line message ``call`` refuses its input with, as ``error``; fails the test
    when it accepts the input, raises anything else, or hangs."""
    with no_hang():
        try:
            accepted = call()
        except error as exc:
            message = str(exc)
            assert message, "an empty message"
            assert "\n" not in message, message
            return message
    raise AssertionError(f"accepted: {accepted!r}")
