"""Every hand-made bad file in ``corpus/`` is refused by its boundary with the reason, in one
line, without a traceback or a hang. ``corpus/expected.json`` gives each file's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from purpose_desktop.config import Settings
from purpose_desktop.errors import TeamFileError
from purpose_desktop.store.memory_files import MemoryFileError
from purpose_desktop.store.run_files import RunFileError
from tests.fuzz import boundaries
from tests.fuzz.guard import no_hang, refused

CORPUS = Path(__file__).with_name("corpus")
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def test_every_corpus_file_has_its_reason_and_every_reason_its_file() -> None:
    files = {path.relative_to(CORPUS).as_posix() for path in CORPUS.glob("*/*")}
    assert files == set(EXPECTED)


def cases(kind: str) -> list[str]:
    return sorted(name for name in EXPECTED if name.startswith(f"{kind}/"))


@pytest.mark.parametrize("name", cases("team"))
def test_bad_team_files(name: str) -> None:
    path = CORPUS / name
    message = refused(TeamFileError, lambda: boundaries.team_file(path.read_bytes(), path.suffix))
    assert EXPECTED[name] in message


@pytest.mark.parametrize("name", cases("runs"))
def test_bad_run_files(name: str) -> None:
    message = refused(RunFileError, lambda: boundaries.run_file((CORPUS / name).read_bytes()))
    assert EXPECTED[name] in message


@pytest.mark.parametrize("name", cases("memory"))
def test_bad_memory_files(name: str) -> None:
    content = (CORPUS / name).read_bytes()
    message = refused(MemoryFileError, lambda: boundaries.memory_file(content))
    assert EXPECTED[name] in message


@pytest.mark.parametrize("name", cases("settings"))
def test_bad_settings_are_said_and_never_used(name: str) -> None:
    content = (CORPUS / name).read_bytes()
    with no_hang():
        settings, problems, left = boundaries.settings_file(content)
    assert len(problems) == 1, problems
    assert EXPECTED[name] in problems[0]
    assert "\n" not in problems[0]
    if "could not be read" in problems[0]:
        # Kept whole beside the defaults that replace it, never overwritten later.
        (kept,) = (file for file in left if file.startswith("settings.json.bad-"))
        assert left == {kept: content}
        assert settings == Settings()
    else:
        assert left == {"settings.json": content}
        defaults = Settings()
        assert all(
            getattr(settings, key) == getattr(defaults, key)
            for key in ("n_threads", "max_answer_tokens", "store_url", "servers")
        )
