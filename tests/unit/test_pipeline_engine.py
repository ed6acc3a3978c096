"""The generic engine: definitions checked when built, moves as a pure function."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from crmkit.errors import InvalidDefinition, TransitionNotAllowed, ValidationError
from crmkit.ids import new_id
from crmkit.model import Deal
from crmkit.pipelines import (
    ApprovalPresent,
    EffectRaised,
    FieldCondition,
    Lifecycle,
    RequiredFields,
    State,
    StateChanged,
    Transition,
    apply,
)
from crmkit.pipelines._engine import compile_function, write_lines
from crmkit.pipelines._guards import guard_from_dict, guard_to_dict
from crmkit.values import Money

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def lifecycle(**overrides):
    fields = {
        "name": "simple",
        "field": "stage",
        "initial": "draft",
        "states": [
            State("draft", on_exit=["draft.left"]),
            State("review"),
            State("done", terminal=True, on_entry=["done.reached"]),
        ],
        "transitions": [
            Transition("submit", "draft", "review", [RequiredFields(["amount"])]),
            Transition("approve", "review", "done", [ApprovalPresent("manager")]),
            Transition("reject", "review", "draft"),
        ],
    }
    return Lifecycle(**{**fields, **overrides})


def deal(**fields):
    return Deal.create(
        at=AT, name="Acme renewal", pipeline="simple", stage="draft", **fields
    )


def eur(amount):
    return Money(Decimal(amount), "EUR")


def test_apply_returns_the_moved_entity_and_its_events():
    actor = new_id(AT)
    start = deal(amount=eur(100))
    later = AT + timedelta(hours=1)
    moved = apply(lifecycle(), start, "submit", at=later, actor=actor)
    assert moved.entity.stage == "review"
    assert moved.entity.version == 2
    assert moved.entity.updated_at == later
    assert moved.entity == attrs.evolve(
        start, stage="review", version=2, updated_at=later
    )
    changed, effect = moved.events
    assert changed == StateChanged(
        entity_type="deal",
        entity_id=start.id,
        lifecycle="simple",
        transition="submit",
        source="draft",
        target="review",
        version=2,
        at=later,
        actor=actor,
    )
    assert effect == EffectRaised(
        name="draft.left",
        entity_type="deal",
        entity_id=start.id,
        state="draft",
        at=later,
        actor=actor,
    )
    assert start.stage == "draft"  # the input is untouched


def test_entry_effects_and_approvals():
    review = apply(lifecycle(), deal(amount=eur(1)), "submit", at=AT).entity
    with pytest.raises(TransitionNotAllowed) as refused:
        apply(lifecycle(), review, "approve", at=AT)
    assert refused.value.requirement == "approval 'manager' is missing"
    assert refused.value.target == "done"
    done = apply(lifecycle(), review, "approve", at=AT, approvals={"manager"})
    assert [type(e) for e in done.events] == [StateChanged, EffectRaised]
    assert done.events[1].name == "done.reached"


def test_a_failed_guard_names_from_to_and_the_requirement():
    with pytest.raises(TransitionNotAllowed) as refused:
        apply(lifecycle(), deal(), "submit", at=AT)
    message = str(refused.value)
    assert "'submit' from stage 'draft' to 'review'" in message
    assert "required field 'amount' is not set" in message


def test_unknown_transition_and_unknown_state_are_refused():
    with pytest.raises(TransitionNotAllowed, match=r"no transition 'approve'.*submit"):
        apply(lifecycle(), deal(), "approve", at=AT)
    stray = deal().update({"stage": "archived"}, at=AT).entity
    with pytest.raises(TransitionNotAllowed, match="'archived' is not a state"):
        apply(lifecycle(), stray, "submit", at=AT)


def test_naive_and_backward_times_are_refused():
    with pytest.raises(ValidationError, match="naive"):
        apply(lifecycle(), deal(amount=eur(1)), "submit", at=datetime(2026, 3, 2))  # noqa: DTZ001 - the bad input under test
    with pytest.raises(ValidationError, match="before the last update"):
        apply(lifecycle(), deal(amount=eur(1)), "submit", at=AT - timedelta(days=1))


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"initial": "nowhere"}, "initial", "unknown state 'nowhere'"),
        (
            {"states": [State("draft"), State("draft"), State("done", terminal=True)]},
            "states[1].name",
            "duplicate state 'draft'",
        ),
        (
            {"states": [State("draft"), State("review"), State("done")]},
            "states",
            "no terminal state",
        ),
        (
            {
                "transitions": [
                    Transition("submit", "draft", "review"),
                    Transition("approve", "review", "finished"),
                ]
            },
            "transitions[1].target",
            "unknown state 'finished'",
        ),
        (
            {
                "transitions": [
                    Transition("submit", ["draft", "typo"], "review"),
                    Transition("approve", "review", "done"),
                ]
            },
            "transitions[0].sources[1]",
            "unknown state 'typo'",
        ),
        (
            {
                "transitions": [
                    Transition("submit", "draft", "review"),
                    Transition("submit", "draft", "done"),
                    Transition("approve", "review", "done"),
                ]
            },
            "transitions[1].name",
            "duplicate transition 'submit' from 'draft'",
        ),
        (
            {"transitions": [Transition("approve", "draft", "done")]},
            "states[1]",
            "'review' cannot be reached",
        ),
        (
            {
                "transitions": [
                    Transition("submit", "draft", "review"),
                    Transition("finish", "draft", "done"),
                ]
            },
            "states[1]",
            "'review' is a dead end",
        ),
        (
            {
                "states": [
                    State("draft"),
                    State("review"),
                    State("loop"),
                    State("done", terminal=True),
                ],
                "transitions": [
                    Transition("submit", "draft", "review"),
                    Transition("spin", "review", "loop"),
                    Transition("spin", "loop", "review"),
                    Transition("finish", "draft", "done"),
                ],
            },
            "states[1]",
            "cannot lead to any terminal state",
        ),
    ],
)
def test_bad_definitions_name_their_path(change, path, reason):
    with pytest.raises(InvalidDefinition) as error:
        lifecycle(**change)
    assert error.value.path == path
    assert reason in error.value.reason


@pytest.mark.parametrize(
    ("guard", "fields", "failure"),
    [
        (FieldCondition("amount", "ge", 1000), {"amount": eur(1500)}, None),
        (
            FieldCondition("amount", "ge", 1000),
            {"amount": eur(999)},
            "amount must be >= 1000 (is Decimal('999'))",
        ),
        (FieldCondition("amount", "ge", 1000), {}, "amount must be >= 1000 (is None)"),
        (FieldCondition("source", "ne", "spam"), {}, None),
        (FieldCondition("source", "in", ["web", "event"]), {"source": "web"}, None),
        (
            FieldCondition("source", "not_in", ["web"]),
            {"source": "web"},
            "source must be not in ['web'] (is 'web')",
        ),
        (FieldCondition("custom.seats", "gt", 10), {"custom": {"seats": 12}}, None),
        (FieldCondition("status", "eq", "open"), {}, None),
        (
            FieldCondition("name", "lt", 3),
            {},
            "name must be < 3 (is 'Acme renewal')",
        ),
        (RequiredFields(["tags"]), {"tags": {"vip"}}, None),
        (RequiredFields(["tags"]), {}, "required field 'tags' is not set"),
    ],
)
def test_guards_say_what_failed(guard, fields, failure):
    assert guard.failure(deal(**fields), ()) == failure


def test_guards_round_trip_as_plain_data():
    guards = [
        RequiredFields(["amount", "expected_close_date"]),
        FieldCondition("amount", "ge", 1000),
        ApprovalPresent("legal"),
    ]
    for guard in guards:
        assert guard_from_dict(guard_to_dict(guard)) == guard


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"kind": "condtion", "path": "a"}, "guards[0].kind"),
        ({"kind": "approval"}, "guards[0].approval"),
        ({"kind": "approval", "approval": "x", "extra": 1}, "guards[0].extra"),
        (
            {"kind": "condition", "path": "a", "operator": "~", "value": 1},
            "guards[0].operator",
        ),
        (
            {"kind": "condition", "path": "a", "operator": "in", "value": 1},
            "guards[0].value",
        ),
        ("approval", "guards[0]"),
    ],
)
def test_bad_guards_name_their_path(data, path):
    with pytest.raises(InvalidDefinition) as error:
        guard_from_dict(data, "guards[0]")
    assert error.value.path == path


def test_generated_writers_set_every_field_once():
    """A writer missing or repeating a field is refused before it is compiled."""
    values = [(f.name, "None") for f in attrs.fields(StateChanged)]
    with pytest.raises(ValueError, match="StateChanged has the fields"):
        write_lines("made", StateChanged, values[1:], {})
    with pytest.raises(ValueError, match="StateChanged has the fields"):
        write_lines("made", StateChanged, [*values, values[0]], {})
    env: dict[str, object] = {}
    body = [*write_lines("made", StateChanged, values, env), "    return made"]
    made = compile_function("make", (), body, env)()
    assert type(made) is StateChanged
    assert made.target is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.target = "x"
