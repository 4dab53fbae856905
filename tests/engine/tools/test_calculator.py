"""The calculator: exact arithmetic, small-model spellings, and clear refusals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from purpose_desktop.engine.tools.base import ToolContext, ToolError
from purpose_desktop.engine.tools.calculator import CALCULATOR, calculate, evaluate, result_of
from purpose_desktop.engine.tools.functions import call_tool


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17*23", "391"),
        ("1234*5678", "7006652"),
        ("(2+3)**2", "25"),
        ("7 // 2", "3"),
        ("7 % 3", "1"),
        ("-(-3) + +2", "5"),
        ("10 / 4", "2.5"),
        ("6 / 3", "2"),
        ("0.1 + 0.2", "0.3"),
        ("1 / 3", "0.333333333333"),
        ("2 ** -1", "0.5"),
        ("-2 ** 2", "-4"),
        ("2 ** 100", "1267650600228229401496703205376"),
        ("1e20", "1e20"),
        ("1e-7", "1e-7"),
        ("sqrt(2)", "1.41421356237"),
        ("sqrt(16)", "4"),
        ("abs(-4.5)", "4.5"),
        ("round(10/3, 2)", "3.33"),
        ("round(2.7)", "3"),
        ("min(4, 2, 8)", "2"),
        ("max(4, 2, 8)", "8"),
        ("floor(2.7) + ceil(2.1)", "5"),
        ("log(8, 2)", "3"),
        ("log(e)", "1"),
        ("exp(0)", "1"),
        ("sin(0) + cos(0) + tan(0)", "1"),
        ("pi", "3.14159265359"),
    ],
)
def test_arithmetic_is_exact_and_friendly(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("What is 17*23?", "391"),
        ("17*23 =", "391"),
        ("calculate: 2+2", "4"),
        ("2^10", "1024"),
        ("3 x 4", "12"),
        ("3x4", "12"),
        ("3 \N{MULTIPLICATION SIGN} 4", "12"),
        ("10 \N{DIVISION SIGN} 4", "2.5"),
        ("10 \N{MINUS SIGN} 4", "6"),
        ("\N{SQUARE ROOT}16", "4"),
        ("2(3+4)", "14"),
        ("(1+2)(3+4)", "21"),
        ("1,000,000 / 4", "250000"),
        ("(1,000 + 5) * 2", "2010"),
        ("max(1, 2)", "2"),
        ("0x1F", "31"),
    ],
)
def test_small_model_spellings_are_understood(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


def test_whole_number_arithmetic_stays_an_int() -> None:
    assert evaluate("2**70") == 2**70
    assert isinstance(evaluate("2**70"), int)
    assert isinstance(evaluate("6/3"), float)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("x + 1", "unknown name 'x'; the calculator knows: abs, ceil"),
        ("foo(2)", "unknown function 'foo'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("(1).__class__", "does not support attribute access"),
        ("'a' * 3", "works with numbers, not text"),
        ("2 > 1", "does not support comparisons"),
        ("17*23 == 391", "without '=' inside it"),
        ("x = 3", "unknown name 'x'"),
        ("2 +", "cannot read '2 +' as arithmetic"),
        ("1,5", "cannot read the commas"),
        ("(1, 2)", "cannot read the commas"),
        ("sqrt(-1)", "sqrt(-1) is not defined for real numbers"),
        ("log(0)", "log(0) is not defined for real numbers"),
        ("(-8) ** (1/3)", "not a real number"),
        ("sqrt(1, 2)", "sqrt takes 1 argument, not 2"),
        ("sqrt", "sqrt is a function"),
        ("pi(2)", "pi is a number, not a function"),
        ("2 ** 100000", "the exponent 100000 is too large"),
        ("9 ** 5000", "digits"),
        ("10**999 * 10**999", "more than 1000 digits"),
        ("exp(1000)", "too large"),
        ("1e999", "too large"),
        ("", "the expression is empty"),
        ("1+" * 200 + "1", "too long"),
    ],
)
def test_refusals_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=None) as caught:
        calculate(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("17*24 = 420", "408 (17*24 is 408, not 420)"),
        ("17 * 24 = 351.5 apples", "408 (17 * 24 is 408, not 351.5)"),
        ("17*24 = 408", "408"),
        ("1000*3 = 3,000", "3000"),
        ("17*24 =", "408"),
        ("17*24 = many", "408"),
    ],
)
def test_a_guessed_result_after_equals_is_checked(expression: str, answer: str) -> None:
    assert calculate(expression) == answer


def test_the_result_of_an_output_leaves_out_the_note_on_a_wrong_claim() -> None:
    assert result_of(calculate("23*17 = 381")) == "391"
    assert result_of(calculate("17 * 24 = 351.5 apples")) == "408"
    assert result_of(calculate("23*17")) == "391"
    # Other text is as it is: a note must name the value it is about.
    assert result_of("12 (see below)") == "12 (see below)"
    assert result_of("Wrote 3 characters to a.txt") == "Wrote 3 characters to a.txt"


def test_huge_work_is_refused_quickly() -> None:
    started = time.monotonic()
    for expression in ("9**9**9", "2**10000 * 2**10000", "(10**900)**9", "99999**9999"):
        with pytest.raises(ToolError):
            calculate(expression)
    assert time.monotonic() - started < 1.0


def test_the_tool_takes_an_expression(tmp_path: Path) -> None:
    assert CALCULATOR.name == "calculator"
    assert not CALCULATOR.risky
    assert CALCULATOR.parameters["required"] == ["expression"]
    context = ToolContext(tmp_path)
    assert asyncio.run(call_tool(CALCULATOR, {"expression": "17*23"}, context)) == "391"
    with pytest.raises(ToolError, match="division by zero"):
        asyncio.run(call_tool(CALCULATOR, {"expression": "1/0"}, context))
    with pytest.raises(ToolError, match="missing argument 'expression'"):
        asyncio.run(call_tool(CALCULATOR, {}, context))
