"""Deciding a task's outcome from what a run left: its final answer and its workspace.

Answers are compared after normalising what a person would not count as a difference:
surrounding space, quotes and a closing full stop, runs of spaces, thousands separators.
``answer_contains`` also ignores case and wants the expected text as whole words (``408``
is not in ``4080``); ``answer_equals`` keeps case, since a text transformation such as
"in capital letters" is judged by it. Files are compared with their line endings unified and
trailing space at the end of the file dropped, as an editor would show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.engine.evaluation.suites import Check, FileText

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACE = re.compile(r"\s+")
_ZERO_FRACTION = re.compile(r"(?<=\d)\.0+(?!\d)")
_WRAPPING = "\"'`\u201c\u201d\u2018\u2019"  # straight and curly quotes, backticks


@dataclass(frozen=True)
class CheckResult:
    """Whether the outcome checked out, and what was compared when it did not."""

    passed: bool
    detail: str


def normalise_answer(text: str) -> str:
    """``text`` as answers are compared: spaces collapsed, wrapping quotes, a closing full
    stop, thousands separators and a zero fraction (``21.0``, as the calculator may show a
    whole number) removed."""
    text = _SPACE.sub(" ", _ZERO_FRACTION.sub("", _THOUSANDS.sub("", text))).strip()
    text = text.removesuffix(".").strip().strip(_WRAPPING).strip()
    return text


def check_outcome(check: Check, answer: str | None, workspace: Path) -> CheckResult:
    """Whether ``answer`` (``None`` when the run gave none) and the files in ``workspace``
    satisfy ``check``."""
    if check.answer_contains is not None:
        return _contains(answer, check.answer_contains)
    if check.answer_equals is not None:
        got = normalise_answer(answer or "")
        wanted = normalise_answer(check.answer_equals)
        return CheckResult(
            answer is not None and got == wanted, f"answer {got!r}, expected {wanted!r}"
        )
    if check.file_contains is not None:
        return _file(check.file_contains, workspace, whole=False)
    assert check.file_equals is not None  # Check holds exactly one kind
    return _file(check.file_equals, workspace, whole=True)


def _contains(answer: str | None, expected: str) -> CheckResult:
    wanted = normalise_answer(expected).casefold()
    got = normalise_answer(answer or "").casefold()
    # Whole words: no letter or digit right before, none right after, and no decimal part.
    pattern = rf"(?<!\w){re.escape(wanted)}(?!\w)(?!\.\d)"
    found = answer is not None and re.search(pattern, got) is not None
    return CheckResult(found, f"answer {got!r} should contain {wanted!r}")


def _file(expected: FileText, workspace: Path, *, whole: bool) -> CheckResult:
    target = workspace / expected.path
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CheckResult(False, f"{expected.path} was not written")
    except (OSError, UnicodeDecodeError) as exc:
        return CheckResult(False, f"{expected.path} cannot be read: {exc}")
    got, wanted = _file_text(text), _file_text(expected.text)
    passed = got == wanted if whole else wanted in got
    relation = "should be" if whole else "should contain"
    return CheckResult(passed, f"{expected.path} holds {got!r}, {relation} {wanted!r}")


def _file_text(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip()
