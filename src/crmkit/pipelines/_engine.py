"""
Applying a transition: a pure function of (entity, transition, at, actor).

No machine object lives beside an entity: the entity's own field holds its state,
and `apply` returns the moved entity with the domain events it raised, or raises
`TransitionNotAllowed` naming from, to and the requirement that failed.
"""

from __future__ import annotations

import functools
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


@attrs.frozen(kw_only=True, weakref_slot=False)  # many and small: no weakrefs
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


@functools.cache
def _draft_class(cls: type) -> type | None:
    """
    A writable subclass of a frozen slotted class, or `None` if it cannot have one.

    The draft adds no slot, so CPython lets an instance of it become a ``cls`` by
    ``__class__`` assignment (the layouts are the same), and ``draft()`` makes an
    empty one without running ``cls.__init__``. Plain attribute writes on a draft
    are several times faster than calling each slot's ``__set__``, which is all a
    frozen class allows.
    """
    own_new = any("__new__" in vars(klass) for klass in cls.__mro__[:-1])
    if "__slots__" not in cls.__dict__ or own_new:
        return None  # pragma: no cover - attrs frozen classes have their slots
    draft = type(
        f"{cls.__name__}Draft",
        (cls,),
        {
            "__slots__": (),
            "__init__": object.__init__,
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
        },
    )
    probe: Any = draft()
    try:
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - a layout CPython refuses
        return None
    return draft


def write_lines(
    name: str, cls: type, values: Sequence[tuple[str, str]], env: dict[str, Any]
) -> list[str]:
    """
    Source lines that make ``name``, a new ``cls`` whose fields get ``values``.

    ``values`` pairs each field with the source of its value (a parameter, a
    name in ``env`` or ``entity.<field>``). No converter or check runs: callers
    pass values they have checked. The names ``env`` needs are added to it.

    Raises:
        ValueError: ``values`` does not set each field of ``cls`` once.
    """
    fields = [field.name for field in attrs.fields(cls)]
    if sorted(field for field, _ in values) != sorted(fields):
        msg = f"{cls.__name__} has the fields {fields}, not {[f for f, _ in values]}"
        raise ValueError(msg)
    draft = _draft_class(cls)
    kind = f"{cls.__name__}_class"
    if draft is None:  # pragma: no cover - see _draft_class
        env.update({kind: cls, "new": object.__new__})
        lines = [f"    {name} = new({kind})"]
        for number, (field, value) in enumerate(values):
            setter = f"set_{cls.__name__}_{number}"
            env[setter] = _slot(cls, field).__set__
            lines.append(f"    {setter}({name}, {value})")
        return lines
    env.update({kind: cls, f"{kind}_draft": draft})
    lines = [f"    {name} = {kind}_draft()"]
    lines += [f"    {name}.{field} = {value}" for field, value in values]
    lines.append(f"    {name}.__class__ = {kind}")
    return lines


def compile_function(
    name: str, params: Sequence[str], body: Sequence[str], env: dict[str, Any]
) -> Callable[..., Any]:
    """
    Compile ``def name(*params)`` with ``body``, its globals being ``env``.

    The source is crmkit's own, built from field and parameter names only: every
    value it uses comes from ``env``.
    """
    source = "\n".join([f"def {name}({', '.join(params)}):", *body])
    exec(compile(source, f"<crmkit {name}>", "exec"), env)  # noqa: S102 - crmkit's own source
    function: Callable[..., Any] = env[name]
    return function


def _writer(
    cls: type, params: Sequence[str], values: Sequence[tuple[str, str]]
) -> Callable[..., Any]:
    """Generate ``write(*params)``: a new ``cls`` whose fields get ``values``."""
    env: dict[str, Any] = {}
    body = [*write_lines("made", cls, values, env), "    return made"]
    return compile_function(f"write_{cls.__name__}", params, body, env)


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
