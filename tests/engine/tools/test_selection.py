"""Tool RAG: the tools shown to a model are the ones its task points at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from purpose_desktop.engine.tools.base import Tool, ToolContext
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.engine.tools.selection import (
    clear_choice,
    likely_tools,
    relevance,
    select_tools,
)


def names(tools: tuple[Tool, ...]) -> list[str]:
    return [tool.name for tool in tools]


async def _nothing(arguments: Mapping[str, Any], context: ToolContext) -> str:
    return ""


def tool(name: str, description: str) -> Tool:
    """A tool of no parameters that a test only offers."""
    return Tool(name, description, {"type": "object", "properties": {}}, _nothing)


@pytest.mark.parametrize(
    "task",
    [
        "What is 17*23?",
        "what is 1234 times 5678",
        "How many legs do 7 spiders have?",
        "Compute 15% of 80",
        "Add 250 and 175, then divide by 5",
        "sqrt(2) to five digits",
    ],
)
def test_arithmetic_tasks_get_the_calculator_first(task: str) -> None:
    assert names(select_tools(task, BUILTIN_TOOLS))[0] == "calculator"
    assert relevance(task, _tool("calculator")) >= 1.0


@pytest.mark.parametrize(
    ("task", "best"),
    [
        ("Read the file notes.txt and summarise it", "read_file"),
        ("Open data.csv and show me the first rows", "read_file"),
        ("Save the summary to report.md", "write_file"),
        ("Write the answer into a file called answer.txt", "write_file"),
        ("List the files in the workspace", "list_files"),
        ("Which files are in the folder?", "list_files"),
    ],
)
def test_file_tasks_get_the_file_tools(task: str, best: str) -> None:
    chosen = names(select_tools(task, BUILTIN_TOOLS))
    assert chosen[0] == best
    assert set(chosen) >= {best}
    assert "calculator" not in chosen
    assert relevance(task, _tool(best)) >= 1.0


def test_other_tasks_get_the_other_tools() -> None:
    assert (
        names(select_tools("Run a python script that sorts these words", BUILTIN_TOOLS))[0]
        == "python"
    )
    assert names(select_tools("Remember this fact for later", BUILTIN_TOOLS))[0] == "note"
    assert "read_notes" in names(select_tools("What did we note earlier?", BUILTIN_TOOLS))


def test_relevance_is_low_when_the_task_does_not_need_the_tool() -> None:
    assert relevance("Who wrote Hamlet?", _tool("calculator")) == 0.0
    assert relevance("Write a poem about spring", _tool("write_file")) < 1.0
    assert relevance("List three benefits of exercise", _tool("list_files")) < 1.0
    assert relevance("What happened on 2024-05-01?", _tool("calculator")) < 1.0
    assert relevance("Summarise pages 10-20", _tool("calculator")) < 1.0


def test_naming_a_tool_points_at_it() -> None:
    assert relevance("use the calculator", _tool("calculator")) >= 1.0
    assert relevance("call read_file on it", _tool("read_file")) >= 1.0


def test_always_returns_the_limit_in_a_stable_order() -> None:
    first = select_tools("Tell me a story", BUILTIN_TOOLS)
    assert first == BUILTIN_TOOLS[:3]  # nothing matches: the given order
    assert select_tools("Tell me a story", BUILTIN_TOOLS[::-1], limit=2) == (
        BUILTIN_TOOLS[-1],
        BUILTIN_TOOLS[-2],
    )
    assert len(select_tools("17*23", BUILTIN_TOOLS, limit=10)) == len(BUILTIN_TOOLS)
    assert select_tools("17*23", BUILTIN_TOOLS, limit=0) == ()
    assert select_tools("17*23", (), limit=3) == ()
    with pytest.raises(ValueError, match="limit"):
        select_tools("17*23", BUILTIN_TOOLS, limit=-1)


def test_rare_words_weigh_more_among_candidates() -> None:
    weather = tool("weather", "Look up the weather forecast for a city.")
    city = tool("city_facts", "Facts about a city: population, area, mayor.")
    task = "What is the forecast for the city?"
    assert names(select_tools(task, (city, weather), limit=1)) == ["weather"]
    assert relevance(task, weather, among=(weather, city)) > relevance(
        task, city, among=(weather, city)
    )


def test_a_web_address_points_at_the_tool_that_fetches_urls() -> None:
    fetch = tool("fetch", "Fetches a URL from the internet and extracts its contents.")
    query = tool("read_query", "Execute a SELECT query on the SQLite database.")
    tools = (query, *BUILTIN_TOOLS, fetch)
    for task in ("Read https://news.ycombinator.com for me.", "What does www.example.org say?"):
        assert names(select_tools(task, tools, limit=1)) == ["fetch"]
        assert relevance(task, fetch) > 0.0
    assert relevance("Read the news for me.", fetch) == 0.0  # no address, no signal
    # The address alone leaves the choice to the model; naming the tool besides makes it clear.
    assert clear_choice("Show me https://example.org/help", tools) is None
    assert clear_choice("Fetch https://example.org/help", tools) is fetch


def test_an_mcp_tool_is_named_without_its_server_as_well() -> None:
    read = tool("filesystem.read_file", "Read a file. Deprecated: use read_text_file.")
    text = tool("filesystem.read_text_file", "Read the complete contents of a file as text.")
    media = tool("filesystem.read_media_file", "Read an image or audio file.")
    tools = (text, media, read)
    task = "Read the whole file /home/ana/notes.md (use the read_file tool)."
    assert clear_choice(task, tools) is read
    assert clear_choice("Read /home/ana/notes.md with read_text_file", tools) is text
    # A one-word name is a word tasks use anyway: "fetch" alone does not name fetch.fetch.
    fetch = tool("fetch.fetch", "Fetches a URL from the internet.")
    assert clear_choice("Fetch the 3 latest notes.", (*BUILTIN_TOOLS, fetch)) is not fetch
    assert relevance("Read the whole file /home/ana/notes.md.", read) < relevance(task, read)


def test_a_tool_that_sums_gets_the_arithmetic_signal() -> None:
    total = tool("everything.get-sum", "Returns the sum of two numbers")
    echo = tool("everything.echo", "Echoes back the input string")
    notes = tool("memory.add_observations", "Add new observations to existing entities")
    tools = (echo, notes, total)
    assert clear_choice("What is the sum of 17 and 25?", tools) is total
    assert clear_choice("Sum -8 and 3.", tools) is total
    # A tool that adds is not a sum; nor is a sum without numbers arithmetic to do.
    assert relevance("What is 17*23?", notes) == 0.0
    assert relevance("Sum up the meeting.", total) < 1.0
    # Beside the calculator, which has arithmetic for a keyword, the calculator comes first.
    beside = (*BUILTIN_TOOLS, total)
    for task in ("What is 17*23?", "What is 120 / 8?", "What is the sum of 17 and 25?"):
        assert clear_choice(task, beside) is _tool("calculator")


def test_adding_or_subtracting_numbers_is_a_sum_or_a_difference() -> None:
    total = tool("everything.get-sum", "Returns the sum of two numbers")
    echo = tool("everything.echo", "Echoes back the input string")
    notes = tool("memory.add_observations", "Add new observations to existing entities")
    tools = (echo, notes, total)
    assert clear_choice("Add 2.5 and 4.25.", tools) is total
    assert relevance("Subtract 3 from 10.", total) < relevance("Add 3 to 10.", total)
    # Adding things that are not numbers is no sum, nor adding a number to an amount.
    assert relevance("Add two carrots to the list.", total) < relevance("Add 2 and 3.", total)
    assert relevance("Add 1 to 2 cups of flour.", total) < relevance("Add 1 to 2.", total)
    assert clear_choice("Add an entity named Ana.", tools) is not total
    # The calculator still comes first.
    assert clear_choice("Add 2.5 and 4.25.", (*BUILTIN_TOOLS, total)) is _tool("calculator")


def with_path(name: str, description: str) -> Tool:
    """A tool whose one parameter is a path, as most file tools have."""
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    return Tool(name, description, schema, _nothing)


def test_a_path_in_the_task_points_at_the_tools_that_take_one() -> None:
    listing = with_path("filesystem.list_directory", "Get a listing of files and directories.")
    clock = tool("time.get_current_time", "Get the current time in a timezone.")
    task = "List what is in /home/ana/projects."
    # "list" alone is one shared word; the path the tool takes makes it a need.
    assert relevance(task, listing) >= 1.0
    assert relevance("List what is in my head.", listing) < 1.0
    assert relevance(task, clock) == 0.0
    assert likely_tools(task, (clock, listing)) == (listing,)
    # A file name is the file signal already; a path is one signal, not two.
    assert relevance("Read /home/ana/notes.md", listing) == relevance("Read notes.md", listing)


def test_a_folder_is_a_directory() -> None:
    make = with_path("filesystem.create_directory", "Create a new directory.")
    listing = with_path("filesystem.list_directory", "Get a listing of files and directories.")
    task = "Make the folder /home/ana/projects/new-site."
    assert likely_tools(task, (listing, make)) == (make,)
    assert relevance(task, make) >= 1.0
    assert relevance("Make the bed.", make) < 1.0
    # A short name gives no other word: to make it is to create it, not to list it.
    assert likely_tools("Make the folder /tmp/docs/a1.", (listing, make)) == (make,)
    # In a task only: a tool that makes edits does not create.
    edit = with_path("filesystem.edit_file", "Make line-based edits to a text file.")
    write = with_path("filesystem.write_file", "Create a new file.")
    assert likely_tools("Create /home/ana/todo.txt with milk", (edit, write)) == (write,)


def test_a_task_that_uses_every_word_of_a_tools_name_points_at_it() -> None:
    create = tool("memory.create_entities", "Create multiple new entities in the graph")
    add = tool("memory.add_observations", "Add new observations to existing entities")
    relate = tool("memory.create_relations", "Create relations between entities")
    tools = (relate, add, create)
    # "observations" is the rarer word, but the task says what create_entities does.
    task = 'Create the entity Acme, with observations "founded in 1999".'
    assert likely_tools(task, tools) == (create,)
    assert likely_tools('Add the observation "founded in 1999" to Acme.', tools) == (add,)
    # Only as words of the task: naming another tool is not using the words of this one.
    read = tool("filesystem.read_file", "Read a file.")
    assert relevance("Read it with read_text_file", read) < relevance("Read the file", read)
    for named in ("read-file-v2", "read.file", "read/file"):
        assert relevance(f"Use {named}", read) < relevance("Read the file", read)


def _tool(name: str) -> Tool:
    return next(tool for tool in BUILTIN_TOOLS if tool.name == name)


def test_the_light_name_list_matches_the_tools() -> None:
    from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
    from purpose_desktop.engine.tools.names import BUILTIN_TOOL_NAMES

    assert tuple(tool.name for tool in BUILTIN_TOOLS) == BUILTIN_TOOL_NAMES


@pytest.mark.parametrize(
    ("task", "clear"),
    [
        ("What is 17*23?", "calculator"),
        ("How many legs do 7 spiders have?", "calculator"),
        ("Use the read_notes tool", "read_notes"),
        ("Save the summary to report.md", "write_file"),
        # every word of a tool's name, as plain words of the task
        ("Read the file notes.txt and summarise it", "read_file"),
        # one shared verb is not enough, and a file named is every file tool's signal
        ("Write a poem about the sea", None),
        ("Summarise notes.txt", None),
        ("Name three primary colours", None),
    ],
)
def test_only_a_tool_far_ahead_of_the_others_is_a_clear_choice(
    task: str, clear: str | None
) -> None:
    chosen = clear_choice(task, BUILTIN_TOOLS)
    assert (chosen.name if chosen else None) == clear


def test_there_is_no_clear_choice_among_no_tools() -> None:
    assert clear_choice("What is 17*23?", ()) is None
    assert clear_choice("What is 17*23?", (_tool("calculator"),)) is _tool("calculator")


def test_the_likely_tools_are_the_ones_the_task_points_at_more_than_the_rest() -> None:
    calculator, note, read_notes = (_tool(name) for name in ("calculator", "note", "read_notes"))
    three = (calculator, note, read_notes)
    assert likely_tools("What did I read yesterday?", three) == (read_notes,)
    # Tied: both, in the order given.
    assert likely_tools("Look through my notes.", three) == (note, read_notes)
    # Pointing at every tool alike, or at none, narrows nothing.
    assert likely_tools("Look through my notes.", (note, read_notes)) == ()
    assert likely_tools("Name the three primary colours.", three) == ()
    assert likely_tools("Name the three primary colours.", ()) == ()
    # A tool the task names is among them, however much more it points at another.
    python = _tool("python")
    assert likely_tools("Print 17 * 23.", (python, calculator)) == (calculator,)
    assert likely_tools("Work out 17*23 with python", (python, calculator, note)) == (
        python,
        calculator,
    )


def test_a_servers_name_is_not_a_word_of_its_tools_names() -> None:
    # A person names a server "files": the file signal is not every one of its tools'.
    write = with_path("files.write_file", "Create a new file or overwrite one.")
    make = with_path("files.create_directory", "Create a new directory; ensures paths exist.")
    task = "Create /tmp/docs/todo.txt containing buy milk"
    assert likely_tools(task, (make, write)) == (write,)
    assert relevance(task, write) > relevance(task, make)
    # It still counts, as a word of the description.
    server = relevance("Use the files server.", make)
    assert 0.0 < server < relevance("Use the create_directory tool.", make)
