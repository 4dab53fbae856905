"""Checks against real answers and real files in a workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from purpose_desktop.engine.evaluation.checks import check_outcome, normalise_answer
from purpose_desktop.engine.evaluation.suites import Check, FileText


@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ("The crates hold 408 apples.", True),
        ("408", True),
        ("408.0", True),
        ("4080", False),
        ("1408", False),
        ("408.5", False),
        ("", False),
        (None, False),
    ],
)
def test_answer_contains_wants_whole_words(answer: str | None, passed: bool) -> None:
    result = check_outcome(Check(answer_contains="408"), answer, Path("/nonexistent"))
    assert result.passed is passed


def test_answer_contains_ignores_case_and_thousands_separators() -> None:
    check = Check(answer_contains="TWO.txt")
    assert check_outcome(check, "It is two.txt", Path()).passed
    assert check_outcome(Check(answer_contains="2050"), "2,050 in all", Path()).passed


@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ("PURPOSE DESKTOP", True),
        ('  "PURPOSE   DESKTOP".  ', True),
        ("purpose desktop", False),
        ("The answer is PURPOSE DESKTOP", False),
    ],
)
def test_answer_equals_is_exact_but_for_spacing_quotes_and_a_full_stop(
    answer: str, passed: bool
) -> None:
    result = check_outcome(Check(answer_equals="PURPOSE DESKTOP"), answer, Path())
    assert result.passed is passed
    assert "expected 'PURPOSE DESKTOP'" in result.detail


def test_normalising_an_answer() -> None:
    assert normalise_answer(" `1,250,000.00` . ") == "1250000"
    assert normalise_answer("“a  b”") == "a b"


def test_file_checks_read_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("- buy milk\r\n- call Ann\r\n", "utf-8")
    (tmp_path / "sorted.txt").write_text("Alice\nBob\nCarol\n\n", "utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")

    def check(**kinds: FileText) -> tuple[bool, str]:
        result = check_outcome(Check(**kinds), None, tmp_path)
        return result.passed, result.detail

    assert check(file_contains=FileText(path="notes/todo.txt", text="buy milk"))[0]
    assert check(file_equals=FileText(path="notes/todo.txt", text="- buy milk\n- call Ann"))[0]
    assert check(file_equals=FileText(path="sorted.txt", text="Alice\nBob\nCarol"))[0]
    assert not check(file_equals=FileText(path="sorted.txt", text="Alice\nBob"))[0]
    assert not check(file_contains=FileText(path="notes/todo.txt", text="buy bread"))[0]
    assert check(file_equals=FileText(path="loud.txt", text="HI")) == (
        False,
        "loud.txt was not written",
    )
    passed, detail = check(file_equals=FileText(path="bad.txt", text="x"))
    assert not passed and "cannot be read" in detail
