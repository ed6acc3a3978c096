"""
The ticket lifecycle, and a generic process of linked steps with a status.

`TICKET_LIFECYCLE` moves a `crmkit.model.Ticket` through new, assigned, in progress,
waiting on customer, resolved, closed and reopened; `move_ticket` also stamps the
resolution and closing times. A `Process` is any multi-step procedure whose steps
depend on others (the blocking elements); its status is not started, in progress
or completed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import attrs
from immutabledict import immutabledict

from crmkit.errors import InvalidDefinition, TransitionNotAllowed
from crmkit.ids import UserId
from crmkit.model import Ticket
from crmkit.pipelines._engine import Moved, apply, evolve_trusted, utc
from crmkit.pipelines._guards import RequiredFields
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition

__all__ = [
    "TICKET_LIFECYCLE",
    "Process",
    "ProcessRun",
    "ProcessStatus",
    "Step",
    "StepChanged",
    "move_ticket",
]

TICKET_LIFECYCLE: Final = Lifecycle(
    "ticket",
    "status",
    "new",
    [
        State("new"),
        State("assigned"),
        State("in_progress"),
        State("waiting_on_customer"),
        State("resolved", on_entry=["ticket.resolved"]),
        State("closed", terminal=True, on_entry=["ticket.closed"]),
        State("reopened", on_entry=["ticket.reopened"]),
    ],
    [
        Transition(
            "assign", ["new", "reopened"], "assigned", [RequiredFields(["owner_id"])]
        ),
        Transition("start", ["assigned", "reopened"], "in_progress"),
        Transition("wait", "in_progress", "waiting_on_customer"),
        Transition("resume", "waiting_on_customer", "in_progress"),
        Transition(
            "resolve", ["assigned", "in_progress", "waiting_on_customer"], "resolved"
        ),
        Transition("close", "resolved", "closed"),
        Transition("reopen", ["resolved", "closed"], "reopened"),
    ],
)
"""The default ticket lifecycle; assigning needs an owner."""


def move_ticket(
    ticket: Ticket,
    transition: str,
    *,
    at: datetime,
    actor: UserId | None = None,
    lifecycle: Lifecycle = TICKET_LIFECYCLE,
) -> Moved[Ticket]:
    """
    Apply a ticket transition and stamp ``resolved_at`` or ``closed_at``.

    Reopening clears both, so resolution times measure the last resolution.

    Raises:
        TransitionNotAllowed: The lifecycle refuses the move (the message says why).
        ValidationError: A naive ``at``, or one before the ticket's last update.
    """
    moved = apply(lifecycle, ticket, transition, at=at, actor=actor)
    ticket = moved.entity
    stamps: dict[str, Any] = {}
    if ticket.status == "resolved":
        stamps["resolved_at"] = ticket.updated_at
    elif ticket.status == "closed":
        stamps["closed_at"] = ticket.updated_at
    elif ticket.status == "reopened":
        stamps = {"resolved_at": None, "closed_at": None}
    if not stamps:
        return moved
    return Moved(evolve_trusted(ticket, stamps), moved.events)


class ProcessStatus(enum.StrEnum):
    """
    Where a process, or one of its steps, stands.

    .. versionadded:: 0.1
    """

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


def _names(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class Step:
    """
    One step of a process; it cannot start before the steps it ``needs`` complete.

    .. versionadded:: 0.1
    """

    name: str
    needs: tuple[str, ...] = attrs.field(default=(), converter=_names)
    description: str = ""


@attrs.frozen(kw_only=True)
class StepChanged:
    """
    Domain event: a step of a process run changed status.

    .. versionadded:: 0.1
    """

    process: str
    step: str
    old: ProcessStatus
    new: ProcessStatus
    at: datetime
    actor: UserId | None


@attrs.frozen
class ProcessRun:
    """
    One run of a process: each step's status and when it last changed.

    .. versionadded:: 0.1
    """

    process: str
    steps: immutabledict[str, ProcessStatus]
    changed_at: immutabledict[str, datetime] = immutabledict()


@attrs.frozen
class Process:
    """
    A process of linked steps, checked when built (unknown steps, cycles, duplicates).

    .. versionadded:: 0.1
    """

    name: str
    steps: tuple[Step, ...] = attrs.field(converter=_items)

    def __attrs_post_init__(self) -> None:
        index: dict[str, int] = {}
        for position, step in enumerate(self.steps):
            if step.name in index:
                raise InvalidDefinition(
                    f"steps[{position}].name", f"duplicate step {step.name!r}"
                )
            index[step.name] = position
        for position, step in enumerate(self.steps):
            for number, need in enumerate(step.needs):
                if need not in index:
                    raise InvalidDefinition(
                        f"steps[{position}].needs[{number}]", f"unknown step {need!r}"
                    )
        for position, step in enumerate(self.steps):
            if step.name in self._required(step.name):
                raise InvalidDefinition(
                    f"steps[{position}].needs",
                    f"{step.name!r} depends on itself through its needs",
                )

    def _required(self, name: str) -> set[str]:
        by_name = {step.name: step for step in self.steps}
        seen: set[str] = set()
        todo = list(by_name[name].needs)
        while todo:
            need = todo.pop()
            if need not in seen:
                seen.add(need)
                todo.extend(by_name[need].needs)
        return seen

    def begin(self) -> ProcessRun:
        """A new run with every step not started."""
        return ProcessRun(
            self.name,
            immutabledict(
                dict.fromkeys((s.name for s in self.steps), ProcessStatus.NOT_STARTED)
            ),
        )

    def status(self, run: ProcessRun) -> ProcessStatus:
        """Not started, completed when every step is, in progress otherwise."""
        values = set(run.steps.values())
        if values == {ProcessStatus.NOT_STARTED}:
            return ProcessStatus.NOT_STARTED
        if values == {ProcessStatus.COMPLETED}:
            return ProcessStatus.COMPLETED
        return ProcessStatus.IN_PROGRESS

    def available(self, run: ProcessRun) -> tuple[str, ...]:
        """The steps not started whose needs are all completed: what can start now."""
        return tuple(
            step.name
            for step in self.steps
            if run.steps[step.name] is ProcessStatus.NOT_STARTED
            and not self._blocking(run, step)
        )

    def start(
        self, run: ProcessRun, step: str, *, at: datetime, actor: UserId | None = None
    ) -> tuple[ProcessRun, StepChanged]:
        """Start a step; refused while a step it needs is not completed."""
        return self._set(run, step, ProcessStatus.IN_PROGRESS, at, actor)

    def complete(
        self, run: ProcessRun, step: str, *, at: datetime, actor: UserId | None = None
    ) -> tuple[ProcessRun, StepChanged]:
        """Complete a step (starting it if needed); refused while it is blocked."""
        return self._set(run, step, ProcessStatus.COMPLETED, at, actor)

    def _blocking(self, run: ProcessRun, step: Step) -> list[str]:
        return [n for n in step.needs if run.steps[n] is not ProcessStatus.COMPLETED]

    def _set(
        self,
        run: ProcessRun,
        name: str,
        status: ProcessStatus,
        at: datetime,
        actor: UserId | None,
    ) -> tuple[ProcessRun, StepChanged]:
        at = utc(at)
        step = next((s for s in self.steps if s.name == name), None)
        current = run.steps.get(name)
        event = "start" if status is ProcessStatus.IN_PROGRESS else "complete"
        if step is None or current is None:
            raise TransitionNotAllowed(
                self.name, str(current), event, f"no step {name!r} in {self.name!r}"
            )
        blocking = self._blocking(run, step)
        if blocking:
            raise TransitionNotAllowed(
                self.name,
                current,
                f"{event} {name}",
                f"blocked until {', '.join(repr(b) for b in blocking)} completed",
            )
        if current is ProcessStatus.COMPLETED or current is status:
            raise TransitionNotAllowed(
                self.name,
                current,
                f"{event} {name}",
                f"step {name!r} is already {current}",
            )
        steps = immutabledict({**run.steps, name: status})
        changed = immutabledict({**run.changed_at, name: at})
        return (
            attrs.evolve(run, steps=steps, changed_at=changed),
            StepChanged(
                process=self.name,
                step=name,
                old=current,
                new=status,
                at=at,
                actor=actor,
            ),
        )
