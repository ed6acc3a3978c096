"""
Regular expressions that cannot backtrack catastrophically, and bounded input.

Python's `re` backtracks, so ``(a+)+$`` takes exponential time on ``"aaaa...b"``.
Conditions accept a pattern only when it has no quantified group that itself holds
a quantifier or an alternation (the shapes of exponential backtracking), no
backreference and no lookaround; and a match reads at most `MAX_INPUT` characters,
which bounds the polynomial cases (``a*a*a*``) too.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_INPUT", "regex_problem"]

MAX_INPUT: Final = 10_000
"""The number of characters of a value a ``matches`` test reads."""

_QUANTIFIERS: Final = frozenset("*+?{")


def _skip_class(pattern: str, index: int) -> int:
    """Index just after the character class opening at ``index``."""
    index += 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _is_quantifier(pattern: str, index: int) -> bool:
    if index >= len(pattern) or pattern[index] not in _QUANTIFIERS:
        return False
    return (
        pattern[index] != "{"
        or re.match(r"\{\d*(,\d*)?\}", pattern[index:]) is not None
    )


def regex_problem(pattern: str) -> str | None:  # noqa: C901, PLR0912 - a small scanner
    r"""
    Why ``pattern`` is refused, or `None` when it is safe and valid.

    >>> regex_problem(r"^(\\w+\\s?)+$")
    'a repeated group that holds a repetition or an alternation, at offset 1'
    >>> regex_problem(r"^[A-Z]{2}-\\d{4,6}$") is None
    True
    """
    try:
        re.compile(pattern)
    except re.error as error:
        return f"an invalid regular expression ({error})"
    # Each open group: does it hold a quantifier or an alternation?
    stack: list[tuple[int, bool]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            follower = pattern[index + 1 : index + 2]
            if follower.isdigit() and follower != "0":
                return f"a backreference, at offset {index}"
            index += 2
        elif char == "[":
            index = _skip_class(pattern, index)
        elif char == "(":
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), index):
                return f"a lookaround, at offset {index}"
            if pattern.startswith("(?P=", index):
                return f"a backreference, at offset {index}"
            stack.append((index, False))
            index += 1
            continue
        elif char == ")":
            start, risky = stack.pop()
            index += 1
            quantified = _is_quantifier(pattern, index)
            if quantified and risky:
                return (
                    "a repeated group that holds a repetition or an alternation, "
                    f"at offset {start}"
                )
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1] or risky or quantified)
            continue
        elif char == "|":
            if stack:
                stack[-1] = (stack[-1][0], True)
            index += 1
            continue
        else:
            index += 1
        if _is_quantifier(pattern, index) and stack:
            stack[-1] = (stack[-1][0], True)
    return None
