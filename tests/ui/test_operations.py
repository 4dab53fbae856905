"""The one helper for a pane's background work: results, failures, bugs and replacement."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop, on_loop
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.tasks import TaskKeeper

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]


class Seen:
    def __init__(self) -> None:
        self.done: list[object] = []
        self.failed: list[str] = []
        self.bugs: list[BaseException] = []
        self.operations = Operations(TaskKeeper(self.bugs.append))

    def start(
        self, name: str, work: Callable[[], Coroutine[Any, Any, object]], *, latest: bool = False
    ) -> asyncio.Task[None]:
        return self.operations.run(
            name,
            work,
            done=self.done.append,
            failed=lambda exc: self.failed.append(str(exc)),
            latest=latest,
        )


def test_a_result_reaches_done_on_the_loop_thread(run_in_qt_loop: RunInLoop) -> None:
    seen = Seen()
    threads: list[str] = []

    def blocking() -> int:
        threads.append(threading.current_thread().name)
        return 42

    async def main() -> None:
        await seen.start("answer", lambda: off_loop(blocking))

    run_in_qt_loop(main())
    assert seen.done == [42]
    assert seen.failed == [] and seen.bugs == []
    assert threads and threads[0] != threading.main_thread().name


def test_a_user_error_goes_to_failed_and_a_bug_to_the_error_reporter(
    run_in_qt_loop: RunInLoop,
) -> None:
    seen = Seen()

    async def refused() -> object:
        raise UserError("The database file is gone.")

    async def broken() -> object:
        raise KeyError("a bug")

    async def main() -> None:
        await seen.start("refused", refused)
        await asyncio.gather(seen.start("broken", broken), return_exceptions=True)

    run_in_qt_loop(main())
    assert seen.failed == ["The database file is gone."]
    assert seen.done == []
    assert [type(bug) for bug in seen.bugs] == [KeyError]


def test_a_later_operation_of_the_same_name_replaces_an_unfinished_one(
    run_in_qt_loop: RunInLoop,
) -> None:
    seen = Seen()

    async def main() -> None:
        gate = asyncio.Event()

        async def slow() -> object:
            await gate.wait()
            return "old"

        async def quick() -> object:
            return "new"

        first = seen.start("refresh", slow, latest=True)
        await asyncio.sleep(0)
        assert seen.operations.busy("refresh")
        second = seen.start("refresh", quick, latest=True)
        gate.set()
        await asyncio.gather(first, second, return_exceptions=True)
        assert first.cancelled()
        assert not seen.operations.busy("refresh")

    run_in_qt_loop(main())
    assert seen.done == ["new"]


def test_an_operation_cancelled_before_it_starts_never_calls_its_work(
    run_in_qt_loop: RunInLoop,
) -> None:
    seen = Seen()
    calls: list[str] = []

    async def work() -> object:
        calls.append("called")
        return "result"

    async def main() -> None:
        task = seen.start("refresh", work, latest=True)
        seen.operations.cancel("refresh")
        await asyncio.gather(task, return_exceptions=True)

    run_in_qt_loop(main())
    assert calls == [] and seen.done == [] and seen.bugs == []


def test_progress_from_a_worker_thread_is_reported_on_the_loop(
    run_in_qt_loop: RunInLoop,
) -> None:
    reports: list[tuple[int, bool]] = []

    async def main() -> None:
        report = on_loop(
            lambda n: reports.append((n, threading.current_thread() is threading.main_thread()))
        )

        def count() -> None:
            for n in range(3):
                report(n)

        await off_loop(count)
        await asyncio.sleep(0.05)

    run_in_qt_loop(main())
    assert reports == [(0, True), (1, True), (2, True)]
