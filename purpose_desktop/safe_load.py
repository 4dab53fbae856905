"""Reading JSON, TOML and YAML that came from outside without crashing or hanging on it.

Every document is held to :data:`~purpose_desktop.limits.MAX_NESTING` levels of lists and
mappings; nesting deeper than the parser itself can follow is refused the same way, never
raised as a ``RecursionError``. A YAML document is also held to
:data:`~purpose_desktop.limits.MAX_VALUES` values, counted as its aliases expand and before
anything is built, so an alias bomb ("billion laughs") is refused in microseconds rather than
expanded; an alias inside what it names (a document that contains itself) is refused too.
JSON and TOML have no aliases: their size is their text's. Their every number must fit a
database column (:data:`~purpose_desktop.limits.MAX_STORED_INT`) and their every text must
be text (a JSON ``"\\ud800"`` escape, a lone surrogate, is not).

Syntax errors are left to the parsers' own exceptions (``json.JSONDecodeError``,
``tomllib.TOMLDecodeError``, ``yaml.YAMLError``), which callers already turn into messages
that name the line; what these loaders add raises :class:`~purpose_desktop.limits.LimitError`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from purpose_desktop.limits import MAX_NESTING, MAX_STORED_INT, MAX_VALUES, LimitError, check_text

if TYPE_CHECKING:
    import yaml

_TOO_DEEP = f"it is nested more than {MAX_NESTING} levels deep"


def load_json(text: str | bytes, *, check_values: bool = True) -> Any:
    """The JSON document ``text``, within the limits. Without ``check_values`` its numbers
    and texts are left for the caller to check one by one."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise LimitError(_TOO_DEEP) from None
    _check_shape(data, _python_children, leaf=_check_python_leaf if check_values else None)
    return data


def load_toml(text: str) -> dict[str, Any]:
    """The TOML document ``text``, within the limits."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise LimitError(_TOO_DEEP) from None
    _check_shape(data, _python_children, leaf=_check_python_leaf)
    return data


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of the single YAML document ``text`` (``None`` when it is empty), checked
    against the limits before anything is built from it; build with :func:`construct_yaml`."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)  # refuses control characters as it reads
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except RecursionError:
        raise LimitError(_TOO_DEEP) from None
    if node is not None:
        _check_shape(node, _yaml_children, max_values=MAX_VALUES)
    return node


def construct_yaml(node: yaml.Node) -> Any:
    """The Python data of a node tree :func:`compose_yaml` checked."""
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


Children = Callable[[Any], Iterable[Any] | None]


def _check_shape(
    root: Any,
    children: Children,
    *,
    max_values: int | None = None,
    leaf: Callable[[Any], None] | None = None,
) -> None:
    """Raise :class:`LimitError` when ``root`` nests deeper than :data:`MAX_NESTING`, holds
    more than ``max_values`` values (a part reached twice counts twice, as it would once
    built) or contains itself, or when ``leaf`` raises it for a value. ``children`` gives a
    container's parts, ``None`` for a leaf."""
    # Per part reached: (values in it, levels below it). Parts shared by aliases are measured
    # once; the counts still add up as if each place held its own copy.
    measured: dict[int, tuple[int, int]] = {}
    open_parts: set[int] = set()

    def measure(part: Any, depth: int) -> tuple[int, int]:
        key = id(part)
        known = measured.get(key)
        if known is None:
            if key in open_parts:
                raise LimitError("it contains itself (an alias inside what it names)")
            inner = children(part)
            if inner is None:
                if leaf is not None:
                    leaf(part)
                return 1, 0
            if depth >= MAX_NESTING:
                raise LimitError(_TOO_DEEP)
            open_parts.add(key)
            size, height = 1, 0
            for child in inner:
                child_size, child_height = measure(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if max_values is not None and size > max_values:
                    raise LimitError(f"it holds more than {max_values:,} values")
            open_parts.discard(key)
            known = measured[key] = (size, height)
        if depth + known[1] > MAX_NESTING:
            raise LimitError(_TOO_DEEP)
        return known

    measure(root, 0)


def _python_children(value: Any) -> Iterable[Any] | None:
    if isinstance(value, dict):
        return (part for pair in value.items() for part in pair)
    if isinstance(value, list):
        return value
    return None


def _check_python_leaf(value: Any) -> None:
    if isinstance(value, str):
        check_text(value, f"The text {value[:40]!r}")
    elif type(value) is int and not -MAX_STORED_INT - 1 <= value <= MAX_STORED_INT:
        digits = str(value)
        raise LimitError(
            f"the number {digits[:12]}... ({len(digits)} digits) is too large; "
            f"at most {MAX_STORED_INT:,} can be stored"
        )


def _yaml_children(node: Any) -> Iterable[Any] | None:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        return items
    if isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        return (part for pair in pairs for part in pair)
    return None
