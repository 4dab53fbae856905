from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from purpose_desktop.models.messages import ThinkingDelta, TokenDelta
from purpose_desktop.models.thinking import ThinkingSplitter


def split(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkingSplitter()
    out = [d for piece in pieces for d in splitter.feed(piece)] + list(splitter.flush())
    answer = "".join(d.text for d in out if isinstance(d, TokenDelta))
    thinking = "".join(d.text for d in out if isinstance(d, ThinkingDelta))
    return answer, thinking


def test_reasoning_is_kept_apart_from_the_answer() -> None:
    assert split(["<think>2+2 is 4</think>The answer is 4."]) == ("The answer is 4.", "2+2 is 4")


@pytest.mark.parametrize("cut", range(1, 30))
def test_tags_split_across_pieces_are_still_recognised(cut: int) -> None:
    text = "<think>add them</think>It is 4."
    assert split([text[:cut], text[cut:]]) == ("It is 4.", "add them")


def test_text_that_only_looks_like_a_tag_start_is_released() -> None:
    assert split(["a <thi", "ng> b", " <"]) == ("a <thing> b <", "")


def test_answer_without_reasoning_is_untouched() -> None:
    assert split(["plain ", "answer"]) == ("plain answer", "")


@given(st.text(alphabet="ab<>/thinké😀 ", max_size=40), st.lists(st.integers(0, 60), max_size=6))
def test_no_text_is_lost_or_reordered(body: str, cuts: list[int]) -> None:
    text = f"x<think>{body.replace('<think>', '').replace('</think>', '')}</think>y"
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    answer, thinking = split(pieces)
    assert answer == "xy"
    assert thinking == text[len("x<think>") : -len("</think>y")]
