from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.team_file import load_team, parse_team, save_team
from purpose_desktop.errors import TeamFileError

TWO_AGENTS = """\
name: Writers
agents:
  - name: drafter
    role: Draft the text.
    model: bundled:smollm2-135m
    expertise: [writing]
  - name: checker
    role: Check the draft.
    model: models/checker.gguf
    tools: [calculator]
    max_steps: 3
    review: always
"""


def test_example_team_loads(example_team: Path) -> None:
    team = load_team(example_team)
    assert team.spec.name == "Helper"
    assert [a.name for a in team.spec.agents] == ["helper"]
    assert team.spec.agents[0].model == "bundled:smollm2-135m"
    assert team.base_dir == example_team.parent.resolve()


def test_the_files_sample_team_has_the_tools_of_the_files_and_multistep_suites(
    example_team: Path,
) -> None:
    team = load_team(example_team.with_name("files.yaml"))
    assert team.spec.name == "Files"
    assert {agent.model for agent in team.spec.agents} == {"bundled:smollm2-135m"}
    found = asyncio.run(ToolSource().agent_tools(team.spec))
    tools = {agent: [tool.name for tool in agent_tools] for agent, agent_tools in found.items()}
    assert tools == {
        "clerk": ["list_files", "read_file", "write_file"],
        "counter": ["calculator", "read_file", "write_file"],
    }
    # Writing a file is risky: in the app a person approves it.
    assert {agent.review for agent in team.spec.agents} == {ReviewPolicy.RISKY}


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_save_and_load_are_lossless(tmp_path: Path, suffix: str) -> None:
    original = parse_team(TWO_AGENTS, Path("team.yaml"))
    path = tmp_path / f"team{suffix}"
    save_team(original, path)
    assert load_team(path).spec == original
    assert original.agents[1].review is ReviewPolicy.ALWAYS
    assert original.agents[1].tools == ("calculator",)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TeamFileError, match=r"Team file not found: .*nowhere\.yaml"):
        load_team(tmp_path / "nowhere.yaml")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nagents:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(TeamFileError, match=r"broken\.yaml, line \d+, column \d+: not valid YAML"):
        load_team(path)


def test_invalid_field_names_the_field_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(TWO_AGENTS.replace("max_steps: 3", "max_steps: -1"), encoding="utf-8")
    with pytest.raises(TeamFileError) as caught:
        load_team(path)
    message = str(caught.value)
    assert "line 11" in message
    assert "agents[1].max_steps" in message
    assert "greater than or equal to 1" in message


def test_missing_field_points_at_the_agent_lacking_it(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(TWO_AGENTS.replace("    model: bundled:smollm2-135m\n", ""), "utf-8")
    with pytest.raises(TeamFileError, match=r"line 3: agents\[0\]\.model: this field is required"):
        load_team(path)


def test_misspelt_field_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(TWO_AGENTS.replace("expertise:", "expertize:"), encoding="utf-8")
    with pytest.raises(TeamFileError, match=r"agents\[0\]\.expertize: unknown field"):
        load_team(path)


def test_duplicate_agent_names_are_refused() -> None:
    text = TWO_AGENTS.replace("name: checker", "name: drafter")
    with pytest.raises(TeamFileError, match="two agents are called 'drafter'"):
        parse_team(text, Path("team.yaml"))


def test_team_without_agents_is_refused() -> None:
    with pytest.raises(TeamFileError, match=r"agents: .*at least 1"):
        parse_team("name: Empty\nagents: []\n", Path("team.yaml"))


def test_toml_error_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text('name = "x"\n[[agents]\n', encoding="utf-8")
    with pytest.raises(TeamFileError, match=r"team\.toml: not valid TOML"):
        load_team(path)


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(TeamFileError, match="must hold a mapping"):
        load_team(path)


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "team.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(TeamFileError, match=r"unknown team file type '\.json'"):
        load_team(path)


def test_an_unknown_tool_is_named_with_its_line(tmp_path: Path) -> None:
    text = (
        "name: T\nagents:\n  - name: a\n    role: r\n    model: m.gguf\n"
        "    tools: [calculator, web_search]\n"
    )
    with pytest.raises(TeamFileError) as caught:
        parse_team(text, tmp_path / "team.yaml")
    message = str(caught.value)
    assert "line 6" in message and "agents[0].tools" in message
    assert "'web_search'" in message and "calculator" in message


def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + (
        f"\nname: T\nagents:\n  - name: a\n    role: r\n    model: m\n    expertise: *l{levels}\n"
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "nul.yaml",
            "name: T\x00\nagents: []\n",
            "nul.yaml, character 8: not valid YAML: the control character U+0000 is not allowed",
        ),
        ("esc.yaml", "name: T\x1b[31m\nagents: []\n", "the control character U+001B"),
        (
            "bel.yaml",
            'name: "T\\a"\nagents:\n  - {name: a, role: r, model: m}\n',
            "line 1: name: the team's name holds the control character U+0007",
        ),
        (
            "deep.yaml",
            "name: " + "[" * 5000 + "]" * 5000 + "\n",
            "deep.yaml: refused: it is nested more than 50 levels deep",
        ),
        (
            "deep.toml",
            "name = " + "[" * 5000 + "]" * 5000 + "\n",
            "deep.toml: refused: it is nested more than 50 levels deep",
        ),
        ("bomb.yaml", billion_laughs(), "bomb.yaml: refused: it holds more than 100,000 values"),
        ("self.yaml", "name: T\nagents: &a [*a]\n", "refused: it contains itself"),
        (
            "true.yaml",
            "name: T\nagents:\n  - {name: a, role: r, model: m, max_steps: true}\n",
            "line 3: agents[0].max_steps: Input should be a valid integer",
        ),
        (
            "dots.yaml",
            "name: ../../etc\nagents:\n  - {name: a, role: r, model: m}\n",
            "line 1: name: the team's name '../../etc' must not contain '/'",
        ),
        (
            "slash.yaml",
            "name: T\nagents:\n  - {name: a/b, role: r, model: m}\n",
            "line 3: agents[0].name: the agent's name 'a/b' must not contain '/'",
        ),
        (
            "surrogate.toml",
            'name = "T"\n[[agents]]\nname = "a"\nrole = "r"\nmodel = "m"\n'
            'expertise = ["\\udcff"]\n',
            "surrogate.toml: not valid TOML",
        ),
    ],
)
def test_bad_team_files_are_refused_with_one_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamFileError) as caught:
        load_team(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_team_of_too_many_agents_is_refused_before_any_agent_is_read() -> None:
    agents = "".join(f"  - {{name: a{n}, role: r, model: m.gguf}}\n" for n in range(10_000))
    with pytest.raises(TeamFileError, match="agents: a team has at most 100 agents, not 10,000"):
        parse_team(f"name: T\nagents:\n{agents}", Path("many.yaml"))


def test_a_lone_surrogate_in_a_team_read_from_json_is_refused() -> None:
    import json

    from purpose_desktop.engine.specs import TeamSpec
    from pydantic import ValidationError

    stored = json.loads('{"name": "T", "agents": [{"name": "a", "role": "\\ud800", "model": "m"}]}')
    with pytest.raises(ValidationError, match=r"agents\.0\.role\n  Input should be a valid string"):
        TeamSpec.model_validate(stored)
