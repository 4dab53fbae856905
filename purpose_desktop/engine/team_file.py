"""Read and write team files (YAML or TOML) with errors that name the line and field.

A team file is meant to be written and fixed by hand, so an error says where: the file, the
line (for YAML), the field path (``agents[1].max_steps``) and what is wrong with it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from purpose_desktop.engine.specs import LoadedTeam, TeamSpec
from purpose_desktop.errors import TeamFileError, UserError
from purpose_desktop.limits import LimitError
from purpose_desktop.safe_load import compose_yaml, construct_yaml, load_toml

YAML_SUFFIXES = (".yaml", ".yml")
TOML_SUFFIXES = (".toml",)
Location = tuple[str | int, ...]


def load_team(path: Path) -> LoadedTeam:
    """Load and validate the team in ``path``; :class:`TeamFileError` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TeamFileError(f"Team file not found: {path}") from None
    except IsADirectoryError:
        raise TeamFileError(f"{path} is a folder, not a team file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TeamFileError(f"Cannot read team file {path}: {exc}") from None
    return LoadedTeam(spec=parse_team(text, path), source=path.resolve())


def parse_team(text: str, path: Path) -> TeamSpec:
    """Validate the team described by ``text``, in the format ``path``'s suffix names."""
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        data, lines = _parse_yaml(text, path)
    elif suffix in TOML_SUFFIXES:
        data, lines = _parse_toml(text, path), {}
    else:
        raise TeamFileError(f"{path}: unknown team file type '{suffix}'. Use .yaml, .yml or .toml.")
    if not isinstance(data, dict):
        raise TeamFileError(f"{path}: a team file must hold a mapping with 'name' and 'agents'.")
    try:
        return TeamSpec.model_validate(data)
    except ValidationError as exc:
        raise TeamFileError(_describe(exc, path, lines)) from None


def save_team(team: TeamSpec, path: Path) -> None:
    """Write ``team`` to ``path`` (YAML or TOML by suffix), atomically."""
    data = team.model_dump(mode="json", exclude_defaults=True)
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    elif suffix in TOML_SUFFIXES:
        import tomli_w

        text = tomli_w.dumps(data)
    else:
        raise TeamFileError(f"{path}: unknown team file type '{suffix}'. Use .yaml or .toml.")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_team_file(team: TeamSpec, path: Path) -> None:
    """Write ``team`` to ``path`` as :func:`save_team` does, for an export: a file that
    cannot be written is a :class:`UserError` that says why."""
    try:
        save_team(team, path)
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}") from None


def _parse_toml(text: str, path: Path) -> Any:
    try:
        return load_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamFileError(f"{path}: not valid TOML: {exc}") from None
    except LimitError as exc:
        raise TeamFileError(f"{path}: refused: {exc}") from None


def _parse_yaml(text: str, path: Path) -> tuple[Any, dict[Location, int]]:
    try:
        node = compose_yaml(text)
        data = None if node is None else construct_yaml(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise TeamFileError(f"{path}, {where}: not valid YAML: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:
        raise TeamFileError(
            f"{path}, character {exc.position + 1}: not valid YAML: the "
            f"control character U+{exc.character:04X} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise TeamFileError(f"{path}: not valid YAML: {exc}") from None
    except LimitError as exc:
        raise TeamFileError(f"{path}: refused: {exc}") from None
    lines: dict[Location, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    """Record the 1-based line of every value in the document, by its path."""
    lines[location] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*location, str(key_node.value))
            _index_lines(value_node, key, lines)
            lines[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*location, index), lines)


def _describe(exc: ValidationError, path: Path, lines: dict[Location, int]) -> str:
    error = exc.errors()[0]
    location: Location = tuple(error["loc"])
    field = _field_path(location) or "the team"
    where = f"{path}"
    line = _nearest_line(location, lines)
    if line is not None:
        where += f", line {line}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "this field is required but missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling)"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {field}: {message}{suffix}"


def _field_path(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _nearest_line(location: Location, lines: dict[Location, int]) -> int | None:
    # A missing field has no line of its own: point at the mapping that lacks it.
    for end in range(len(location), -1, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return None
