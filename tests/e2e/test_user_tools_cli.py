"""``purpose-desktop tools list`` and ``tools call`` with the user's own tools: Python files in
the home folder's ``tools`` folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from tests.support.cli import purpose_desktop

pytestmark = pytest.mark.process

CONVERSIONS = '''
import time


def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from Celsius to Fahrenheit.

    Args:
        celsius: degrees Celsius
    """
    return celsius * 9 / 5 + 32


def check_city(city: str) -> str:
    """Look a city up."""
    raise KeyError(city)


def slow() -> str:
    """Take a long time."""
    time.sleep(60)
    return "done"
'''


@pytest.fixture
def home_with_tools(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    folder = Paths(home).user_tools_dir
    folder.mkdir(parents=True)
    (folder / "conversions.py").write_text(CONVERSIONS, encoding="utf-8")
    (folder / "broken.py").write_text("import not_installed_anywhere\n", encoding="utf-8")
    return home


def test_tools_list_shows_the_users_tools_after_the_built_in_ones(home_with_tools: Path) -> None:
    listed = purpose_desktop("tools", "list", "--json", home=home_with_tools)
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)
    sources = [tool["source"] for tool in tools]
    assert sources == ["built-in"] * 7 + ["user"] * 3
    assert tools[7] == {
        "name": "celsius_to_fahrenheit",
        "description": "Convert a temperature from Celsius to Fahrenheit.",
        "source": "user",
        "risky": True,
    }
    broken = Paths(home_with_tools).user_tools_dir / "broken.py"
    assert listed.stderr == (
        f"purpose-desktop: {broken}: cannot be loaded: ModuleNotFoundError: No module named "
        "'not_installed_anywhere'\n"
    )

    shown = purpose_desktop("tools", "list", home=home_with_tools)
    assert shown.returncode == 0, shown.stderr
    assert any(
        line.split()[:2] == ["check_city", "user"] and line.endswith("Look a city up.")
        for line in shown.stdout.splitlines()
    )


def test_tools_call_runs_a_user_tool_and_reports_its_failures(home_with_tools: Path) -> None:
    called = purpose_desktop(
        "tools", "call", "celsius_to_fahrenheit", "--args", '{"celsius": 100}', home=home_with_tools
    )
    assert called.returncode == 0, called.stderr
    assert called.stdout == "212.0\n"

    failed = purpose_desktop(
        "tools", "call", "check_city", "--args", '{"city": "Atlantis"}', home=home_with_tools
    )
    assert failed.returncode == 1
    assert failed.stderr == "purpose-desktop: check_city failed: KeyError: 'Atlantis'\n"

    slow = purpose_desktop("tools", "call", "slow", "--timeout", "1", home=home_with_tools)
    assert slow.returncode == 1
    assert slow.stderr == ("purpose-desktop: slow took longer than 1 s and was stopped\n")

    unknown = purpose_desktop("tools", "call", "not_installed", home=home_with_tools)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(
        "purpose-desktop: There is no tool called 'not_installed'. The tools: calculator, "
    )
    assert "celsius_to_fahrenheit, check_city, slow." in unknown.stderr
    assert "Problems with your tools: " in unknown.stderr
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'." in unknown.stderr


def test_the_example_of_the_documentation_works(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "team-files.md"
    section = docs.read_text(encoding="utf-8").partition("## Your own tools")[2]
    example = section.partition("```python\n")[2].partition("```")[0]
    home = tmp_path / "home"
    folder = Paths(home).user_tools_dir
    folder.mkdir(parents=True)
    (folder / "conversions.py").write_text(example, encoding="utf-8")
    called = purpose_desktop(
        "tools", "call", "celsius_to_fahrenheit", "--args", '{"celsius": 100}', home=home
    )
    assert called.returncode == 0, called.stderr
    assert called.stdout == "212.0\n"
