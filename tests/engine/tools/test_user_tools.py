"""The user's own tools: Python files of a folder, found and called in child processes of
their own, never imported by the process that uses them."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.user_tool_worker import MODULE_PREFIX
from purpose_desktop.engine.tools.user_tools import UserTools, discover_user_tools
from purpose_desktop.errors import TeamFileError, UserError
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import (
    act,
    make_team,
    memory_at,
    one_agent_team,
    runner,
    team_model,
)

GREETINGS = '''
from os.path import join  # imported: not a tool
from typing import Literal


def greet(name: str, style: Literal["plain", "loud"] = "plain", times: int = 1) -> str:
    """Greet someone by name.

    Args:
        name: who to greet
        times: how many times
    """
    print("printed, not returned")  # goes to stderr, not into the answer
    text = f"Hello, {name}."
    return " ".join([text.upper() if style == "loud" else text] * times)


async def shout(text: str) -> str:
    """Say it loudly."""
    return text.upper() + "!"


def _helper() -> str:
    return "private"


def calculator(expression: str) -> str:
    """A calculator of my own."""
    return expression


def undocumented(x: int) -> int:
    return x


def untyped(x):
    """Has no type hints."""
    return x
'''

TROUBLE = '''
import os
import time


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


def refuse(city: str) -> str:
    """Weather for a city."""
    raise LookupError(f"no weather for {city}")


def hang(seconds: float) -> str:
    """Wait a long time."""
    time.sleep(seconds)
    return "woke up"


def die(code: int) -> str:
    """End the process at once."""
    os._exit(code)


def where() -> str:
    """Write a file in the working folder and say where that is."""
    with open("left-here.txt", "w") as file:
        file.write("x")
    return os.getcwd()


def greet(name: str) -> str:
    """A second greet."""
    return name
'''


def tools_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "tools"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def discover(folder: Path, **kwargs: float) -> UserTools:
    return asyncio.run(discover_user_tools(folder, **kwargs))


def user_modules(folder: Path) -> list[str]:
    """The modules of this process that came from ``folder`` or carry the workers' names."""
    return [
        name
        for name, module in list(sys.modules.items())
        if name.startswith(MODULE_PREFIX)
        or str(getattr(module, "__file__", "") or "").startswith(str(folder))
    ]


@pytest.mark.process
def test_public_functions_defined_in_each_file_become_tools_and_the_rest_are_problems(
    tmp_path: Path,
) -> None:
    folder = tools_folder(
        tmp_path,
        {
            "greetings.py": GREETINGS,
            "trouble.py": TROUBLE,
            "broken.py": "def oops(:\n    pass\n",
            "needs.py": "import no_such_module_here\n\ndef needy() -> str:\n    '''x'''\n",
            "_shared.py": "def shared() -> str:\n    '''Not a tool: a helper file.'''\n",
            "notes.txt": "def not_python() -> None: ...\n",
        },
    )
    found = discover(folder)

    assert [tool.name for tool in found.tools] == [
        "greet",
        "shout",
        "divide",
        "refuse",
        "hang",
        "die",
        "where",
    ]
    greet = found.get("greet")
    assert greet is not None and greet.risky
    assert greet.description == "Greet someone by name."
    assert greet.parameters == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "who to greet"},
            "style": {"type": "string", "enum": ["plain", "loud"], "default": "plain"},
            "times": {"type": "integer", "description": "how many times", "default": 1},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert found.get("Shout") is found.get("shout")  # names are forgiven as built-ins' are
    assert found.get("join") is None and found.get("_helper") is None

    assert sorted(found.problems) == sorted(
        [
            f"{folder / 'broken.py'}: cannot be loaded: SyntaxError: invalid syntax (line 1)",
            f"{folder / 'needs.py'}: cannot be loaded: ModuleNotFoundError: No module named "
            "'no_such_module_here'",
            f"{folder / 'greetings.py'}: calculator: a built-in tool has this name; this one "
            "is left out",
            f"{folder / 'greetings.py'}: undocumented: needs a docstring (the tool's description)",
            f"{folder / 'greetings.py'}: untyped: parameter 'x' of the untyped tool needs a "
            "type hint.",
            f"{folder / 'trouble.py'}: greet: the function in {folder / 'greetings.py'} has "
            "this name; this one is left out",
        ]
    )
    assert user_modules(folder) == []


def test_a_missing_or_empty_folder_has_no_tools_and_starts_no_process(tmp_path: Path) -> None:
    # Unmarked: a process started here would fail the test.
    assert discover(tmp_path / "nowhere") == UserTools(tmp_path / "nowhere")
    empty = tools_folder(tmp_path, {"_helpers.py": "X = 1\n"})
    assert discover(empty).tools == () and discover(empty).problems == ()


@pytest.mark.process
def test_calls_run_in_a_child_and_failures_become_tool_errors(tmp_path: Path) -> None:
    folder = tools_folder(tmp_path, {"greetings.py": GREETINGS, "trouble.py": TROUBLE})
    workspace = tmp_path / "workspace"

    async def scenario() -> None:
        found = await discover_user_tools(folder, timeout=2)

        def tool(name: str) -> Tool:
            found_tool = found.get(name)
            assert found_tool is not None
            return found_tool

        context = ToolContext(workspace)
        greeted = await call_tool(
            tool("greet"), {"name": "Ada", "style": "loud", "times": 2}, context
        )
        assert greeted == "HELLO, ADA. HELLO, ADA."
        assert await call_tool(tool("shout"), {"text": "hi"}, context) == "HI!"
        # JSON's 3 reaches a float parameter as 3.0; the result comes back as text.
        assert await call_tool(tool("divide"), {"a": 3, "b": 2}, context) == "1.5"
        # The workspace is the child's working folder, created when missing.
        assert await call_tool(tool("where"), {}, context) == str(workspace.resolve())
        assert (workspace / "left-here.txt").read_text() == "x"

        with pytest.raises(ToolError, match=r"^refuse failed: LookupError: no weather for Oz$"):
            await call_tool(tool("refuse"), {"city": "Oz"}, context)
        with pytest.raises(
            ToolError, match=r"^divide failed: ZeroDivisionError: float division by zero$"
        ):
            await call_tool(tool("divide"), {"a": 1, "b": 0}, context)
        with pytest.raises(
            ToolError, match=r"^die ended its process \(exit status 3\) before answering$"
        ):
            await call_tool(tool("die"), {"code": 3}, context)
        with pytest.raises(ToolError, match=r"^hang took longer than 2 s and was stopped$"):
            await call_tool(tool("hang"), {"seconds": 60}, context)
        # The arguments are checked against the schema before any process starts.
        with pytest.raises(ToolError, match="missing argument 'name'"):
            await call_tool(tool("greet"), {}, context)

    asyncio.run(scenario())
    assert user_modules(folder) == []


@pytest.mark.process
def test_a_file_that_hangs_or_crashes_on_import_is_named_and_those_before_it_still_load(
    tmp_path: Path,
) -> None:
    folder = tools_folder(
        tmp_path,
        {
            "a_first.py": "def first() -> str:\n    '''The first.'''\n    return '1'\n",
            "b_slow.py": "import time\ntime.sleep(60)\n",
        },
    )
    found = discover(folder, discovery_timeout=3)
    assert [tool.name for tool in found.tools] == ["first"]
    assert found.problems == (
        f"{folder / 'b_slow.py'}: importing it took longer than 3 s and was stopped",
    )

    (folder / "b_slow.py").write_text(
        "import os, sys\nprint('bye', file=sys.stderr)\nos._exit(4)\n"
    )
    crashed = discover(folder)
    assert [tool.name for tool in crashed.tools] == ["first"]
    assert crashed.problems == (
        f"{folder / 'b_slow.py'}: importing it ended its process (exit status 4) before "
        "answering: bye",
    )


@pytest.mark.process
def test_a_tool_source_gives_a_team_its_user_tool_and_names_what_there_is_for_a_missing_one(
    home: Paths, tmp_path: Path
) -> None:
    folder = tools_folder(home.home, {"greetings.py": GREETINGS})
    assert folder == home.user_tools_dir
    team = one_agent_team(tmp_path, tools="[calculator, greet, Shout]")
    source = ToolSource(user_tools=folder)
    found = asyncio.run(source.agent_tools(team.spec))
    assert [tool.name for tool in found["solver"]] == ["calculator", "greet", "shout"]

    # A file added later is found by the next run that names its tool.
    (folder / "waves.py").write_text('def wave() -> str:\n    """Wave."""\n    return "o/"\n')
    later = one_agent_team(tmp_path, tools="[wave]")
    assert [tool.name for tool in asyncio.run(source.agent_tools(later.spec))["solver"]] == ["wave"]
    (folder / "waves.py").unlink()

    # A file removed after the team loaded: the run says what there is.
    (folder / "gone.py").write_text("def gone() -> str:\n    '''Soon gone.'''\n")
    missing = one_agent_team(tmp_path, tools="[gone]")
    (folder / "gone.py").unlink()
    with pytest.raises(UserError) as caught:
        asyncio.run(source.agent_tools(missing.spec))
    assert str(caught.value) == (
        "solver's tool 'gone': There is no tool called 'gone'. The built-in tools are: "
        "calculator, python, read_file, write_file, list_files, note, read_notes; your own "
        f"tools (in {folder}): greet, shout. Problems with your tools: "
        f"{folder / 'greetings.py'}: undocumented: needs a docstring (the tool's "
        f"description); {folder / 'greetings.py'}: untyped: parameter 'x' of the untyped tool "
        f"needs a type hint; {folder / 'greetings.py'}: calculator: a built-in tool has this "
        "name; this one is left out."
    )
    assert user_modules(folder) == []


def test_a_team_file_names_user_tools_and_an_unknown_name_is_a_validation_message(
    home: Paths, tmp_path: Path
) -> None:
    folder = tools_folder(home.home, {"greetings.py": GREETINGS, "broken.py": "def (:\n"})
    team = one_agent_team(tmp_path, tools="[greet, shout, time.get_current_time]")
    assert team.spec.agents[0].tools == ("greet", "shout", "time.get_current_time")
    with pytest.raises(TeamFileError) as caught:
        one_agent_team(tmp_path, tools="[greet, teleport]")
    assert "Unknown tool 'teleport'. The built-in tools are: calculator, python," in str(
        caught.value
    )
    assert (
        f"your own tools (Python functions in {folder}): greet, shout, calculator, "
        "undocumented, untyped; an MCP server's tool is named SERVER.TOOL"
    ) in str(caught.value)


@pytest.mark.process
def test_an_agent_calls_a_user_tool_in_a_run_and_its_result_is_in_the_events(
    home: Paths, tmp_path: Path
) -> None:
    folder = tools_folder(home.home, {"greetings.py": GREETINGS})

    def agent(messages: Sequence[ChatMessage]) -> str:
        if "Hello, Grace." not in messages[-1].content:
            return act("greet", name="Grace")
        return act("finish", answer="Hello, Grace.")

    team = one_agent_team(tmp_path, tools="[greet]")
    events: list[ev.Event] = []
    source = ToolSource(user_tools=folder)

    async def scenario() -> None:
        outcome = await runner(
            tmp_path, ScriptedProvider({"m": team_model(agent)}), tools=source
        ).run(team, "Greet Grace.", [events.append])
        assert outcome.status == "completed", outcome.error
        called = outcome.steps[0]
        assert called.action.tool == "greet"
        assert called.observation.ok
        assert called.observation.text == "Hello, Grace."
        (finished,) = [e for e in events if isinstance(e, ev.ToolFinished)]
        assert (finished.tool, finished.ok, finished.output) == ("greet", True, "Hello, Grace.")

    asyncio.run(scenario())
    assert user_modules(folder) == []


MULTIPLY = '''
def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a * b
'''


@pytest.mark.model
def test_the_bundled_model_calls_a_user_tool_and_its_result_is_in_the_events(
    home: Paths, tmp_path: Path, router: ModelRouter
) -> None:
    folder = tools_folder(home.home, {"arithmetic.py": MULTIPLY})
    team = make_team(
        "name: Multipliers\nagents:\n  - name: counter\n"
        "    role: You multiply numbers with the multiply tool, then finish with the number.\n"
        "    model: bundled:smollm2-135m\n    tools: [multiply]\n    max_steps: 3\n"
        "    review: never\n",
        tmp_path,
    )
    events: list[ev.Event] = []
    source = ToolSource(user_tools=folder)

    async def scenario() -> None:
        try:
            runner = TeamRunner(
                router,
                memory_at(tmp_path / "m.sqlite3"),
                workspaces_dir=tmp_path / "workspaces",
                max_answer_tokens=96,
                tools=source,
            )
            await runner.run(team, "What is 17 times 23?", [events.append])
        finally:
            await router.aclose()

    asyncio.run(scenario())
    proposed = [e for e in events if isinstance(e, ev.ActionProposed)]
    assert proposed and proposed[0].tool == "multiply"
    finished = [e for e in events if isinstance(e, ev.ToolFinished)]
    first = finished[0]
    arguments = proposed[0].arguments
    assert (first.tool, first.ok) == ("multiply", True)
    # The product of what the model asked for, computed by the user's function.
    assert first.output == str(int(arguments["a"]) * int(arguments["b"]))
    assert user_modules(folder) == []
