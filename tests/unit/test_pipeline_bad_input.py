"""The issue's bad inputs, one test each: each is refused with a clear, typed error."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crmkit.errors import InvalidDefinition, TransitionNotAllowed, ValidationError
from crmkit.pipelines import DealPipeline, Stage, forecast, loads_definition
from crmkit.values import Money

AT = datetime(2026, 6, 1, tzinfo=UTC)
SALES = DealPipeline(
    "b2b",
    [
        Stage("new", 0.1),
        Stage("proposal", 0.5, required_fields=["amount"]),
        Stage("won", 1.0, "closed", outcome="won"),
        Stage("lost", 0.0, "omitted", outcome="lost"),
    ],
    lost_reasons=["price"],
    allow_skip=False,
)


def deal(**fields):
    return SALES.open(at=AT, name="Acme", **fields).entity


def test_unknown_stage():
    with pytest.raises(TransitionNotAllowed) as error:
        SALES.move(deal(), "closing", at=AT)
    assert "no stage 'closing' in 'b2b' (new, proposal, won, lost)" in str(error.value)


def test_a_forbidden_move_names_from_to_and_the_requirement():
    with pytest.raises(TransitionNotAllowed) as error:
        SALES.move(deal(), "proposal", at=AT)
    refused = error.value
    assert (refused.stage, refused.target) == ("new", "proposal")
    assert refused.requirement == "required field 'amount' is not set"


def test_a_lost_deal_without_a_reason():
    with pytest.raises(
        TransitionNotAllowed, match=r"a lost deal needs a reason \(one of: price\)"
    ):
        SALES.lose(deal(), None, at=AT)


def test_a_naive_datetime():
    with pytest.raises(ValidationError, match="naive datetime") as error:
        SALES.move(deal(), "lost", at=datetime(2026, 6, 2), reason="price")  # noqa: DTZ001 - the bad input
    assert error.value.paths == ("at",)


def test_an_amount_in_a_currency_with_no_rate():
    deals = [
        deal(amount=Money(Decimal(100), "EUR")),
        deal(amount=Money(Decimal(100), "CHF")),
    ]
    with pytest.raises(ValidationError) as error:
        forecast(deals, currency="EUR", rates={"USD": Decimal("0.9")})
    assert error.value.paths == ("deals[1].amount",)
    assert "no rate from CHF to EUR; add rates['CHF']" in str(error.value)


def test_a_definition_file_with_a_typo():
    text = 'name = "b2b"\n\n[[stages]]\nname = "new"\nprobabilty = 0.1\n'
    with pytest.raises(InvalidDefinition) as error:
        loads_definition(text, format="toml", file="sales.toml")
    assert (error.value.file, error.value.line, error.value.path) == (
        "sales.toml",
        5,
        "stages[0].probabilty",
    )
