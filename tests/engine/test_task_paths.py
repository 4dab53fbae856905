"""A path the task gives, copied wrongly by a small model, is read as the task gives it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.task_paths import restore_paths
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import act, one_agent_team, runner, team_model


@pytest.mark.parametrize(
    ("written", "task", "read"),
    [
        # As SmolLM2-135M wrote them on the tool-call benchmark.
        ("home/ana/report.pdf", "When was /home/ana/report.pdf changed?", "/home/ana/report.pdf"),
        ("~/etc/hosts", "Show me the first lines of /etc/hosts.", "/etc/hosts"),
        ("home/ana/shop", "Draw the tree of /home/ana/shop.", "/home/ana/shop"),
        ("http://localhost:8080/etc/hosts", "Show /etc/hosts as text.", "/etc/hosts"),
        ("home/ana/projects.json", "List what is in /home/ana/projects.", "/home/ana/projects"),
        ("jr/docs.txt", "List what is in /tmp/jr/docs.", "/tmp/jr/docs"),
        ("etc/app.conf.bak", "Make a backup of /etc/app.conf", "etc/app.conf.bak"),
        # Right, or not a path of the task: left as written.
        ("/tmp/jr/docs/a.txt", "Look in /tmp/jr/docs", "/tmp/jr/docs/a.txt"),  # under it
        ("/etc/app.conf.bak", "Back up /etc/app.conf", "/etc/app.conf.bak"),  # a new file
        ("/srv/etc/hosts", "Show /etc/hosts", "/srv/etc/hosts"),
        ("ana/notes.txt", "Read /home/ana/notes.md", "ana/notes.txt"),
        ("x/etc/hosts", "Diff /etc/hosts and /srv/etc/hosts", "x/etc/hosts"),  # either
        ("/etc/hosts", "Show /etc/hosts", "/etc/hosts"),
        ("notes.txt", "Read notes.txt", "notes.txt"),
        ("app.log", "Read the head of /var/log/app.log", "app.log"),
        ("example.com/a", "Fetch https://example.com/a", "example.com/a"),
        ("4", "What is 12/4?", "4"),
        ("2", "What is 1 /2?", "2"),  # one part: not taken for a path
        ("help", "Type /help to see more.", "help"),
        ("a/b", "Copy /x/a/b and /y/a/b", "a/b"),  # no path of the task is it
        ("a/b", "Compare /a/b and /a/b/", "a/b"),  # either: not guessed
        ("data/a.csv", "Copy /data/a.csv to data/a.csv", "data/a.csv"),  # the task gives it
        ("~/etc/hosts", "Compare /etc/hosts with ~/etc/hosts", "~/etc/hosts"),
        ("src/lib", "List /src/lib/ please", "/src/lib/"),
        ("home/ana/notes.txt", "Read /home/ana/notes.txt…", "/home/ana/notes.txt"),
    ],
)  # fmt: skip
def test_a_path_is_read_as_the_task_gives_it_when_that_is_plain(
    written: str, task: str, read: str
) -> None:
    action = Action("files.read", {"path": written, "lines": 3}, "read it")
    restored = restore_paths(action, task)
    assert restored.arguments == {"path": read, "lines": 3}
    assert restored.thought == "read it"
    assert (restored is action) == (read == written)


def test_an_answer_or_a_hand_over_is_left_as_written() -> None:
    task = "Sum up /home/ana/notes.txt"
    for action in (
        Action("finish", {"answer": "home/ana/notes.txt says hello"}),
        Action("delegate", {"agent": "clerk", "task": "home/ana/notes.txt"}),
    ):
        assert restore_paths(action, task) is action


def test_paths_in_a_list_are_read_as_the_task_gives_them() -> None:
    action = Action("files.read_many", {"paths": ["a/b.txt", "/c/d.txt", "e.txt"]})
    restored = restore_paths(action, "Compare /a/b.txt with /c/d.txt and e.txt")
    assert restored.arguments == {"paths": ["/a/b.txt", "/c/d.txt", "e.txt"]}


def test_an_agent_calls_its_tool_with_the_path_the_task_gives_and_is_told_so(
    tmp_path: Path,
) -> None:
    model = team_model(
        [act("read_file", path="notes/plan.txt"), act("finish", answer="Ship on Friday.")]
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[read_file]"),
            "What does /notes/plan.txt say?",
            [events.append],
        )
    )
    assert outcome.status == "completed", outcome.error
    (started,) = [e for e in events if isinstance(e, ev.ToolStarted)]
    assert started.arguments == {"path": "/notes/plan.txt"}
    proposed = [e for e in events if isinstance(e, ev.ActionProposed)]
    assert proposed[0].arguments == {"path": "/notes/plan.txt"}
    warnings = [e.message for e in events if isinstance(e, ev.WarningRaised)]
    assert (
        "solver's call is read with the paths as the task gives them "
        "(it wrote path='notes/plan.txt')." in warnings
    )


def test_only_an_argument_named_for_a_path_is_read_as_one_ending_like_the_tasks() -> None:
    task = "Copy /home/ana/docs/plan.txt into the backup folder"
    copy = Action(
        "files.copy", {"source": "/home/ana/docs/plan.txt", "destination": "backup/docs/plan.txt"}
    )
    assert restore_paths(copy, task) is copy  # the source is that path already
    copy = Action("files.copy", {"source": "ana/docs/plan.txt", "destination": "/backup"})
    assert restore_paths(copy, task).arguments["source"] == "/home/ana/docs/plan.txt"
    fetch = Action("fetch", {"url": "http://localhost:8080/api/users"})
    assert restore_paths(fetch, "Fetch /api/users from the test server") is fetch
    write = Action("files.write", {"path": "a.txt", "content": "see http://x/etc/hosts"})
    assert restore_paths(write, "Note where /etc/hosts is") is write
