"""The tokenizer of the condition text form: hand-written, one pass, with positions."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Final, NamedTuple

from crmkit.errors import DefinitionSyntaxError

__all__ = ["Kind", "Token", "position", "tokenize"]


class Kind(enum.Enum):
    """What a token is."""

    NAME = "a name"
    STRING = "a string"
    NUMBER = "a number"
    DATE = "a date"
    DATETIME = "a date and time"
    DURATION = "a duration"
    OP = "an operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    MINUS = "'-'"
    PLUS = "'+'"
    END = "the end of the condition"


class Token(NamedTuple):
    """One token: its kind, its text, where it starts and its value."""

    kind: Kind
    text: str
    offset: int
    value: object = None


_TOKEN: Final = re.compile(
    r"""
    \s*(?:
      (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>==|!=|>=|<=|=|>|<)
    | (?P<punct>[(),+-])
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<moment>\d{4}-\d{2}-\d{2}
        (?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<duration>\d+[wdhm](?![A-Za-z0-9_]))
    | (?P<number>\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
_PUNCTUATION: Final = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ",": Kind.COMMA,
    "-": Kind.MINUS,
    "+": Kind.PLUS,
}
_ESCAPES: Final = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _error(text: str, offset: int, expected: str, found: str) -> DefinitionSyntaxError:
    line, column = position(text, offset)
    return DefinitionSyntaxError(
        text, line=line, column=column, expected=expected, found=found
    )


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(chars), index + 1
        if char == "\\" and index + 1 < len(text) and text[index + 1] != "\n":
            # \" \' \\ \n \t are escapes; any other backslash is kept, so that
            # regular expressions read naturally: "^\d{5}$".
            escaped = text[index + 1]
            chars.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
        elif char == "\n":
            break
        else:
            chars.append(char)
            index += 1
    raise _error(text, start, f"a closing {quote} on the same line", "an open string")


def _moment(text: str, literal: str, start: int) -> Token:
    try:
        if "T" not in literal:
            return Token(Kind.DATE, literal, start, date.fromisoformat(literal))
        moment = datetime.fromisoformat(literal)
    except ValueError:
        raise _error(
            text, start, "a valid date such as 2026-01-31", repr(literal)
        ) from None
    if moment.utcoffset() is None:
        raise _error(
            text,
            start,
            "a time with an offset such as 2026-01-31T09:00Z",
            f"the naive time {literal!r}",
        )
    return Token(Kind.DATETIME, literal, start, moment)


def _number(text: str, literal: str, start: int) -> Token:
    end = start + len(literal)
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        raise _error(
            text, end, "a space or an operator after a number", repr(text[end])
        )
    parsed = Decimal(literal) if "." in literal else int(literal)
    return Token(Kind.NUMBER, literal, start, parsed)


def tokenize(text: str) -> list[Token]:  # noqa: C901 - one branch per token kind
    """
    Split a condition's text into tokens, ending with an END token.

    Raises:
        DefinitionSyntaxError: A character that starts no token, an unclosed
            string, a bad escape or a bad date, with its line and column.
    """
    tokens: list[Token] = []
    append = tokens.append
    index = 0
    length = len(text.rstrip())
    match_at = _TOKEN.match
    while index < length:
        match = match_at(text, index)
        if match is None:
            index += len(text[index:]) - len(text[index:].lstrip())
            if text[index] in "\"'":
                _string(text, index)  # raises the precise error
            raise _error(
                text, index, "a field, a value or an operator", repr(text[index])
            )
        kind = match.lastgroup
        literal = match.group(kind)  # type: ignore[arg-type]
        start = match.start(kind)  # type: ignore[arg-type]
        if kind == "name":
            append(Token(Kind.NAME, literal, start, literal))
        elif kind == "op":
            append(Token(Kind.OP, literal, start, literal))
        elif kind == "punct":
            append(Token(_PUNCTUATION[literal], literal, start))
        elif kind == "number":
            append(_number(text, literal, start))
        elif kind == "string":
            value = literal[1:-1]
            if "\\" in value:
                value, _ = _string(text, start)
            append(Token(Kind.STRING, literal, start, value))
        elif kind == "moment":
            append(_moment(text, literal, start))
        else:
            append(Token(Kind.DURATION, literal, start, (literal[:-1], literal[-1])))
        index = match.end()
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens
