"""
The recursive-descent parser of the condition text form.

Grammar (keywords are case-insensitive)::

    condition  = or
    or         = and ("or" and)*
    and        = unary ("and" unary)*
    unary      = "not" unary | "(" condition ")" | "true" | "false" | test
    test       = PATH ( ("==" | "=" | "!=" | ">" | ">=" | "<" | "<=") value
                      | ["not"] "in" "(" value ("," value)* [","] ")"
                      | "between" value "and" value
                      | "contains" value | "starts" "with" value | "matches" STRING
                      | "is" ["not"] "empty" )
    value      = STRING | ["-"] NUMBER | DATE | DATETIME | "true" | "false"
               | ("now" | "today") [("+" | "-") DURATION]
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, cast

from crmkit.conditions._ast import (
    All,
    Any,
    Compare,
    Condition,
    IsEmpty,
    Literal,
    Not,
    Op,
    Relative,
)
from crmkit.conditions._check import Problem, check_leaf
from crmkit.conditions._lexer import Kind, Token, position, tokenize
from crmkit.conditions._regex import regex_problem
from crmkit.conditions._schema import Schema
from crmkit.errors import DefinitionSyntaxError, InvalidDefinition

__all__ = ["parse"]

_COMPARISONS: Final = {
    "==": Op.EQ,
    "=": Op.EQ,
    "!=": Op.NE,
    ">": Op.GT,
    ">=": Op.GTE,
    "<": Op.LT,
    "<=": Op.LTE,
}
_UNITS: Final = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_TEST_EXPECTED: Final = (
    "an operator (==, !=, >, >=, <, <=, in, not in, between, contains, "
    "starts with, matches, is empty)"
)
_WORD_TESTS: Final = {
    "in": "in_test",
    "not": "not_in_test",
    "between": "between_test",
    "contains": "contains_test",
    "starts": "starts_test",
    "matches": "matches_test",
}
_RESERVED: Final = frozenset(
    {"and", "or", "not", "true", "false", "now", "today", "in", "is"}
)


def _found(token: Token) -> str:
    return "the end of the condition" if token.kind is Kind.END else repr(token.text)


class _Parser:
    def __init__(self, text: str, schema: Schema | None) -> None:
        self.text = text
        self.schema = schema
        self.tokens = tokenize(text)
        self.index = 0

    # --- token helpers -------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.token
        return token.kind is Kind.NAME and token.text.lower() in words

    def error(self, token: Token, expected: str) -> DefinitionSyntaxError:
        return self.error_at(token.offset, expected, _found(token))

    def error_at(self, offset: int, expected: str, found: str) -> DefinitionSyntaxError:
        line, column = position(self.text, offset)
        return DefinitionSyntaxError(
            self.text, line=line, column=column, expected=expected, found=found
        )

    def at(self, kind: Kind) -> bool:
        return self.token.kind is kind

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            raise self.error(self.token, repr(word))
        self.advance()

    def expect(self, kind: Kind) -> Token:
        if self.token.kind is not kind:
            raise self.error(self.token, kind.value)
        return self.advance()

    # --- grammar ---------------------------------------------------------------

    def parse(self) -> Condition:
        condition = self.disjunction()
        if self.token.kind is not Kind.END:
            raise self.error(self.token, "'and', 'or' or the end of the condition")
        return condition

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while self.is_word("or"):
            self.advance()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Any(tuple(items))

    def conjunction(self) -> Condition:
        items = [self.unary()]
        while self.is_word("and"):
            self.advance()
            items.append(self.unary())
        return items[0] if len(items) == 1 else All(tuple(items))

    def unary(self) -> Condition:
        token = self.token
        if self.is_word("not"):
            self.advance()
            return Not(self.unary())
        if token.kind is Kind.LPAREN:
            self.advance()
            inner = self.disjunction()
            if self.token.kind is not Kind.RPAREN:
                raise self.error(self.token, "')' or 'and'/'or'")
            self.advance()
            return inner
        if self.is_word("true", "false"):
            self.advance()
            return All(()) if token.text.lower() == "true" else Any(())
        if token.kind is not Kind.NAME or token.text.lower() in _RESERVED:
            raise self.error(token, "a field name, 'not', '(' , 'true' or 'false'")
        return self.test()

    def test(self) -> Condition:
        start = self.token
        try:
            return self.test_parts()
        except InvalidDefinition as error:
            if isinstance(error, DefinitionSyntaxError):
                raise
            raise self.error_at(
                start.offset, "a valid test", f"{error.reason} ({start.text!r})"
            ) from None

    def test_parts(self) -> Condition:
        path_token = self.advance()
        value_tokens: list[Token] = []
        op_token = self.token
        if op_token.kind is Kind.OP:
            self.advance()
            value_tokens.append(self.token)
            leaf: Compare | IsEmpty = Compare(
                path_token.text, _COMPARISONS[op_token.text], self.value()
            )
        elif self.is_word("is"):
            self.advance()
            negated = self.is_word("not")
            if negated:
                self.advance()
            self.expect_word("empty")
            leaf = IsEmpty(path_token.text)
            self.check(leaf, path_token, value_tokens, op_token)
            return Not(leaf) if negated else leaf
        elif op_token.kind is Kind.NAME and op_token.text.lower() in _WORD_TESTS:
            self.advance()
            word = getattr(self, _WORD_TESTS[op_token.text.lower()])
            leaf = word(path_token.text, value_tokens)
        else:
            raise self.error(op_token, _TEST_EXPECTED)
        self.check(leaf, path_token, value_tokens, op_token)
        return leaf

    def in_test(self, path: str, value_tokens: list[Token]) -> Compare:
        return Compare(path, Op.IN, self.choices(value_tokens))

    def not_in_test(self, path: str, value_tokens: list[Token]) -> Compare:
        self.expect_word("in")
        return Compare(path, Op.NOT_IN, self.choices(value_tokens))

    def between_test(self, path: str, value_tokens: list[Token]) -> Compare:
        value_tokens.append(self.token)
        low = self.value()
        self.expect_word("and")
        value_tokens.append(self.token)
        return Compare(path, Op.BETWEEN, (low, self.value()))

    def contains_test(self, path: str, value_tokens: list[Token]) -> Compare:
        value_tokens.append(self.token)
        return Compare(path, Op.CONTAINS, str(self.expect(Kind.STRING).value))

    def starts_test(self, path: str, value_tokens: list[Token]) -> Compare:
        self.expect_word("with")
        value_tokens.append(self.token)
        return Compare(path, Op.STARTS_WITH, str(self.expect(Kind.STRING).value))

    def matches_test(self, path: str, value_tokens: list[Token]) -> Compare:
        pattern = self.expect(Kind.STRING)
        problem = regex_problem(str(pattern.value))
        if problem:
            raise self.error_at(
                pattern.offset, "a regular expression that cannot backtrack", problem
            )
        value_tokens.append(pattern)
        return Compare(path, Op.MATCHES, str(pattern.value))

    def check(
        self,
        leaf: Compare | IsEmpty,
        path_token: Token,
        value_tokens: list[Token],
        op_token: Token,
    ) -> None:
        if self.schema is None:
            return
        problem: Problem | None = check_leaf(leaf, self.schema)
        if problem is None:
            return
        token = op_token if problem.at_operator else path_token
        if problem.value_index is not None and value_tokens:
            token = value_tokens[min(problem.value_index, len(value_tokens) - 1)]
        raise self.error_at(token.offset, problem.expected, problem.found)

    def choices(self, value_tokens: list[Token]) -> tuple[Literal, ...]:
        self.expect(Kind.LPAREN)
        items: list[Literal] = []
        while True:
            value_tokens.append(self.token)
            items.append(self.value())
            if self.token.kind is Kind.COMMA:
                self.advance()
                if self.at(Kind.RPAREN):
                    break
                continue
            if not self.at(Kind.RPAREN):
                raise self.error(self.token, "',' or ')'")
            break
        self.advance()
        return tuple(items)

    def value(self) -> Literal:
        token = self.token
        if token.kind in {Kind.STRING, Kind.NUMBER, Kind.DATE, Kind.DATETIME}:
            self.advance()
            return token.value  # type: ignore[return-value]
        if token.kind is Kind.MINUS:
            self.advance()
            number = self.expect(Kind.NUMBER).value
            return -number  # type: ignore[operator,no-any-return]
        if self.is_word("true", "false"):
            self.advance()
            return token.text.lower() == "true"
        if self.is_word("now", "today"):
            self.advance()
            return Relative(token.text.lower(), self.offset())
        raise self.error(
            token, "a value: a string, a number, a date, true, false, now or today"
        )

    def offset(self) -> timedelta:
        if self.token.kind not in {Kind.PLUS, Kind.MINUS}:
            return timedelta(0)
        sign = -1 if self.advance().kind is Kind.MINUS else 1
        amount, unit = cast("tuple[str, str]", self.expect(Kind.DURATION).value)
        return sign * timedelta(**{_UNITS[unit]: int(amount)})


def parse(text: str, *, schema: Schema | None = None) -> Condition:
    """
    Parse a condition's text form into data.

    >>> parse('country in ("FR", "BE") and not score > 60').conditions[1]
    Not(condition=Compare(path='score', op=<Op.GT: 'gt'>, value=60))

    Args:
        text: The condition, such as ``employees >= 200 and country == "FR"``.
        schema: When given, every field and value is type-checked against it.

    Raises:
        DefinitionSyntaxError: The text is not a condition, names an unknown
            field, compares a field with a value of the wrong type or holds an
            unsafe regular expression; with the line, column, what was expected
            there and what was found.
    """
    if not isinstance(text, str):
        raise DefinitionSyntaxError(
            repr(text),
            line=1,
            column=1,
            expected="a condition as text",
            found=type(text).__name__,
        )
    return _Parser(text, schema).parse()
