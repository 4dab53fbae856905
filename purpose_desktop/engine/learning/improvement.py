"""How a team improves over repeated runs of a benchmark suite: the result of one benchmark
run, read and written as JSON, and listed from a folder.

A result holds named series run side by side ("learning on", "learning off", "with
overrides"...), each a list of per-iteration metrics. A held-out benchmark has two series per
arm, one for the tasks learned on (``"part": "training"``) and one for the tasks held out
(``"part": "test"``); a benchmark repeated over several splits holds the mean of the repeats,
with the lowest and highest success rate among them. The file::

    {"format": "purpose-desktop-improvement", "version": 1,
     "suite": "arithmetic", "team": "Calculators", "model": "bundled:smollm2-135m",
     "created": "2025-06-01T12:00:00+00:00", "holdout": 0.3, "repeats": 3,
     "series": [{"name": "learning on · test", "arm": "learning on", "part": "test",
                 "iterations": [{"iteration": 1, "success_rate": 0.5, "average_phi": 6.2,
                                 "average_steps": 3.0, "average_reward": 1.4,
                                 "tokens": 5120, "seconds": 41.5,
                                 "success_low": 0.4, "success_high": 0.6}, ...]}, ...]}

``holdout``, ``repeats``, ``arm``, ``part``, ``success_low`` and ``success_high`` may be left
out (a benchmark of the whole suite, run once).

Reading checks the whole file and names the first bad field
(``series[0].iterations[2].success_rate: Input should be less than or equal to 1``). Keys it
does not know are ignored, so a later version may add metrics that this one skips.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

from purpose_desktop.config import write_file_atomically
from purpose_desktop.errors import UserError

FORMAT: Final = "purpose-desktop-improvement"
VERSION: Final = 1


class ImprovementFileError(UserError):
    """A result file that cannot be read."""


@dataclass(frozen=True)
class Metric:
    """A measure of an iteration, its name in the file and the values it may take: from
    ``low`` to ``high`` where they are set, a whole number if ``whole``."""

    name: str
    label: str
    low: float | None = None
    high: float | None = None
    whole: bool = False

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The range of the metric where it has a fixed one: an axis over all of it shows
        how far a curve is from the best."""
        return None if self.low is None or self.high is None else (self.low, self.high)


#: What each iteration measures, in the order a person would look at them.
METRICS: Final = (
    Metric("success_rate", "Success rate", 0.0, 1.0),
    Metric("average_phi", "Average Φ", 0.0, 10.0),
    Metric("average_steps", "Average steps", 0.0),
    Metric("average_reward", "Average reward"),
    Metric("tokens", "Tokens", 0, whole=True),
    Metric("seconds", "Time (s)", 0.0),
)
_ITERATION = Metric("iteration", "Iteration", 1, whole=True)
_SPREAD = (
    Metric("success_low", "Lowest success rate", 0.0, 1.0),
    Metric("success_high", "Highest success rate", 0.0, 1.0),
)

Part = Literal["all", "training", "test"]
"""Which tasks of the suite a series ran: all of them, those learned on, or those held out."""
PARTS: Final = frozenset(get_args(Part))


@dataclass(frozen=True)
class IterationMetrics:
    """One iteration of a series: every task of the suite run once. ``success_rate`` is the
    share of tasks whose outcome checked out (0 to 1); ``average_reward`` is the change in Φ
    over a run, averaged; ``tokens`` and ``seconds`` are the iteration's totals."""

    iteration: int
    success_rate: float
    average_phi: float
    average_steps: float
    average_reward: float
    tokens: int
    seconds: float
    success_low: float | None = None
    """The lowest success rate among the repeats the metrics are the mean of (None: one run)."""
    success_high: float | None = None
    """The highest, likewise."""

    @property
    def success_range(self) -> tuple[float, float]:
        """The lowest and highest success rate among the repeats (the rate itself for one
        run)."""
        low = self.success_rate if self.success_low is None else self.success_low
        high = self.success_rate if self.success_high is None else self.success_high
        return low, high

    def value(self, metric: str) -> float:
        """The metric named ``metric`` (see :data:`METRICS`)."""
        return float(getattr(self, metric))


@dataclass(frozen=True)
class ImprovementSeries:
    """One condition of the benchmark ("learning on"...) on one ``part`` of the suite,
    iteration by iteration. ``arm`` is the condition's name (``name`` without the part)."""

    name: str
    iterations: tuple[IterationMetrics, ...]
    arm: str = ""
    part: Part = "all"

    @property
    def condition(self) -> str:
        """The arm the series ran under."""
        return self.arm or self.name

    def spread(self) -> tuple[tuple[int, float, float], ...]:
        """(iteration, lowest, highest success rate) where the series has repeats."""
        return tuple(
            (m.iteration, m.success_low, m.success_high)
            for m in self.iterations
            if m.success_low is not None and m.success_high is not None
        )

    def points(self, metric: str) -> tuple[tuple[int, float], ...]:
        """(iteration, value of ``metric``) for every iteration."""
        return tuple((metrics.iteration, metrics.value(metric)) for metrics in self.iterations)


@dataclass(frozen=True)
class ImprovementResult:
    """A benchmark run: ``suite`` run by ``team`` on ``model``, finished at ``created``."""

    suite: str
    team: str
    model: str
    created: datetime
    series: tuple[ImprovementSeries, ...]
    holdout: float = 0.0
    """The share of the suite held out for testing (0: none, every task learned on)."""
    repeats: int = 1
    """How many runs (each on its own split) the metrics are the mean of."""

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "version": VERSION,
            **asdict(self),
            "created": self.created.isoformat(),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def parse_improvement(text: str, where: str) -> ImprovementResult:
    """The result in ``text`` (the content of ``where``, named in errors);
    :class:`ImprovementFileError` naming the first problem if it is not a valid result."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImprovementFileError(f"{where} is not JSON: {exc}") from None
    _check_format(data, where)
    try:
        return _result(data)
    except _Problem as problem:
        raise ImprovementFileError(f"{where}: {problem}") from None


def load_improvement(path: Path) -> ImprovementResult:
    """The result saved in ``path``; :class:`ImprovementFileError` saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImprovementFileError(f"{path} is not a result file: it is not UTF-8 text.") from None
    except OSError as exc:
        raise ImprovementFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    return parse_improvement(text, str(path))


def save_improvement(result: ImprovementResult, path: Path) -> None:
    """Write ``result`` to ``path`` atomically, making its folder if need be; ``UserError``
    saying why if it cannot."""
    try:
        if not path.parent.exists():  # a file in its place: writing says so
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}") from None
    write_file_atomically(path, result.to_json())


def result_file(folder: Path, result: ImprovementResult) -> Path:
    """The file ``result`` is saved as in a results folder, named by its suite and time."""
    stamp = result.created.strftime("%Y%m%d-%H%M%S")
    # A suite's name is free text: a slash or a colon in it must not make a path of it.
    suite = re.sub(r"[^\w.-]+", "-", result.suite).strip("-.") or "suite"
    return folder / f"improve-{suite}-{stamp}.json"


@dataclass(frozen=True)
class ResultFile:
    """A file of a results folder: its result, or why it cannot be read."""

    path: Path
    modified: float
    result: ImprovementResult | None = None
    problem: str | None = None


def list_results(folder: Path) -> list[ResultFile]:
    """The JSON files in ``folder``, the newest first, each read (none if it is missing)."""
    if not folder.is_dir():
        return []
    found: list[ResultFile] = []
    for path in folder.glob("*.json"):
        try:
            modified = path.stat().st_mtime
        except OSError:
            continue  # removed while we looked
        try:
            found.append(ResultFile(path, modified, result=load_improvement(path)))
        except ImprovementFileError as exc:
            found.append(ResultFile(path, modified, problem=str(exc)))
    return sorted(found, key=lambda entry: (-entry.modified, entry.path.name))


# --- reading ---------------------------------------------------------------------------


class _Problem(ValueError):
    """What is wrong, and where: ``series[0].iterations[2].tokens: ...``."""


def _check_format(data: Any, where: str) -> None:
    """The format and version, checked before any field: a file of another kind would fail
    on every one of them, and the first would not say why."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImprovementFileError(
            f'{where} is not a benchmark result: it must have "format": "{FORMAT}"'
        )
    version = data.get("version")
    if version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        raise ImprovementFileError(
            f"{where}: result version {version!r} cannot be read, only version {VERSION}"
            + ("; a newer purpose-desktop wrote it" if newer else "")
        )


def _result(data: Mapping[str, Any]) -> ImprovementResult:
    # In the order the file lists them, so the problem named is the first one in it.
    suite = _text(data, "suite", "", required=True)
    team, model, created = (_text(data, key, "") for key in ("team", "model", "created"))
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        raise _Problem(
            f"created: {created!r} is not a date and time such as 2025-06-01T12:00:00+00:00"
        ) from None
    series = tuple(
        _series(item, f"series[{index}]") for index, item in enumerate(_list(data, "series", ""))
    )
    if not series:
        raise _Problem("series: there must be at least one")
    holdout = _optional(data, _HOLDOUT, "", 0.0)
    repeats = int(_optional(data, _REPEATS, "", 1))
    names = [item.name for item in series]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise _Problem(f"series[{index}].name: {name!r} names an earlier series too")
    return ImprovementResult(suite, team, model, when, series, holdout, repeats)


def _series(item: Any, at: str) -> ImprovementSeries:
    record = _record(item, at)
    iterations: list[IterationMetrics] = []
    for index, entry in enumerate(_list(record, "iterations", at)):
        metrics = _iteration(entry, f"{at}.iterations[{index}]")
        if iterations and metrics.iteration <= iterations[-1].iteration:
            raise _Problem(
                f"{at}.iterations[{index}].iteration: {metrics.iteration} does not "
                f"come after {iterations[-1].iteration}"
            )
        iterations.append(metrics)
    name = _text(record, "name", at, required=True)
    arm = _text(record, "arm", at) if "arm" in record else ""
    return ImprovementSeries(name, tuple(iterations), arm, _part(record, at))


def _part(record: Mapping[str, Any], at: str) -> Part:
    part = record.get("part", "all")
    if not isinstance(part, str) or part not in PARTS:
        raise _Problem(f"{_join(at, 'part')}: should be one of {sorted(PARTS)}, not {part!r}")
    return cast(Part, part)


def _iteration(item: Any, at: str) -> IterationMetrics:
    record = _record(item, at)
    number = _number(record, _ITERATION, at)
    values = {metric.name: _number(record, metric, at) for metric in METRICS}
    spread = {metric.name: _optional(record, metric, at, None) for metric in _SPREAD}
    return IterationMetrics(iteration=int(number), **values, **spread)


def _record(item: Any, at: str) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise _Problem(f"{at}: should be an object, not {_kind(item)}")
    return item


def _value(record: Mapping[str, Any], key: str, at: str) -> Any:
    if key not in record:
        raise _Problem(f"{_join(at, key)}: missing")
    return record[key]


def _list(record: Mapping[str, Any], key: str, at: str) -> list[Any]:
    value = _value(record, key, at)
    if not isinstance(value, list):
        raise _Problem(f"{_join(at, key)}: should be a list, not {_kind(value)}")
    return value


def _text(record: Mapping[str, Any], key: str, at: str, *, required: bool = False) -> str:
    value = _value(record, key, at)
    if not isinstance(value, str):
        raise _Problem(f"{_join(at, key)}: should be text, not {_kind(value)}")
    if required and not value.strip():
        raise _Problem(f"{_join(at, key)}: should not be empty")
    return value


def _number(record: Mapping[str, Any], metric: Metric, at: str) -> Any:
    value = _value(record, metric.name, at)
    where = _join(at, metric.name)
    # bool is an int to Python, but true is no count; JSON's NaN and Infinity are no value.
    wanted = int if metric.whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted) or not math.isfinite(value):
        kind = "a whole number" if metric.whole else "a number"
        raise _Problem(f"{where}: should be {kind}, not {value!r}")
    if (metric.low is not None and value < metric.low) or (
        metric.high is not None and value > metric.high
    ):
        bounds = (
            f"from {metric.low:g} to {metric.high:g}"
            if metric.high is not None
            else f"at least {metric.low:g}"
        )
        raise _Problem(f"{where}: should be {bounds}, not {value!r}")
    return value if metric.whole else float(value)


_HOLDOUT = Metric("holdout", "Held out", 0.0, 1.0)
_REPEATS = Metric("repeats", "Repeats", 1, whole=True)


def _optional(record: Mapping[str, Any], metric: Metric, at: str, default: Any) -> Any:
    """``metric`` where ``record`` gives it (JSON null counts as not given), else ``default``."""
    if record.get(metric.name) is None:
        return default
    return _number(record, metric, at)


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true or false"}
    return "null" if value is None else names.get(type(value), repr(value))
