"""The wheel's package list and its resources stay in step with the source tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, object] = tomllib.load(file)["tool"]["setuptools"]
    return config


def test_every_package_in_the_source_tree_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "purpose_desktop").rglob("__init__.py")
    }
    listed = set(_setuptools_config()["packages"])  # type: ignore[call-overload]
    assert listed == found | {"purpose_desktop.resources"}


def test_the_wheel_carries_the_resources_folder() -> None:
    config = _setuptools_config()
    assert config["package-dir"] == {"purpose_desktop.resources": "resources"}
    assert (ROOT / "resources" / "teams" / "example.yaml").is_file()
