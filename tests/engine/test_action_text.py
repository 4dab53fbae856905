"""An action as one line a person reads, in place of the JSON its model wrote."""

from __future__ import annotations

from purpose_desktop.engine.action_text import ARGUMENT_CHARS, describe_action
from purpose_desktop.engine.trajectory import Action


def test_a_tool_call_reads_as_a_call_with_its_arguments_as_json() -> None:
    action = Action("calculator", {"expression": "17*23"}, "multiply")
    assert describe_action(action) == 'calculator(expression="17*23")'
    assert describe_action(
        Action("write_file", {"path": "a.txt", "lines": 3, "force": True, "tags": ["x", "y"]})
    ) == ('write_file(path="a.txt", lines=3, force=true, tags=["x", "y"])')
    assert describe_action(Action("list_files")) == "list_files()"


def test_finishing_and_handing_over_read_as_words() -> None:
    assert describe_action(Action("finish", {"answer": "391"}, "done")) == "Final answer: 391"
    assert describe_action(Action("finish", {"answer": "Red,\n  blue\nand yellow"})) == (
        "Final answer: Red, blue and yellow"
    )
    assert describe_action(
        Action("delegate", {"agent": "helper", "task": 'multiply "17" by 23'})
    ) == ('Hand over to helper: "multiply \\"17\\" by 23"')


def test_the_line_is_one_line_and_long_values_are_cut() -> None:
    script = "import math\n" + "x = 1\n" * 100
    line = describe_action(Action("python", {"code": script, "timeout": 5}))
    assert "\n" not in line
    assert line.startswith('python(code="import math\\nx = 1') and line.endswith('…", timeout=5)')
    value = line.removeprefix("python(code=").removesuffix(", timeout=5)")
    assert len(value) <= ARGUMENT_CHARS
    # A cut never leaves half an escape behind.
    cut = describe_action(Action("echo", {"text": "a" * 116 + "\n" + "b" * 10}))
    assert cut == 'echo(text="' + "a" * 116 + '…")'
    nested = describe_action(Action("search", {"filters": {"words": ["w"] * 200}}))
    assert nested.endswith("…)") and len(nested) <= len("search(filters=)") + ARGUMENT_CHARS
