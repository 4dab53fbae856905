"""Costs in the words and numbers a person reads: tokens, wall time, money and the one-line
summary of some calls. The Costs pane and the run report show them alike."""

from __future__ import annotations

from typing import Final

from purpose_desktop.engine.costs import CostTotal

#: The columns after a grouping's own name, in the Costs pane's table and the run report.
NUMBER_COLUMNS: Final = ("Calls", "Tokens in", "Tokens out", "Wall time", "Tokens/s", "Money")


def tokens_text(count: int) -> str:
    return f"{count:,}"


def seconds_text(seconds: float) -> str:
    """Wall time the way a person reads it: 8.4 s, 3 min 05 s, 2 h 07 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def money_text(amount: float) -> str:
    # Four decimals: a small model's call costs fractions of a cent.
    return f"{amount:,.4f}"


def number_texts(totals: CostTotal) -> tuple[str, ...]:
    """The cells of :data:`NUMBER_COLUMNS` for ``totals``."""
    return (
        f"{totals.calls:,}",
        tokens_text(totals.prompt_tokens),
        tokens_text(totals.completion_tokens),
        seconds_text(totals.seconds),
        f"{totals.tokens_per_second:.1f}",
        money_text(totals.cost),
    )


def summary_text(totals: CostTotal) -> str:
    """All the calls in one line."""
    calls = f"{totals.calls:,} call" + ("" if totals.calls == 1 else "s")
    return (
        f"{calls} · {tokens_text(totals.prompt_tokens)} tokens in · "
        f"{tokens_text(totals.completion_tokens)} out · {seconds_text(totals.seconds)} · "
        f"{totals.tokens_per_second:.1f} tokens/s · money {money_text(totals.cost)}"
    )
