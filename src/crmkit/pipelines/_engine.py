"""
Applying a transition: a pure function of (entity, transition, at, actor).

No machine object lives beside an entity: the entity's own field holds its state,
and `apply` returns the moved entity with the domain events it raised, or raises
`TransitionNotAllowed` naming from, to and the requirement that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Generic, NamedTuple, TypeVar
from uuid import UUID

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import TransitionNotAllowed, ValidationError
from crmkit.ids import UserId
from crmkit.model import Entity
from crmkit.pipelines._lifecycle import Lifecycle, Transition

__all__ = [
    "EffectRaised",
    "Moved",
    "StateChanged",
    "apply",
    "evolve_trusted",
    "trusted_copier",
    "trusted_maker",
]

_E = TypeVar("_E", bound=Entity)
_NO_APPROVALS: Final[frozenset[str]] = frozenset()


@attrs.frozen(kw_only=True, weakref_slot=False)  # see _draft_class
class StateChanged:
    """
    Domain event: an entity moved from ``source`` to ``target`` by ``transition``.

    ``source`` is `None` when the entity entered its lifecycle. ``probability`` is
    the win probability the move set, for deals (a snapshot: changing the stage's
    probability later does not rewrite it).

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    lifecycle: str
    transition: str
    source: str | None
    target: str
    version: int
    at: datetime
    actor: UserId | None
    probability: float | None = None


@attrs.frozen(kw_only=True)
class EffectRaised:
    """
    Domain event named by a state's ``on_entry`` or ``on_exit`` list.

    .. versionadded:: 0.1
    """

    name: str
    entity_type: str
    entity_id: UUID
    state: str
    at: datetime
    actor: UserId | None


class Moved(NamedTuple, Generic[_E]):
    """What a transition returns: the moved entity and the events it raised."""

    entity: _E
    events: tuple[Any, ...]


_COPIERS: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}


def _slot(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    msg = f"{cls.__name__} has no slot {name!r}"  # pragma: no cover - attrs slots
    raise AttributeError(msg)  # pragma: no cover


def _draft_class(cls: type) -> type | None:
    """
    A writable twin of a frozen slotted class, or `None` if it cannot have one.

    The twin has the same base and the same slots, so CPython lets an instance of
    it become a ``cls`` by ``__class__`` assignment (after checking that the
    memory layouts match). Plain attribute writes on the twin are several times
    faster than calling each slot's ``__set__``, which is all a frozen class allows.
    """
    slots = cls.__dict__.get("__slots__")
    if slots is None or len(cls.__bases__) != 1:
        return None  # pragma: no cover - attrs frozen classes have their slots
    draft = type(
        f"{cls.__name__}Draft",
        cls.__bases__,
        {
            "__slots__": slots,
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
        },
    )
    probe: Any = object.__new__(draft)
    try:
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - a layout CPython refuses
        return None
    return draft


def _writer(
    cls: type, params: Sequence[str], values: Sequence[tuple[str, str]]
) -> Callable[..., Any]:
    """
    Generate ``write(*params)``: a new ``cls`` whose fields get the given values.

    ``values`` pairs each field with the source of its value (a parameter, or
    ``entity.<field>``). No converter or check runs: callers pass values they have
    checked. The source is built only from the class's own field names.
    """
    draft = _draft_class(cls)
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "draft": draft}
    lines = [f"def write({', '.join(params)}):"]
    if draft is not None:
        lines.append("    made = new(draft)")
        lines += [f"    made.{field} = {value}" for field, value in values]
        lines.append("    made.__class__ = cls")
    else:  # pragma: no cover - see _draft_class
        lines.append("    made = new(cls)")
        for number, (field, value) in enumerate(values):
            env[f"set_{number}"] = _slot(cls, field).__set__
            lines.append(f"    set_{number}(made, {value})")
    lines.append("    return made")
    source = "\n".join(lines)
    exec(compile(source, f"<crmkit writer of {cls.__name__}>", "exec"), env)  # noqa: S102 - crmkit's own source
    write: Callable[..., Any] = env["write"]
    return write


def _copier(cls: type, changed: tuple[str, ...]) -> Callable[..., Any]:
    """Generate, once per class and set of changed fields, a copy with new values."""
    names = [field.name for field in attrs.fields(cls)]
    values = [(n, n if n in changed else f"entity.{n}") for n in names]
    return _writer(cls, ["entity", *changed], values)


def trusted_maker(cls: type) -> Callable[..., Any]:
    """
    Generate ``make(*values)``: an instance from every field's value, in field order.

    Like `trusted_copier`, it skips converters and checks: only for classes
    without them, such as the events pipelines raise.
    """
    names = [field.name for field in attrs.fields(cls)]
    return _writer(cls, names, [(n, n) for n in names])


def trusted_copier(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """The cached ``copy(entity, *values)`` setting ``names`` (see `evolve_trusted`)."""
    key = (cls, names)
    copy = _COPIERS.get(key)
    if copy is None:
        copy = _COPIERS[key] = _copier(cls, names)
    return copy


def evolve_trusted(entity: _E, changes: Mapping[str, Any]) -> _E:
    """
    Copy an entity with ``changes``, skipping the field checks.

    Only for values the pipelines have checked themselves (a known state, an
    aware UTC time, the next version); anything else goes through `Entity.update`.
    """
    copy = trusted_copier(type(entity), tuple(changes))
    moved: _E = copy(entity, *changes.values())
    return moved


def utc(at: datetime) -> datetime:
    """``at`` in UTC; naive datetimes raise `ValidationError` (fast when UTC)."""
    if type(at) is datetime and at.tzinfo is UTC:
        return at
    return aware_utc(at, "at")


def check_order(entity: Entity, at: datetime) -> None:
    """Refuse a move dated before the entity's last change."""
    if at < entity.updated_at:
        raise ValidationError.single(
            "at", at, "time.order", f"is before the last update ({entity.updated_at})"
        )


def refuse(
    entity: Entity, current: str, transition: str, requirement: str, target: str | None
) -> TransitionNotAllowed:
    """The error for a refused move."""
    return TransitionNotAllowed(
        entity.id, current, transition, requirement, target=target
    )


def find_allowed(
    lifecycle: Lifecycle,
    entity: Entity,
    transition: str,
    approvals: Collection[str],
) -> Transition:
    """
    The transition ``transition`` out of the entity's state, once its guards hold.

    Raises:
        TransitionNotAllowed: No such transition from here, or a guard failed.
    """
    current = getattr(entity, lifecycle.field)
    found = lifecycle.find(current, transition)
    if found is None:
        if not lifecycle.has_state(current):
            reason = f"{current!r} is not a state of {lifecycle.name!r}"
        elif not lifecycle.transitions_from(current):
            reason = f"{current!r} is final: no transition leaves it"
        else:
            allowed = ", ".join(t.name for t in lifecycle.transitions_from(current))
            reason = f"no transition {transition!r} from here (allowed: {allowed})"
        raise refuse(entity, current, transition, reason, None)
    for guard in found.guards:
        failure = guard.failure(entity, approvals)
        if failure is not None:
            raise refuse(entity, current, transition, failure, found.target)
    return found


def events_of_move(
    lifecycle: Lifecycle,
    moved: Entity,
    transition: str,
    source: str | None,
    *,
    at: datetime,
    actor: UserId | None,
    probability: float | None = None,
) -> tuple[Any, ...]:
    """The `StateChanged` event of a move, then its exit and entry effects."""
    target = getattr(moved, lifecycle.field)
    changed = StateChanged(
        entity_type=moved.entity_type,
        entity_id=moved.id,
        lifecycle=lifecycle.name,
        transition=transition,
        source=source,
        target=target,
        version=moved.version,
        at=at,
        actor=actor,
        probability=probability,
    )
    if lifecycle.quiet(source, target):
        return (changed,)
    exits = () if source is None else lifecycle.state(source).on_exit
    named = [(name, source) for name in exits]
    named += [(name, target) for name in lifecycle.state(target).on_entry]
    effects = [
        EffectRaised(
            name=name,
            entity_type=moved.entity_type,
            entity_id=moved.id,
            state=state,
            at=at,
            actor=actor,
        )
        for name, state in named
        if state is not None
    ]
    return (changed, *effects)


def apply(
    lifecycle: Lifecycle,
    entity: _E,
    transition: str,
    *,
    at: datetime,
    actor: UserId | None = None,
    approvals: Collection[str] = _NO_APPROVALS,
) -> Moved[_E]:
    """
    Move ``entity`` by ``transition`` at ``at``: the new entity and its events.

    The version goes up by one and ``updated_at`` becomes ``at``.

    Raises:
        TransitionNotAllowed: The transition does not leave the current state, the
            state is unknown, or a guard failed (the message names it).
        ValidationError: ``at`` is naive, or before the entity's last update.
    """
    at = utc(at)
    check_order(entity, at)
    found = find_allowed(lifecycle, entity, transition, approvals)
    source = getattr(entity, lifecycle.field)
    moved = evolve_trusted(
        entity,
        {
            lifecycle.field: found.target,
            "version": entity.version + 1,
            "updated_at": at,
        },
    )
    return Moved(
        moved, events_of_move(lifecycle, moved, transition, source, at=at, actor=actor)
    )
