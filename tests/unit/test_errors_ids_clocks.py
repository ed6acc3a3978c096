"""Errors carry their data; ids carry their time; clocks are explicit."""

import os
import pickle
from datetime import UTC, datetime, timedelta, timezone
from uuid import RFC_4122, UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.clock import Clock, SystemClock
from crmkit.errors import (
    ConcurrencyError,
    CurrencyMismatch,
    FieldError,
    InvalidDefinition,
    NotFound,
    TransitionNotAllowed,
    ValidationError,
    join_path,
)
from crmkit.ids import id_time, new_id, parse_id
from crmkit.testing import FixedClock, ManualClock

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_validation_error_lists_every_field():
    """The message lists each error; paths nest under a prefix."""
    error = ValidationError(
        [
            FieldError("email", "x", "email.invalid", "not an email"),
            FieldError("[2]", 5, "type", "expected str"),
        ]
    )
    assert ("email", "[2]") == error.paths
    assert str(error).startswith("2 invalid fields:")
    assert ("roles.email", "roles[2]") == error.at("roles").paths
    assert isinstance(error, ValueError)


def test_validation_error_needs_an_error_and_pickles():
    """An empty ValidationError is a bug; errors survive pickling."""
    with pytest.raises(ValueError, match="at least one"):
        ValidationError([])
    error = ValidationError.single("a", 1, "c", "m")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert error.errors == copy.errors
    mismatch = pickle.loads(pickle.dumps(CurrencyMismatch("EUR", "USD")))  # noqa: S301
    assert ("EUR", "USD") == (mismatch.left, mismatch.right)


def test_long_values_are_shortened_in_messages():
    """A huge value does not flood the message."""
    error = ValidationError.single("note", "x" * 500, "too_long", "too long")
    assert len(str(error)) < 200


def test_join_path():
    """Paths join with dots, indexes attach directly, empty sides vanish."""
    assert ["a.b", "a[1]", "a", "b"] == [
        join_path("a", "b"),
        join_path("a", "[1]"),
        join_path("a", ""),
        join_path("", "b"),
    ]


def test_other_errors_carry_their_data():
    """Each error keeps what a caller needs to react, not only a message."""
    entity_id = uuid4()
    not_found = NotFound("person", entity_id)
    assert isinstance(not_found, LookupError)
    assert ("person", entity_id) == (not_found.entity_type, not_found.entity_id)
    stale = ConcurrencyError("deal", entity_id, expected_version=3, actual_version=4)
    assert (3, 4) == (stale.expected_version, stale.actual_version)
    assert "version 3" in str(stale)
    refused = TransitionNotAllowed(entity_id, "proposal", "win", "amount is required")
    assert ("proposal", "win", "amount is required") == (
        refused.stage,
        refused.event,
        refused.requirement,
    )
    bad = InvalidDefinition("stages[2]", "unreachable")
    assert "stages[2]: unreachable" == str(bad)
    assert "unreachable" == str(InvalidDefinition("", "unreachable"))


def test_new_ids_are_uuid7_dated_and_sortable():
    """Ids carry their creation instant and sort by it."""
    earlier, later = new_id(NOW), new_id(NOW + timedelta(milliseconds=5))
    assert 7 == earlier.version
    assert NOW == id_time(earlier)
    assert earlier < later
    assert new_id(NOW) != new_id(NOW)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - Hypothesis bounds are naive
        max_value=datetime(9999, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_an_id_is_rfc_9562_uuid7_with_its_millisecond(at):
    """Version 7, RFC variant, the instant to the millisecond, equal to its text."""
    made = new_id(at)
    assert (7, RFC_4122) == (made.version, made.variant)
    assert at.replace(microsecond=at.microsecond // 1000 * 1000) == id_time(made)
    assert UUID(str(made)) == made
    assert hash(UUID(str(made))) == hash(made)
    assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - our own bytes


def test_ids_stay_unique_across_a_fork():
    """A forked child draws new random bits, not its parent's next ones."""
    new_id(NOW)  # the pool is filled before the fork
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child process
        with os.fdopen(writer, "w") as pipe:
            pipe.write(" ".join(str(new_id(NOW)) for _ in range(50)))
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        theirs = {UUID(text) for text in pipe.read().split()}
    os.waitpid(child, 0)
    ours = {new_id(NOW) for _ in range(50)}
    assert 50 == len(theirs) == len(ours)
    assert not theirs & ours


def test_ids_of_other_zones_use_the_instant():
    """An instant in another zone gives the same time in the id."""
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert NOW == id_time(new_id(paris))


def test_id_errors():
    """Naive instants, non-v7 ids and malformed text are refused."""
    with pytest.raises(ValidationError):
        new_id(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError):
        id_time(uuid4())
    with pytest.raises(ValidationError):
        parse_id("nope")
    with pytest.raises(ValidationError):
        parse_id(12)  # type: ignore[arg-type]
    known = UUID(int=5)
    assert known == parse_id(str(known)) == parse_id(known)


def test_system_clock_is_aware_utc():
    """The real clock answers in UTC and satisfies the protocol."""
    now = SystemClock().now()
    assert UTC == now.tzinfo
    assert isinstance(SystemClock(), Clock)
    assert "SystemClock()" == repr(SystemClock())


def test_fixed_clock():
    """A fixed clock always answers the same instant, in UTC."""
    clock = FixedClock(NOW.astimezone(timezone(timedelta(hours=2))))
    assert NOW == clock.now() == clock.now()
    assert isinstance(clock, Clock)
    assert "2026-11-22T09:00:00+00:00" in repr(clock)
    with pytest.raises(ValidationError):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_manual_clock_moves_forward_only():
    """A manual clock advances or jumps when told, never backwards."""
    clock = ManualClock(NOW)
    assert NOW + timedelta(hours=1) == clock.advance(timedelta(hours=1)) == clock.now()
    assert NOW + timedelta(days=1) == clock.set(NOW + timedelta(days=1))
    with pytest.raises(ValidationError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValidationError):
        clock.set(NOW)
    assert "ManualClock(" in repr(clock)
