"""The condition language: parsing, errors, checking, compiling, explaining."""

import json
import pickle
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crmkit.conditions import (
    MAX_INPUT,
    All,
    Any,
    Compare,
    FieldType,
    IsEmpty,
    Not,
    Op,
    Relative,
    Schema,
    check,
    compile_condition,
    compile_many,
    configure_converter,
    explain,
    fields_of,
    parse,
    record_of,
    regex_problem,
    to_text,
)
from crmkit.errors import DefinitionSyntaxError, InvalidDefinition, ValidationError
from crmkit.model import CustomField, EntitySchema, Lead, Organization
from crmkit.serialization import make_converter
from crmkit.values import EmailAddress, PostalAddress

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LEAD = Schema.of(Lead).extended({"country": "text", "language": "text"})


def syntax_error(text, schema=None) -> DefinitionSyntaxError:
    with pytest.raises(DefinitionSyntaxError) as caught:
        parse(text, schema=schema)
    return caught.value


# --- parsing and printing ---------------------------------------------------------


def test_the_issue_example_parses_to_data():
    """The example of the issue becomes an All of three comparisons."""
    condition = parse('country in ("FR", "BE") and employees >= 200 and score > 60')
    assert (
        All(
            (
                Compare("country", Op.IN, ("FR", "BE")),
                Compare("employees", Op.GTE, 200),
                Compare("score", Op.GT, 60),
            )
        )
        == condition
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a == "x"', Compare("a", Op.EQ, "x")),
        ("a = 'x'", Compare("a", Op.EQ, "x")),
        ("a != 1.5", Compare("a", Op.NE, Decimal("1.5"))),
        ("a < -3", Compare("a", Op.LT, -3)),
        ("a <= 3", Compare("a", Op.LTE, 3)),
        ("a > 2026-01-31", Compare("a", Op.GT, date(2026, 1, 31))),
        (
            "a >= 2026-01-31T09:00Z",
            Compare("a", Op.GTE, datetime(2026, 1, 31, 9, tzinfo=UTC)),
        ),
        ('a not in ("x", "y",)', Compare("a", Op.NOT_IN, ("x", "y"))),
        ("a between 1 and 5", Compare("a", Op.BETWEEN, (1, 5))),
        ('a contains "Demo"', Compare("a", Op.CONTAINS, "Demo")),
        ('a starts with "75"', Compare("a", Op.STARTS_WITH, "75")),
        (r'a matches "^\\d+$"', Compare("a", Op.MATCHES, r"^\d+$")),
        ("a is empty", IsEmpty("a")),
        ("a is not empty", Not(IsEmpty("a"))),
        ("a == true", Compare("a", Op.EQ, value=True)),
        (
            "a > now - 7d",
            Compare("a", Op.GT, Relative("now", -timedelta(days=7))),
        ),
        (
            "a >= today + 2w",
            Compare("a", Op.GTE, Relative("today", timedelta(weeks=2))),
        ),
        ("true", All(())),
        ("false", Any(())),
        ("NOT a IS EMPTY", Not(IsEmpty("a"))),
        ("address.city == 'Lyon'", Compare("address.city", Op.EQ, "Lyon")),
    ],
)
def test_each_form_parses(text, expected):
    """Every operator and value form has a text form."""
    assert expected == parse(text)


def test_and_binds_tighter_than_or_and_parentheses_group():
    """``a or b and c`` is ``a or (b and c)``; parentheses override."""
    a, b, c = (Compare(name, Op.EQ, 1) for name in "abc")
    assert Any((a, All((b, c)))) == parse("a == 1 or b == 1 and c == 1")
    assert All((Any((a, b)), c)) == parse("(a == 1 or b == 1) and c == 1")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            "country in ('FR','BE') AND NOT score<=60",
            'country in ("FR", "BE") and not score <= 60',
        ),
        ("(a == 1 or b == 1) and c = 1", "(a == 1 or b == 1) and c == 1"),
        ("not (a == 1 and b == 1)", "not (a == 1 and b == 1)"),
        ("a == 'say \"hi\"\\n'", 'a == "say \\"hi\\"\\n"'),
        ("a > now - 90m", "a > now - 90m"),
        ("a > now - 48h", "a > now - 2d"),
        ("a == 2.50", "a == 2.50"),
    ],
)
def test_text_prints_back_canonically(text, canonical):
    """to_text writes the canonical form, which parses back to the same data."""
    assert canonical == to_text(parse(text))
    assert parse(text) == parse(canonical)


def test_backslashes_other_than_escapes_are_kept_for_regexes():
    """Only \\" \\' \\\\ \\n \\t are escapes; "\\d" stays a backslash and a d."""
    assert Compare("p", Op.MATCHES, r"^\d{5}$") == parse(r'p matches "^\d{5}$"')
    assert Compare("p", Op.EQ, "a\\b\n") == parse(r'p == "a\\b\n"')
    assert r'p matches "^\\d{5}$"' == to_text(parse(r'p matches "^\d{5}$"'))


def test_fields_of_lists_each_path_once():
    """fields_of names what a condition reads."""
    condition = parse('country == "FR" and (score > 5 or country is empty)')
    assert ("country", "score") == fields_of(condition)


# --- errors with positions --------------------------------------------------------


def test_an_unknown_operator_gives_line_column_and_what_was_expected():
    """A typo in the operator is reported where it is."""
    error = syntax_error('country inn ("FR")')
    assert (1, 9) == (error.line, error.column)
    assert "'inn'" == error.found
    assert "an operator" in error.expected
    assert "line 1, column 9" in str(error)


def test_positions_count_lines():
    """A problem on a later line reports that line and its own column."""
    error = syntax_error("employees == 5 and\n  score >== 3")
    assert (2, 11) == (error.line, error.column)


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ('a == "x', 6, "a closing"),
        ("a ==", 5, "a value"),
        ("(a == 1", 8, "')'"),
        ("a == 1 b == 2", 8, "'and', 'or'"),
        ("a == 2026-01-01T10:00", 6, "an offset"),
        ("a == 2026-02-30", 6, "a valid date"),
        ("a == 1 and", 11, "a field name"),
        ("a in ()", 7, "a value"),
        ("a in (1 2)", 9, "',' or ')'"),
        ("a == @", 6, "a field, a value"),
        ("a == 12abc", 8, "a space or an operator"),
        ("a starts 'x'", 10, "'with'"),
        ("a contains 5", 12, "a string"),
        ("a is full", 6, "'empty'"),
        ("and == 1", 1, "a field name"),
    ],
)
def test_syntax_errors_say_where_and_what(text, column, expected):
    """Every syntax error has a column and says what would have been accepted."""
    error = syntax_error(text)
    assert column == error.column
    assert expected in error.expected
    assert isinstance(error, InvalidDefinition)


def test_an_unknown_field_is_refused_with_a_suggestion():
    """With a schema, a misspelt field is refused at its position, with a hint."""
    error = syntax_error("score > 5 and employes >= 3", LEAD)
    assert (1, 15) == (error.line, error.column)
    assert "unknown field 'employes'" == error.found
    assert "employees" in error.expected


def test_a_value_of_the_wrong_type_is_refused_at_the_value():
    """The column points at the bad value, here the second of the list."""
    error = syntax_error('employees in (1, "many")', LEAD)
    assert 18 == error.column
    assert "a number" in error.expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('tags == "vip"', "'eq'"),
        ('tags contains "vip" and employees starts with "1"', "'starts_with'"),
        ('employees contains "1"', "'contains'"),
        ("created_at > today", "a moment relative to today"),
        ("created_at > 2026-01-01", "datetime.date(2026, 1, 1)"),
        ('address == "x"', "the related record 'address'"),
        ("score == true", "True"),
    ],
)
def test_ill_typed_tests_are_refused(text, found):
    """Operators and values must fit the field's type."""
    assert found == syntax_error(text, LEAD).found


def test_an_operator_that_does_not_fit_is_refused_at_the_operator():
    """The column of an ill-fitting operator is the operator's."""
    assert 6 == syntax_error('tags == "vip"', LEAD).column


def test_related_records_and_custom_fields_are_checked():
    """Dotted paths reach related records and the business's custom fields."""
    custom = EntitySchema(
        custom_fields=[
            CustomField(name="revenue", type="decimal"),
            CustomField(name="segments", type="multi_choice", choices=["smb", "mid"]),
        ]
    )
    schema = Schema.of(Lead, custom=custom)
    parse(
        'custom.revenue > 10.5 and custom.segments contains "smb" '
        'and address.country == "FR"',
        schema=schema,
    )
    assert (
        "unknown field 'custom.revenu'"
        == syntax_error("custom.revenu > 1", schema).found
    )


def test_check_refuses_data_built_conditions_that_do_not_fit():
    """Conditions built as data are checked too, naming where they sit."""
    with pytest.raises(InvalidDefinition, match=r"rules\[0\]\.when: .*unknown field"):
        check(Compare("nope", Op.EQ, 1), LEAD, where="rules[0].when")
    check(Compare("score", Op.EQ, 1), LEAD)


def test_data_nodes_refuse_bad_shapes():
    """Nodes check their own shape when built."""
    with pytest.raises(InvalidDefinition, match="field path"):
        Compare("1abc", Op.EQ, 1)
    with pytest.raises(InvalidDefinition, match="non-empty tuple"):
        Compare("a", Op.IN, ())
    with pytest.raises(InvalidDefinition, match="one condition"):
        All((IsEmpty("a"),))
    with pytest.raises(InvalidDefinition, match="naive"):
        Compare("a", Op.GT, datetime(2026, 1, 1))  # noqa: DTZ001 - the point
    with pytest.raises(InvalidDefinition, match="whole number of minutes"):
        Relative("now", timedelta(seconds=5))
    with pytest.raises(InvalidDefinition, match="not a condition"):
        All((IsEmpty("a"), "b == 1"))


# --- regular expressions ----------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"^(\w+\s?)*$",
        r"(a|ab)*c",
        r"((ab)*)+",
        r"(\d)\1",
        r"(?=a)a",
        "(x",
        r"(?P<x>a)(?P=x)",
        r"([^]a]+)*",
    ],
)
def test_catastrophic_or_invalid_regexes_are_refused(pattern):
    """Nested repetition, repeated alternation, backreferences, lookarounds: refused."""
    assert regex_problem(pattern) is not None
    with pytest.raises(DefinitionSyntaxError) as caught:
        parse(f"name matches {json.dumps(pattern)}")
    assert 14 == caught.value.column
    with pytest.raises(InvalidDefinition):
        Compare("name", Op.MATCHES, pattern)


@pytest.mark.parametrize(
    "pattern",
    [r"^[A-Z]{2}-\d{4,6}$", r"(?i)demo|trial", r"^(ab)+$", r"[(a+)+]", r"([]a])+x"],
)
def test_safe_regexes_are_accepted(pattern):
    """Plain repetition and alternation outside repeated groups are fine."""
    assert regex_problem(pattern) is None


def test_a_match_reads_at_most_max_input_characters():
    """The input a regex reads is bounded."""
    matches = compile_condition(parse('note matches "x"'))
    assert not matches({"note": "a" * MAX_INPUT + "x"})
    assert matches({"note": "a" * (MAX_INPUT - 1) + "x"})


# --- compiled predicates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ('c == "FR"', {"c": "FR"}, True),
        ('c == "FR"', {"c": "fr"}, False),
        ('c != "FR"', {}, True),
        ('c in ("FR", "BE")', {"c": "BE"}, True),
        ('c not in ("FR", "BE")', {}, True),
        ("n > 5", {"n": 6}, True),
        ("n > 5", {"n": None}, False),
        ("n >= 5", {"n": Decimal("5.0")}, True),
        ("n < 5", {"n": 4.5}, True),
        ("n <= 5", {}, False),
        ("n between 1 and 5", {"n": 5}, True),
        ("n between 1 and 5", {"n": 6}, False),
        ('t contains "demo"', {"t": "Please book a DEMO"}, True),
        ('t contains "vip"', {"t": frozenset({"vip"})}, True),
        ('t contains "vip"', {"t": None}, False),
        ('p starts with "75"', {"p": "75011"}, True),
        ('p starts with "75"', {"p": 75011}, False),
        (r'p matches "^\\d{5}$"', {"p": "75011"}, True),
        ("t is empty", {"t": "  "}, True),
        ("t is empty", {"t": ()}, True),
        ("t is empty", {"t": 0}, False),
        ("t is not empty", {"t": "x"}, True),
        ('a.b.c == "x"', {"a": {"b": {"c": "x"}}}, True),
        ('a.b.c == "x"', {"a": None}, False),
        ("true", {}, True),
        ('n > 5 and c == "FR"', {"n": 6, "c": "FR"}, True),
        ('n > 5 and c == "FR"', {"n": "six", "c": "FR"}, False),
        ('n > 5 and c == "FR"', {"c": "FR"}, False),
        ('n > 5 and c == "FR"', {"n": 6, "c": None}, False),
        ("n >= 5 and m < 2", {"n": 5, "m": "1"}, False),
        ("false", {}, False),
        ('n > 5 or c == "FR"', {"c": "FR"}, True),
        ('not c == "FR"', {"c": "FR"}, False),
        ("n > 5", {"n": "six"}, False),
        ("d > 2026-01-01", {"d": datetime(2026, 2, 1, tzinfo=UTC)}, False),
    ],
)
def test_compiled_predicates_agree_with_the_explainer(text, record, expected):
    """Each operator's meaning, compiled and explained alike."""
    condition = parse(text)
    assert expected == compile_condition(condition)(record)
    assert expected == explain(condition, record).matched


def test_related_attrs_records_are_read_through_dotted_paths():
    """A nested value may be an attrs object as well as a mapping."""
    predicate = compile_condition(parse('address.country == "FR"'))
    assert predicate({"address": PostalAddress(city="Lyon", country="FR")})


def test_relative_dates_are_measured_from_an_explicit_now():
    """``now - 7d`` and ``today`` resolve at bind time."""
    recent = compile_condition(parse("created_at >= now - 7d"))
    assert recent.relative
    record = {"created_at": NOW - timedelta(days=6)}
    assert recent.bind(NOW)(record)
    assert not recent.bind(NOW + timedelta(days=2))(record)
    due = compile_condition(parse("due <= today"))
    assert due({"due": date(2026, 3, 10)}, NOW)
    assert not due({"due": date(2026, 3, 11)}, NOW)
    choice = compile_condition(parse("due in (today, today + 1d)"))
    assert choice({"due": date(2026, 3, 11)}, NOW)


def test_relative_conditions_need_an_aware_now():
    """No now, or a naive one, is refused with a clear error."""
    recent = compile_condition(parse("created_at >= now - 7d"))
    with pytest.raises(ValidationError, match="give `now`"):
        recent.bind()
    with pytest.raises(ValidationError, match="naive"):
        recent.bind(datetime(2026, 1, 1))  # noqa: DTZ001 - the point
    with pytest.raises(ValidationError, match="give `now`"):
        explain(recent.condition, {"created_at": NOW})


def test_compile_many_compiles_each_condition():
    """Many conditions compile at once, each keeping its own constants."""
    first, second = compile_many([parse("n > 1"), parse("n > 10")])
    assert (True, False) == (first({"n": 5}), second({"n": 5}))
    assert "n > 10" == str(second)


def test_field_names_never_reach_generated_code_unchecked():
    """A path is an identifier; anything else is refused before compiling."""
    with pytest.raises(InvalidDefinition):
        Compare("a'); import os; ('", Op.EQ, 1)


# --- explanations -----------------------------------------------------------------


def test_explanations_say_which_parts_held_and_report_missing_fields():
    """A missing field is treated as empty, and the explanation says so."""
    condition = parse('country in ("FR", "BE") and score >= 20')
    explanation = explain(condition, {"country": "FR"})
    assert not explanation.matched
    assert ("score",) == explanation.missing
    assert [
        'no: country in ("FR", "BE") and score >= 20',
        '  yes: country in ("FR", "BE") (country is "FR")',
        "  no: score >= 20 (score is missing (treated as empty))",
    ] == explanation.lines()
    assert "score >= 20 (score is missing (treated as empty))" == explanation.summary()


def test_a_summary_names_only_the_tests_that_decided():
    """Through or, and and not, the summary keeps the parts that agree."""
    condition = parse("score >= 20 and (country == 'FR' or city == 'Geneva')")
    missed = explain(condition, {"city": "Geneva"})
    assert "score >= 20 (score is missing (treated as empty))" == missed.summary()
    held = explain(condition, {"city": "Geneva", "score": 30})
    assert 'score >= 20 (score is 30); city == "Geneva" (city is "Geneva")' == (
        held.summary()
    )
    negated = explain(parse("not score > 5"), {"score": 9})
    assert "score > 5 (score is 9)" == negated.summary()


def test_a_match_summary_lists_the_tests_that_held():
    """The summary of a match names the values that made it."""
    explanation = explain(parse("employees >= 1000"), {"employees": 1500})
    assert "employees >= 1000 (employees is 1500)" == explanation.summary()
    assert "yes: employees >= 1000 (employees is 1500)" == str(explanation)


def test_explanations_show_relative_moments():
    """A relative value is shown with the moment it stood for."""
    explanation = explain(parse("created_at >= now - 1d"), {"created_at": NOW}, now=NOW)
    assert explanation.matched
    assert explanation.detail.endswith("; now - 1d is 2026-03-09 12:00:00+00:00")


# --- schemas, records and serialisation ------------------------------------------


def test_schema_of_an_entity_types_its_fields():
    """Entity fields map to condition types; ids and emails are text."""
    schema = Schema.of(Lead)
    assert FieldType.NUMBER == schema.type_of("employees")
    assert FieldType.TEXT == schema.type_of("owner_id")
    assert FieldType.TEXT == schema.type_of("email")
    assert FieldType.TEXT_SET == schema.type_of("tags")
    assert FieldType.DATETIME == schema.type_of("created_at")
    assert FieldType.NUMBER == schema.type_of("annual_revenue.amount")
    assert schema.type_of("consents") is None
    assert schema.type_of("employees.x") is None
    with pytest.raises(InvalidDefinition, match="not one of"):
        Schema("x", {"a": "texte"})


def test_record_of_refuses_what_is_not_a_record():
    """Only attrs records (and mappings) become records."""
    with pytest.raises(InvalidDefinition, match="not an attrs record"):
        record_of(42)
    with pytest.raises(InvalidDefinition, match="not an attrs class"):
        Schema.of(dict)


def test_record_of_an_entity_is_what_conditions_read():
    """An entity becomes a plain record: text ids and emails, nested addresses."""
    lead = Lead.create(
        at=NOW,
        company_name="Acme",
        email=EmailAddress("ana@acme.fr"),
        employees=300,
        tags={"vip"},
        address=PostalAddress(city="Lyon", country="FR"),
    )
    record = record_of(lead)
    assert str(lead.id) == record["id"]
    assert "ana@acme.fr" == record["email"]
    predicate = compile_condition(
        parse('address.country == "FR" and tags contains "vip" and employees > 200')
    )
    assert predicate(record)


def test_conditions_round_trip_through_a_converter_as_text():
    """cattrs writes a condition as its text and reads it back."""
    converter = configure_converter(make_converter())
    condition = parse('country in ("FR", "BE") and score > 60')
    data = converter.unstructure(condition, All)
    assert 'country in ("FR", "BE") and score > 60' == data
    assert condition == converter.structure(json.loads(json.dumps(data)), All)


def test_a_non_text_condition_is_refused():
    """parse wants text."""
    with pytest.raises(DefinitionSyntaxError, match="a condition as text"):
        parse(42)  # type: ignore[arg-type]


def test_the_error_message_can_be_relocated_into_a_file():
    """A condition's error is placed at its line and column in a file."""
    error = syntax_error("a ==").relocated(
        source="routing.toml", line=12, column=8, where="rules[1].when"
    )
    assert re.fullmatch(
        r"routing\.toml, line 12, column 12 \(rules\[1\]\.when\): expected .*",
        str(error),
    )


def test_related_records_get_their_own_schema():
    """Schema.of(..., related=...) lets conditions reach a related record."""
    schema = Schema.of(Lead, related={"organization": Schema.of(Organization)})
    condition = parse(
        'organization.name starts with "Acme" and employees > 10', schema=schema
    )
    record = {"employees": 20, "organization": {"name": "ACME Holdings"}}
    assert compile_condition(condition)(record)
    assert (
        "unknown field 'organization.nam'"
        == syntax_error('organization.nam == "x"', schema).found
    )


def test_syntax_errors_survive_pickling():
    """Errors cross process boundaries with their position."""
    error = syntax_error("a ==").relocated(
        source="r.toml", line=3, column=8, where="rules[0].when"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own error
    assert (str(error), copy.line, copy.column, copy.where) == (
        str(copy),
        3,
        error.column,
        "rules[0].when",
    )
