"""The calculator tool: exact arithmetic for models that cannot multiply.

Expressions are parsed with :mod:`ast` and only numbers, ``+ - * / // % **``, unary signs,
parentheses and the functions and constants in :data:`FUNCTIONS` and :data:`CONSTANTS` are
evaluated; nothing is ever handed to ``eval``. Work is bounded: the text is at most
:data:`MAX_EXPRESSION_CHARS` long, exponents at most :data:`MAX_EXPONENT`, and whole-number
results at most :data:`MAX_RESULT_DIGITS` digits.

What small models write is accepted when its meaning is clear:

* The multiplication sign, a middle dot and ``x``/``X`` between numbers (``3 x 4``)
  multiply; the division sign divides; ``^`` raises to a power; the minus sign and the en
  dash subtract; the square-root sign takes a root (``√9`` is ``sqrt(9)``).
* A number directly before a parenthesis, or parentheses next to each other, multiply:
  ``2(3+4)``, ``(1+2)(3+4)``.
* Surrounding words are dropped: a leading "what is", "calculate", "compute", "evaluate"
  and a trailing ``=``, ``?``, ``.`` or ``!`` (``"What is 17*23?"``, ``"17*23 ="``).
* Commas are thousands separators when they sit between groups of exactly three digits
  outside a function call (``1,000,000 / 4``). Inside a function call a comma separates
  arguments (``max(1, 2)``). Any other comma is refused as ambiguous (``1,5`` could be a
  decimal comma): the model is told to write the number without it.
* ``0x1F``-style hexadecimal literals stay hexadecimal (so ``0x5`` is 5, not 0 times 5).

``%`` is the remainder, never "percent": ``15% of 80`` cannot be read and is refused. An
``=`` left inside the text (``17*23 = 391``) is refused too: only the expression is wanted.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Annotated, Any, Final

from purpose_desktop.engine.tools.base import Tool, ToolError
from purpose_desktop.engine.tools.functions import tool_from_function

__all__ = [
    "CALCULATOR",
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_CHARS",
    "MAX_RESULT_DIGITS",
    "calculate",
    "evaluate",
    "format_number",
]

MAX_EXPRESSION_CHARS: Final = 300
MAX_EXPONENT: Final = 10_000
# Python refuses to turn an int of more than 4300 digits into text; stay well below.
MAX_RESULT_DIGITS: Final = 1_000
_MAX_RESULT_BITS: Final = int(MAX_RESULT_DIGITS * math.log2(10)) + 1
SIGNIFICANT_DIGITS: Final = 12
# Whole floats below this are shown without a decimal point (2.0 -> "2"); beyond it a float
# has lost its unit digits, so it keeps the exponent form.
_WHOLE_FLOAT_LIMIT: Final = 1e15

Number = int | float


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise ToolError("round's second argument (the number of digits) must be a whole number")
    return round(x, ndigits)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _min(*values: Number) -> Number:
    return min(values)


def _max(*values: Number) -> Number:
    return max(values)


# name -> (function, fewest arguments, most arguments (None: any number))
FUNCTIONS: Final[dict[str, tuple[Callable[..., Number], int, int | None]]] = {
    "abs": (abs, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "cos": (math.cos, 1, 1),
    "exp": (math.exp, 1, 1),
    "floor": (math.floor, 1, 1),
    "log": (_log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "max": (_max, 1, None),
    "min": (_min, 1, None),
    "round": (_round, 1, 2),
    "sin": (math.sin, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "tan": (math.tan, 1, 1),
}
CONSTANTS: Final[dict[str, float]] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_KNOWN_NAMES: Final = ", ".join(sorted([*FUNCTIONS, *CONSTANTS]))

_BINARY: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: Final[dict[type[ast.unaryop], Callable[[Any], Any]]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
# What a refused piece of syntax is called in the error message.
_UNSUPPORTED: Final[dict[type[ast.AST], str]] = {
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.IfExp: "if/else",
    ast.Tuple: "tuples (a comma outside a function call)",
    ast.List: "lists",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.JoinedStr: "strings",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^ as exclusive-or",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}

_LEADING_WORDS: Final = re.compile(
    r"^\s*(?:(?:please|what\s+is|what's|whats|calculate|compute|evaluate|solve|work\s+out)"
    r"\s*[:,]?\s*)+",
    re.IGNORECASE,
)
_TRAILING_MARKS: Final = re.compile(r"[\s=?!.]+$")
_SYMBOLS: Final = str.maketrans(
    {
        "\N{MULTIPLICATION SIGN}": "*",
        "\N{MIDDLE DOT}": "*",
        "\N{BULLET OPERATOR}": "*",
        "\N{DIVISION SIGN}": "/",
        "\N{MINUS SIGN}": "-",
        "\N{EN DASH}": "-",
        "\N{FULLWIDTH LEFT PARENTHESIS}": "(",
        "\N{FULLWIDTH RIGHT PARENTHESIS}": ")",
        "^": "**",
    }
)
_ROOT: Final = re.compile(r"√\s*(\d+(?:\.\d*)?|\.\d+)")
# "x" as a multiplication sign: between a number (or a closing parenthesis) and a number
# (or an opening one). A hexadecimal literal (0x1F) is left alone.
_TIMES_X: Final = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?|\))(\s*)[xX](\s*)(?=[\d.(])")
_NUMBER_THEN_PAREN: Final = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?|\.\d+)\s*\(")
_PAREN_THEN_OPERAND: Final = re.compile(r"\)\s*(?=[\d(])")
_THOUSANDS: Final = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?!\d|,\d)")
_CALLEE: Final = re.compile(r"[A-Za-z_]\w*\s*$")


def _normalise(expression: str) -> str:
    """The expression in Python syntax, small-model spellings translated."""
    text = _LEADING_WORDS.sub("", expression)
    text = _TRAILING_MARKS.sub("", text).strip()
    text = text.replace("**", "^")  # so that "^" -> "**" below leaves "**" as it was
    text = text.translate(_SYMBOLS)
    text = _ROOT.sub(r"sqrt(\1)", text).replace("√", "sqrt")
    text = _TIMES_X.sub(_times, text)
    text = _NUMBER_THEN_PAREN.sub(lambda m: f"{m.group(1)}*(", text)
    text = _PAREN_THEN_OPERAND.sub(")*", text)
    return _drop_thousands_separators(text)


def _times(match: re.Match[str]) -> str:
    number, before, after = match.group(1), match.group(2), match.group(3)
    if number == "0" and not before and not after:  # 0x1F: hexadecimal
        return match.group(0)
    return f"{number}*"


def _drop_thousands_separators(text: str) -> str:
    outside = _commas_outside_calls(text)

    def drop(match: re.Match[str]) -> str:
        commas = [match.start() + i for i, ch in enumerate(match.group()) if ch == ","]
        return (
            match.group().replace(",", "") if all(c in outside for c in commas) else (match.group())
        )

    cleaned = _THOUSANDS.sub(drop, text)
    if _commas_outside_calls(cleaned):
        raise ToolError(
            f"cannot read the commas in {text!r}: write numbers without commas (1000000) "
            "and use '.' for decimals; a comma only separates a function's arguments, as in "
            "max(1, 2)"
        )
    return cleaned


def _commas_outside_calls(text: str) -> set[int]:
    """Positions of the commas that are not between the parentheses of a function call."""
    stack: list[bool] = []  # for each open parenthesis: does it start a call?
    found: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(bool(_CALLEE.search(text[:i])))
        elif ch == ")" and stack:
            stack.pop()
        elif ch == "," and not (stack and stack[-1]):
            found.add(i)
    return found


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic ``expression``: an ``int`` when only whole numbers meet
    ``+ - * // % **`` (exact, however large within the limits), a ``float`` otherwise.

    Raises :class:`ToolError` with a message for the model when the text is too long, cannot
    be read, uses an unknown name or unsupported syntax, divides by zero, leaves the real
    numbers (``sqrt(-1)``) or would be too large to work out.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(
            f"the expression is too long ({len(expression)} characters; the "
            f"calculator takes at most {MAX_EXPRESSION_CHARS})"
        )
    text = _normalise(expression)
    if not text:
        raise ToolError("the expression is empty: give arithmetic such as 17*23")
    if "=" in text:
        raise ToolError(
            f"give only the expression to work out, without '=' inside it: "
            f"{text.split('=')[0].strip() or '17*23'}"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(
            f"cannot read {expression.strip()!r} as arithmetic ({exc.msg}); use numbers, "
            "+ - * / ** and parentheses, e.g. (17 + 3) * 2"
        ) from None
    except ValueError as exc:  # e.g. a NUL character
        raise ToolError(f"cannot read {expression.strip()!r} as arithmetic ({exc})") from None
    except (RecursionError, MemoryError):
        raise ToolError("the expression is nested too deeply") from None
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError(f"division by zero in {expression.strip()!r}") from None
    except OverflowError:
        raise ToolError(f"the result of {expression.strip()!r} is too large") from None
    except RecursionError:
        raise ToolError("the expression is nested too deeply") from None
    return _checked(value)


def calculate(expression: Annotated[str, {"maxLength": MAX_EXPRESSION_CHARS}]) -> str:
    """Work out arithmetic exactly, e.g. 17*23, (2+3)^2 or sqrt(2)/3.

    Args:
        expression: the arithmetic to work out, such as 1234*5678 or round(10/3, 2)
    """
    worked, claimed = _split_claim(expression)
    value = format_number(evaluate(worked))
    if claimed is None or _same_number(claimed, value):
        return value
    # Small models write the sum with a guessed result ("17*24 = 420"). Working out the left
    # side and saying the guess was wrong serves them better than a refusal they repeat.
    return f"{value} ({worked.strip()} is {value}, not {claimed})"


_CLAIM_NOTE = re.compile(r"^(\S+) \(.* is \1, not [^()]*\)$")


def result_of(output: str) -> str:
    """The value a :func:`calculate` output gives, without the note on a wrong claimed result
    (``391 (23*17 is 391, not 381)`` gives ``391``); any other text as it is."""
    found = _CLAIM_NOTE.match(output.strip())
    return output.strip() if found is None else found.group(1)


_CLAIMED = re.compile(r"^\s*(-?[\d,]*\.?\d+)")


def _split_claim(expression: str) -> tuple[str, str | None]:
    """``expression`` without a result written after one ``=`` (``17*24 = 420``), and that
    result's number, if it has one."""
    worked, equals, rest = expression.partition("=")
    if not equals or not worked.strip() or "=" in rest or worked.rstrip()[-1] in "<>!":
        return expression, None
    match = _CLAIMED.match(rest)
    return worked, match.group(1).replace(",", "") if match else None


def _same_number(claimed: str, value: str) -> bool:
    try:
        return float(claimed) == float(value)
    except ValueError:
        return False


def format_number(value: int | float) -> str:
    """``value`` as a model should read it: whole numbers without ``.0``, other floats to
    :data:`SIGNIFICANT_DIGITS` significant digits (``0.1+0.2`` -> ``0.3``)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < _WHOLE_FLOAT_LIMIT:
        return str(int(value))
    text = format(value, f".{SIGNIFICANT_DIGITS}g")
    if "e" in text:  # 1.5e+20 reads better as 1.5e20; keep the sign of negative exponents
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            kind = "text" if isinstance(node.value, str) else type(node.value).__name__
            raise ToolError(f"the calculator works with numbers, not {kind} ({node.value!r})")
        return _checked(node.value)
    if isinstance(node, ast.BinOp):
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ToolError(f"the calculator does not support {_name_of(node.op)}")
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(operation(left, right))
    if isinstance(node, ast.UnaryOp):
        unary = _UNARY.get(type(node.op))
        if unary is None:
            raise ToolError(f"the calculator does not support {_name_of(node.op)}")
        return _checked(unary(_evaluate(node.operand)))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ToolError(f"{node.id} is a function: write {node.id}(...)")
        raise ToolError(f"unknown name {node.id!r}; the calculator knows: {_KNOWN_NAMES}")
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolError(f"the calculator does not support {_name_of(node)}")


def _call(node: ast.Call) -> int | float:
    if not isinstance(node.func, ast.Name):
        raise ToolError(
            "only the calculator's own functions can be called, like sqrt(2); "
            f"it knows: {_KNOWN_NAMES}"
        )
    name = node.func.id
    if name not in FUNCTIONS:
        if name in CONSTANTS:
            raise ToolError(f"{name} is a number, not a function")
        raise ToolError(f"unknown function {name!r}; the calculator knows: {_KNOWN_NAMES}")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ToolError(f"give {name}'s arguments plainly, like {name}(2)")
    function, fewest, most = FUNCTIONS[name]
    count = len(node.args)
    if count < fewest or (most is not None and count > most):
        wanted = (
            f"{fewest}"
            if most == fewest
            else f"{fewest} or more"
            if most is None
            else f"{fewest} to {most}"
        )
        raise ToolError(
            f"{name} takes {wanted} argument{'s' if wanted != '1' else ''}, not {count}"
        )
    arguments = [_evaluate(a) for a in node.args]
    try:
        return _checked(function(*arguments))
    except ValueError:  # math domain errors: sqrt(-1), log(0)
        shown = ", ".join(format_number(a) for a in arguments)
        raise ToolError(f"{name}({shown}) is not defined for real numbers") from None


def _check_power(base: int | float, exponent: int | float) -> None:
    if abs(exponent) > MAX_EXPONENT and abs(base) not in (0, 1):
        raise ToolError(
            f"the exponent {format_number(exponent)} is too large (the "
            f"calculator allows at most {MAX_EXPONENT})"
        )
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and base:
        # Estimate the size before computing: 10**900 * 10**900 is cheap to refuse and
        # 9**10000 would be a 9543-digit number.
        bits = exponent * math.log2(abs(base))
        if bits > _MAX_RESULT_BITS:
            raise ToolError(
                f"the result would have about {int(bits / math.log2(10)) + 1} "
                f"digits; the calculator works with at most {MAX_RESULT_DIGITS}"
            )
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise ToolError("a negative number to a fractional power is not a real number")


def _checked(value: Any) -> int | float:
    if isinstance(value, complex):
        raise ToolError("the result is not a real number")
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _MAX_RESULT_BITS:
            raise ToolError(f"the result has more than {MAX_RESULT_DIGITS} digits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolError("the result is too large (or not a number)")
        return value
    raise ToolError(f"the calculator works with numbers, not {type(value).__name__}")


def _name_of(node: ast.AST) -> str:
    return _UNSUPPORTED.get(type(node), type(node).__name__)


CALCULATOR: Final[Tool] = tool_from_function(
    calculate,
    name="calculator",
    description="Work out arithmetic exactly, e.g. 17*23, (2+3)^2, sqrt(2)/3 or round(10/3, 2).",
    timeout=5.0,  # bounded work: anything slower is a bug worth hearing about
    keywords=(
        "arithmetic",
        "math",
        "maths",
        "calculate",
        "calculation",
        "compute",
        "sum",
        "add",
        "plus",
        "minus",
        "subtract",
        "difference",
        "multiply",
        "times",
        "product",
        "divide",
        "quotient",
        "percent",
        "percentage",
        "power",
        "square",
        "root",
        "average",
        "total",
        "number",
        "multiplication",
        "division",
    ),
)
"""The ``calculator`` tool: one ``expression`` argument, not risky."""
