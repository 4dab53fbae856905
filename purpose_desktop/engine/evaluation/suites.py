"""Benchmark suites as files: tasks whose outcome a check decides, not the critic.

A suite is a YAML file::

    name: arithmetic
    description: Word problems for the calculator.
    tasks:
      - id: apples
        task: A crate holds 24 apples. How many apples are in 17 crates?
        check: {answer_contains: "408"}
      - id: shout
        task: Write the text of note.txt in capital letters to loud.txt.
        setup_files: {note.txt: "quiet please"}
        check: {file_equals: {path: loud.txt, text: "QUIET PLEASE"}}

A check is exactly one of ``answer_contains``, ``answer_equals`` (the final answer),
``file_contains`` and ``file_equals`` (a file of the run's workspace). ``setup_files`` are
written into the workspace before the run. ``family`` (optional) names the kind of task: tasks
that differ only in their numbers and words share one, so that what is learned on some of them
can be measured on the others. ``team`` (optional) names the sample team the suite is meant
for, by its file name in ``resources/teams``: the benchmark runs it when no team is given.
Built-in suites ship in ``resources/suites``; a person adds their own as files in the home
folder's ``suites`` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from purpose_desktop.errors import UserError

SUITE_SUFFIXES = (".yaml", ".yml")


class SuiteFileError(UserError):
    """A suite file that is missing, unreadable or not a valid suite."""


class _Strict(BaseModel):
    # Hand-written files: a misspelt key must be an error, not a check silently left out.
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileText(_Strict):
    """A file of the workspace, by its path there, and the text expected of it."""

    path: str = Field(min_length=1)
    text: str

    @field_validator("path")
    @classmethod
    def _inside_workspace(cls, path: str) -> str:
        return workspace_path(path)


class Check(_Strict):
    """How a task's outcome is decided: exactly one of the four kinds is set."""

    answer_contains: str | None = Field(default=None, min_length=1)
    answer_equals: str | None = None
    file_contains: FileText | None = None
    file_equals: FileText | None = None

    @property
    def judges_answer(self) -> bool:
        """Whether the check is of the final answer (not of a file the run wrote)."""
        return self.answer_contains is not None or self.answer_equals is not None

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        chosen = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(chosen) != 1:
            kinds = ", ".join(type(self).model_fields)
            found = f"found {', '.join(chosen)}" if chosen else "found none"
            raise ValueError(f"give exactly one of {kinds} ({found})")
        return self


class SuiteTask(_Strict):
    """One task of a suite: what the team is asked, and how its outcome is checked."""

    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    task: str = Field(min_length=1)
    check: Check
    setup_files: dict[str, str] = Field(default_factory=dict)
    family: str | None = Field(default=None, min_length=1, pattern=r"^[\w.-]+$")
    """The kind of task it is, shared with tasks that differ only in their numbers and words;
    a held-out split keeps some of each family for training (see :mod:`.split`)."""

    @field_validator("setup_files")
    @classmethod
    def _files_inside_workspace(cls, files: dict[str, str]) -> dict[str, str]:
        return {workspace_path(path): text for path, text in files.items()}


class Suite(_Strict):
    """A named list of tasks with checkable outcomes."""

    name: str = Field(min_length=1)
    description: str = ""
    team: str | None = None
    """The file name of the sample team the suite is meant for (in ``resources/teams``)."""
    tasks: tuple[SuiteTask, ...] = Field(min_length=1)

    @field_validator("team")
    @classmethod
    def _a_team_file_name(cls, team: str | None) -> str | None:
        if team is not None and not re.fullmatch(r"[\w.-]+\.(yaml|yml|toml)", team):
            raise ValueError(
                f"{team!r} is not the file name of a sample team (such as calculator.yaml)"
            )
        return team

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for task in self.tasks:
            if task.id in seen:
                raise ValueError(f"task id {task.id!r} is used twice")
            seen.add(task.id)
        return self


def workspace_path(path: str) -> str:
    """``path`` as a relative path that stays inside a workspace; ``ValueError`` if it
    does not (an absolute path, or one that climbs out with ``..``)."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or ":" in pure.parts[0]:
        raise ValueError(f"{path!r} must be a relative path inside the workspace")
    return pure.as_posix()


@dataclass(frozen=True)
class SuiteEntry:
    """A suite found in a folder, and whether it ships with the app."""

    suite: Suite
    path: Path
    builtin: bool


def load_suite(path: Path) -> Suite:
    """The suite in ``path``; :class:`SuiteFileError` naming the file, the task and the field
    when it is not a valid one."""
    if path.suffix.lower() not in SUITE_SUFFIXES:
        raise SuiteFileError(f"{path}: a suite file is YAML (.yaml or .yml).")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteFileError(f"Suite file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteFileError(f"Cannot read suite file {path}: {exc}") from None
    return parse_suite(text, str(path))


def parse_suite(text: str, where: str) -> Suite:
    """The suite described by the YAML ``text`` (the content of ``where``, named in errors)."""
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SuiteFileError(f"{where}{at}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SuiteFileError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SuiteFileError(f"{where}: a suite file must hold a mapping with 'name' and 'tasks'.")
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteFileError(f"{where}: {_describe(exc, data)}") from None


@dataclass(frozen=True)
class SuiteListing:
    """The suites found in the folders, and why each file that is not a valid suite is not
    among them."""

    entries: tuple[SuiteEntry, ...]
    problems: tuple[str, ...]


def read_suites(builtin_dir: Path, user_dir: Path) -> SuiteListing:
    """The built-in suites, then the user's, each sorted by file name; a user's suite with the
    name of a built-in one takes its place. Files that are not valid suites are left out, each
    with its problem."""
    found: dict[str, SuiteEntry] = {}
    problems: list[str] = []
    for folder, builtin in ((builtin_dir, True), (user_dir, False)):
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUITE_SUFFIXES):
            try:
                suite = load_suite(path)
            except SuiteFileError as exc:
                problems.append(str(exc))
                continue
            found[suite.name] = SuiteEntry(suite, path, builtin)
    return SuiteListing(tuple(found.values()), tuple(problems))


def list_suites(builtin_dir: Path, user_dir: Path) -> list[SuiteEntry]:
    """The suites of :func:`read_suites`; a file that is not a valid suite raises
    :class:`SuiteFileError`, so a person learns why their suite is missing."""
    listing = read_suites(builtin_dir, user_dir)
    if listing.problems:
        raise SuiteFileError(listing.problems[0])
    return list(listing.entries)


def find_suite(name_or_path: str, builtin_dir: Path, user_dir: Path) -> Suite:
    """The suite called ``name_or_path``, or in the file it names."""
    path = Path(name_or_path)
    if path.suffix.lower() in SUITE_SUFFIXES and path.exists():
        return load_suite(path)
    entries = list_suites(builtin_dir, user_dir)
    for entry in entries:
        if entry.suite.name == name_or_path:
            return entry.suite
    known = ", ".join(entry.suite.name for entry in entries) or "none"
    raise SuiteFileError(f"No suite called {name_or_path!r}. The suites are: {known}.")


def suite_team(suite: Suite, sample_teams: Path) -> Path:
    """The sample team file ``suite`` is meant for, in the folder ``sample_teams``;
    :class:`SuiteFileError` when it names none or names one that is not there (for the
    command line: it says to give ``--team``)."""
    if suite.team is None:
        raise SuiteFileError(
            f"The suite {suite.name!r} names no team to run it: give one with --team TEAM_FILE."
        )
    path = sample_teams / suite.team
    if not path.is_file():
        raise SuiteFileError(
            f"The suite {suite.name!r} is meant for the sample team {suite.team}, which is not "
            f"in {sample_teams}: give a team with --team TEAM_FILE."
        )
    return path


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    """The first problem, with the task named by its id where the file gives one."""
    error = exc.errors()[0]
    location = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "this field is required but missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling)"
    where = ""
    if location[:1] == ("tasks",) and len(location) > 1 and isinstance(location[1], int):
        index = location[1]
        tasks = data.get("tasks")
        raw = tasks[index] if isinstance(tasks, list) and index < len(tasks) else None
        task_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"task {task_id!r} (tasks[{index}])" if task_id else f"tasks[{index}]"
        location = location[2:]
    field = ".".join(str(part) for part in location)
    named = ", ".join(part for part in (where, field) if part) or "the suite"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{named}: {message}{suffix}"
