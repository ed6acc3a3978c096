"""
The one condition language of crmkit: parse, type-check, compile, explain.

Conditions are data (`Compare`, `IsEmpty`, `All`, `Any`, `Not`) with a readable
text form::

    country in ("FR", "BE") and employees >= 200 and score > 60

`parse` reads the text (with the line and column of any mistake), `to_text`
writes it back, `check` (or ``parse(..., schema=...)``) refuses unknown fields
and ill-typed values, `compile_condition` turns it into a fast predicate and
`explain` says why a record matched or not. Routing, pipeline guards, segments,
SLA policies and access rules all use it.
"""

from crmkit import _public
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
    Scalar,
    fields_of,
)
from crmkit.conditions._check import check
from crmkit.conditions._compile import (
    CompiledCondition,
    Predicate,
    compile_condition,
    compile_many,
)
from crmkit.conditions._convert import configure_converter
from crmkit.conditions._evaluate import Explanation, explain, is_empty
from crmkit.conditions._parser import parse
from crmkit.conditions._printer import to_text
from crmkit.conditions._regex import MAX_INPUT, regex_problem
from crmkit.conditions._schema import FieldType, Schema, record_of

__all__ = [
    "MAX_INPUT",
    "All",
    "Any",
    "Compare",
    "CompiledCondition",
    "Condition",
    "Explanation",
    "FieldType",
    "IsEmpty",
    "Literal",
    "Not",
    "Op",
    "Predicate",
    "Relative",
    "Scalar",
    "Schema",
    "check",
    "compile_condition",
    "compile_many",
    "configure_converter",
    "explain",
    "fields_of",
    "is_empty",
    "parse",
    "record_of",
    "regex_problem",
    "to_text",
]

_public.publish(globals(), __all__)
