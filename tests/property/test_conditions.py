"""Properties of the condition language: round trips, and compiled == explained."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from crmkit.conditions import (
    All,
    Any,
    Compare,
    IsEmpty,
    Not,
    Op,
    Relative,
    compile_condition,
    explain,
    parse,
    to_text,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PATHS = st.sampled_from(["a", "b", "score", "address.city", "custom.tier"])
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
NUMBERS = st.integers(-1000, 1000) | st.decimals(
    -1000, 1000, places=2, allow_nan=False, allow_infinity=False
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]
)
MOMENTS = st.builds(
    lambda day, minutes, zone: (
        datetime(2026, 1, 1, tzinfo=zone) + timedelta(days=day, minutes=minutes)
    ),
    st.integers(-400, 400),
    st.integers(0, 1439),
    ZONES,
)
DAYS = st.dates(date(2024, 1, 1), date(2028, 12, 31))
RELATIVES = st.builds(
    Relative,
    st.sampled_from(["now", "today"]),
    st.integers(-5000, 5000).map(lambda minutes: timedelta(minutes=minutes)),
)
SCALARS = TEXTS | NUMBERS | st.booleans() | DAYS | MOMENTS | RELATIVES


def _compare(path, op, data):
    if op in {Op.IN, Op.NOT_IN}:
        return Compare(
            path, op, tuple(data.draw(st.lists(SCALARS, min_size=1, max_size=3)))
        )
    if op is Op.BETWEEN:
        return Compare(path, op, (data.draw(SCALARS), data.draw(SCALARS)))
    if op in {Op.CONTAINS, Op.STARTS_WITH}:
        return Compare(path, op, data.draw(TEXTS))
    if op is Op.MATCHES:
        return Compare(
            path, op, data.draw(st.sampled_from(["^a", r"\d{2}", "x|y", "[a-z]+$"]))
        )
    return Compare(path, op, data.draw(SCALARS))


@st.composite
def leaves(draw):
    path = draw(PATHS)
    op = draw(st.sampled_from([*Op, None]))
    if op is None:
        return IsEmpty(path)
    return _compare(path, op, draw(st.data()))


def _combine(children):
    return st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda items: All(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Any(tuple(items))),
        st.just(All(())),
        st.just(Any(())),
    )


CONDITIONS = st.recursive(leaves(), _combine, max_leaves=8)

FIELD_VALUES = (
    st.none()
    | TEXTS
    | st.sampled_from(["", "  ", "a", "abc", "12", "x"])
    | NUMBERS
    | st.floats(-1000, 1000)
    | st.booleans()
    | DAYS
    | MOMENTS
    | st.frozensets(TEXTS, max_size=2)
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "a": FIELD_VALUES,
        "b": FIELD_VALUES,
        "score": FIELD_VALUES,
        "address": st.none()
        | st.fixed_dictionaries({}, optional={"city": FIELD_VALUES}),
        "custom": st.fixed_dictionaries({}, optional={"tier": FIELD_VALUES}),
    },
)


@given(CONDITIONS)
def test_data_to_text_to_data_is_the_identity(condition):
    """Any condition prints to a text that parses back to equal data."""
    text = to_text(condition)
    assert condition == parse(text)
    assert text == to_text(parse(text))


@given(CONDITIONS, RECORDS)
def test_compiled_predicates_agree_with_the_explainer(condition, record):
    """The fast predicate and the careful explainer never disagree."""
    assert explain(condition, record, now=NOW).matched == compile_condition(
        condition
    ).bind(NOW)(record)
