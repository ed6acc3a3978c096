"""
The generic state-machine definition: states, named transitions and their guards.

A `Lifecycle` is data. It is checked when it is built (unknown, unreachable or
trapped states, duplicate names, no terminal state), and then compiled into lookup
tables so that applying a transition is a couple of dictionary reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from crmkit.errors import InvalidDefinition
from crmkit.pipelines._guards import Guard

__all__ = ["Lifecycle", "State", "Transition"]


def _tuple(value: Any) -> tuple[Any, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class State:
    """
    One state of a lifecycle, with the domain events raised on entry and exit.

    A terminal state is an end (won, lost, closed); it may still have transitions
    out, such as "restore" or "reopen", but nothing is required to leave it.

    .. versionadded:: 0.1
    """

    name: str
    terminal: bool = False
    description: str = ""
    on_entry: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    on_exit: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


@attrs.frozen
class Transition:
    """
    A named move from any of ``sources`` to ``target``, allowed when every guard holds.

    .. versionadded:: 0.1
    """

    name: str
    sources: tuple[str, ...] = attrs.field(converter=_tuple)
    target: str
    guards: tuple[Guard, ...] = attrs.field(default=(), converter=_items)
    description: str = ""


@attrs.frozen
class Lifecycle:
    """
    A state machine over one field of an entity (``"stage"``, ``"status"``).

    Built from data and checked at once: `InvalidDefinition` names the path of
    the first problem, such as ``"transitions[2].target"``.

    .. versionadded:: 0.1
    """

    name: str
    field: str
    initial: str
    states: tuple[State, ...] = attrs.field(converter=_items)
    transitions: tuple[Transition, ...] = attrs.field(converter=_items)
    _state_index: Mapping[str, int] = attrs.field(
        init=False, repr=False, eq=False, alias="_state_index"
    )
    _moves: Mapping[tuple[str, str], Transition] = attrs.field(
        init=False, repr=False, eq=False, alias="_moves"
    )
    _silent: frozenset[str] = attrs.field(
        init=False, repr=False, eq=False, alias="_silent"
    )

    def __attrs_post_init__(self) -> None:
        index = _check_states(self.states)
        if self.initial not in index:
            raise InvalidDefinition("initial", f"unknown state {self.initial!r}")
        moves = _check_transitions(self.transitions, index)
        _check_graph(self, index, moves)
        object.__setattr__(self, "_state_index", index)
        object.__setattr__(self, "_moves", moves)
        silent = frozenset(s.name for s in self.states if not s.on_entry + s.on_exit)
        object.__setattr__(self, "_silent", silent)

    def state(self, name: str) -> State:
        """
        The state called ``name``.

        Raises:
            KeyError: No such state.
        """
        return self.states[self._state_index[name]]

    def quiet(self, source: str | None, target: str) -> bool:
        """True when leaving ``source`` and entering ``target`` raise no effect."""
        return target in self._silent and (source is None or source in self._silent)

    def has_state(self, name: str) -> bool:
        """True when the lifecycle has a state called ``name``."""
        return name in self._state_index

    def find(self, source: str, transition: str) -> Transition | None:
        """The transition called ``transition`` out of ``source``, if any."""
        return self._moves.get((source, transition))

    def transitions_from(self, source: str) -> tuple[Transition, ...]:
        """Every transition out of ``source``, in definition order."""
        return tuple(t for t in self.transitions if source in t.sources)


def _check_states(states: tuple[State, ...]) -> dict[str, int]:
    if not states:
        raise InvalidDefinition("states", "a lifecycle needs at least one state")
    index: dict[str, int] = {}
    for position, state in enumerate(states):
        if not isinstance(state.name, str) or not state.name.strip():
            raise InvalidDefinition(f"states[{position}].name", "must be a name")
        if state.name in index:
            raise InvalidDefinition(
                f"states[{position}].name",
                f"duplicate state {state.name!r} (also states[{index[state.name]}])",
            )
        index[state.name] = position
    if not any(state.terminal for state in states):
        raise InvalidDefinition(
            "states", "no terminal state: mark at least one with terminal = true"
        )
    return index


def _check_transitions(
    transitions: tuple[Transition, ...], index: Mapping[str, int]
) -> dict[tuple[str, str], Transition]:
    moves: dict[tuple[str, str], Transition] = {}
    where: dict[tuple[str, str], int] = {}
    for position, transition in enumerate(transitions):
        path = f"transitions[{position}]"
        if not isinstance(transition.name, str) or not transition.name.strip():
            raise InvalidDefinition(f"{path}.name", "must be a name")
        if not transition.sources:
            raise InvalidDefinition(f"{path}.sources", "needs at least one state")
        if transition.target not in index:
            raise InvalidDefinition(
                f"{path}.target", f"unknown state {transition.target!r}"
            )
        for number, source in enumerate(transition.sources):
            if source not in index:
                raise InvalidDefinition(
                    f"{path}.sources[{number}]", f"unknown state {source!r}"
                )
            key = (source, transition.name)
            if key in moves:
                raise InvalidDefinition(
                    f"{path}.name",
                    f"duplicate transition {transition.name!r} from {source!r} "
                    f"(also transitions[{where[key]}])",
                )
            moves[key] = transition
            where[key] = position
    return moves


def _reachable(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_graph(
    lifecycle: Lifecycle,
    index: Mapping[str, int],
    moves: Mapping[tuple[str, str], Transition],
) -> None:
    forward: dict[str, set[str]] = {}
    backward: dict[str, set[str]] = {}
    for (source, _), transition in moves.items():
        forward.setdefault(source, set()).add(transition.target)
        backward.setdefault(transition.target, set()).add(source)
    reached = _reachable(lifecycle.initial, forward)
    terminals = {state.name for state in lifecycle.states if state.terminal}
    can_finish: set[str] = set()
    for terminal in terminals:
        can_finish |= _reachable(terminal, backward)
    for problem in _graph_problems(lifecycle.states, reached, forward, can_finish):
        name, reason = problem
        raise InvalidDefinition(f"states[{index[name]}]", reason)


def _graph_problems(
    states: tuple[State, ...],
    reached: set[str],
    forward: Mapping[str, set[str]],
    can_finish: set[str],
) -> Iterator[tuple[str, str]]:
    for state in states:
        if state.name not in reached:
            yield state.name, f"{state.name!r} cannot be reached from the initial state"
        elif not state.terminal and not forward.get(state.name):
            yield state.name, f"{state.name!r} is a dead end: no transition out of it"
        elif state.name not in can_finish:
            yield (
                state.name,
                f"{state.name!r} cannot lead to any terminal state",
            )
