"""
The exceptions crmkit raises, all rooted at `CrmError`.

::

    CrmError
     ├── ValidationError (ValueError)     bad input: every field error at once
     │    ├── CurrencyMismatch             arithmetic across currencies
     │    └── ImportRejected               an input file refused as a whole
     ├── InvalidDefinition (ValueError)   a schema or rule set that cannot work
     │    └── DefinitionSyntaxError        a text definition refused at a line, column
     ├── NotFound (LookupError)           no entity with that id
     ├── AlreadyExists                    an id or external id already taken
     ├── AmbiguousMatch                   stored records that may be the one meant
     ├── ConcurrencyError                 an update made from a stale version
 │    └── MergeConflict                an unmerge that would clobber later changes
     ├── TransitionNotAllowed             a move that a definition refuses
     └── StorageError                     the database cannot be used as asked
          ├── DatabaseLocked              another writer held it past the timeout
          └── SchemaMismatch              not a crmkit database, or another version

Each error carries its data as attributes as well as in its message, so callers can
react to it without parsing text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import attrs

__all__ = [
    "AlreadyExists",
    "AmbiguousMatch",
    "ConcurrencyError",
    "CrmError",
    "CurrencyMismatch",
    "DatabaseLocked",
    "DefinitionSyntaxError",
    "FieldError",
    "ImportRejected",
    "InvalidDefinition",
    "MergeConflict",
    "NotFound",
    "SchemaMismatch",
    "StorageError",
    "TransitionNotAllowed",
    "ValidationError",
    "join_path",
]

_MAX_VALUE_REPR: Final = 80


def _short_repr(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        return text[: _MAX_VALUE_REPR - 3] + "..."
    return text


def join_path(prefix: str, path: str) -> str:
    """
    Join two field paths: ``join_path("emails", "[1]")`` is ``"emails[1]"``.

    Args:
        prefix: The outer path, possibly empty.
        path: The inner path, possibly empty or starting with an index.

    Returns:
        The combined path, such as ``"custom.revenue"`` or ``"roles[0].title"``.
    """
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


class CrmError(Exception):
    """
    The root of every error crmkit raises.

    .. versionadded:: 0.1
    """


@attrs.frozen
class FieldError:
    """
    One problem with one field: where it is, what it held, and why it was refused.

    Attributes:
        path: Where the value sits, such as ``"emails[1]"`` or ``"custom.revenue"``;
            empty for a bare value.
        value: The offending value, as it was given.
        code: A stable machine-readable code, such as ``"email.invalid"``.
        message: A sentence for humans.

    .. versionadded:: 0.1
    """

    path: str
    value: object
    code: str
    message: str

    def at(self, prefix: str) -> FieldError:
        """Return the same error with its path nested under ``prefix``."""
        return attrs.evolve(self, path=join_path(prefix, self.path))

    def __str__(self) -> str:
        where = self.path or "value"
        return f"{where}: {self.message} (got {_short_repr(self.value)}) [{self.code}]"


class ValidationError(CrmError, ValueError):
    """
    Input that crmkit refused; `errors` lists every field error found, not just one.

    .. versionadded:: 0.1
    """

    errors: tuple[FieldError, ...]

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        if not self.errors:
            msg = "a ValidationError needs at least one FieldError"
            raise ValueError(msg)
        super().__init__(self._message())

    @classmethod
    def single(
        cls, path: str, value: object, code: str, message: str
    ) -> ValidationError:
        """Build an error about one field."""
        return cls([FieldError(path, value, code, message)])

    def at(self, prefix: str) -> ValidationError:
        """Return the same errors with their paths nested under ``prefix``."""
        return type(self)(error.at(prefix) for error in self.errors)

    @property
    def paths(self) -> tuple[str, ...]:
        """The path of every field error, in order."""
        return tuple(error.path for error in self.errors)

    def _message(self) -> str:
        if len(self.errors) == 1:
            return str(self.errors[0])
        lines = "\n".join(f"  - {error}" for error in self.errors)
        return f"{len(self.errors)} invalid fields:\n{lines}"

    def __reduce__(self) -> tuple[type[ValidationError], tuple[tuple[FieldError, ...]]]:
        return (type(self), (self.errors,))


class CurrencyMismatch(ValidationError):  # noqa: N818 - a refusal, like ValidationError
    """
    Money in two currencies met in arithmetic or a comparison.

    .. versionadded:: 0.1
    """

    def __init__(self, left: str, right: str) -> None:
        self.left = left
        self.right = right
        super().__init__(
            [
                FieldError(
                    "currency",
                    right,
                    "money.currency_mismatch",
                    f"cannot combine {left} with {right}; convert first",
                )
            ]
        )

    def __reduce__(self) -> tuple[type[CurrencyMismatch], tuple[str, str]]:  # type: ignore[override]
        return (type(self), (self.left, self.right))


class InvalidDefinition(CrmError, ValueError):  # noqa: N818 - python-statemachine's name
    """
    A definition (custom field schema, pipeline, rule set) that cannot work.

    Raised when the definition is built, not when it is first used.

    Attributes:
        path: Where in the definition the problem is, such as ``"fields[2].choices"``.
        reason: What is wrong there.
        file: The file the definition was read from, when it came from one.
        line: The 1-based line of the problem in that file, when known.
        column: The 1-based column, when known.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        message = f"{path}: {reason}" if path else reason
        if file is not None:
            where = ":".join(str(part) for part in (file, line, column) if part)
            message = f"{where}: {message}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Callable[..., InvalidDefinition], tuple[object, ...]]:
        return (
            _restore_definition,
            (self.path, self.reason, self.file, self.line, self.column),
        )


def _restore_definition(
    path: str, reason: str, file: str | None, line: int | None, column: int | None
) -> InvalidDefinition:
    return InvalidDefinition(path, reason, file=file, line=line, column=column)


class DefinitionSyntaxError(InvalidDefinition):
    """
    A text definition (a condition, a rules file) refused at a line and column.

    Attributes:
        text: The text that was refused (the condition, or the file's line).
        line: The 1-based line of the problem in `file` (or in `text`).
        column: The 1-based column of the problem.
        expected: What would have been accepted there, in words (empty when
            `found` says it all).
        found: What was found instead, or what is wrong there.
        file: The file the text came from (the ``source`` argument), when known.
        where: Where in the definition the text sits, such as ``"rules[1].when"``.

    .. versionadded:: 0.1
    """

    line: int
    column: int

    def __init__(
        self,
        text: str,
        *,
        line: int,
        column: int,
        expected: str,
        found: str,
        source: str | None = None,
        where: str = "",
    ) -> None:
        place = f"line {line}, column {column}"
        if source:
            place = f"{source}, {place}"
        if where:
            place = f"{place} ({where})"
        reason = f"expected {expected}, found {found}" if expected else found
        super().__init__(place, reason)
        # Set after InvalidDefinition's own file/line/column, which stay in step.
        self.text = text
        self.file = source
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        self.where = where

    def relocated(
        self, *, source: str | None, line: int, column: int, where: str
    ) -> DefinitionSyntaxError:
        """
        The same error placed in a file: ``line``/``column`` are where `text` starts.

        A problem on the text's first line is shifted by ``column``; later lines
        keep their own columns.
        """
        return DefinitionSyntaxError(
            self.text,
            line=line + self.line - 1,
            column=self.column + (column - 1 if self.line == 1 else 0),
            expected=self.expected,
            found=self.found,
            source=source,
            where=where,
        )

    def __reduce__(
        self,
    ) -> tuple[Callable[..., DefinitionSyntaxError], tuple[object, ...]]:
        return (
            _restore_syntax,
            (
                self.text,
                self.line,
                self.column,
                self.expected,
                self.found,
                self.file,
                self.where,
            ),
        )


def _restore_syntax(  # noqa: PLR0917 - mirrors __reduce__
    text: str,
    line: int,
    column: int,
    expected: str,
    found: str,
    source: str | None,
    where: str,
) -> DefinitionSyntaxError:
    return DefinitionSyntaxError(
        text,
        line=line,
        column=column,
        expected=expected,
        found=found,
        source=source,
        where=where,
    )


class NotFound(CrmError, LookupError):  # noqa: N818 - reads as "raise NotFound"
    """
    No entity of that type has that id.

    .. versionadded:: 0.1
    """

    def __init__(self, entity_type: str, entity_id: object) -> None:
        self.entity_type = entity_type
        self.entity_id = entity_id
        super().__init__(f"no {entity_type} with id {entity_id}")


class ConcurrencyError(CrmError):
    """
    An update was made from a stale version: somebody else changed the entity first.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        entity_type: str,
        entity_id: object,
        *,
        expected_version: int,
        actual_version: int | None,
    ) -> None:
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        if actual_version == expected_version:
            message = (
                f"{entity_type} {entity_id} was changed (archived, restored or "
                f"deleted) by another unit of work since it was read"
            )
        else:
            message = (
                f"{entity_type} {entity_id} was expected at version "
                f"{expected_version} but is at version {actual_version}"
            )
        super().__init__(message)


class MergeConflict(ConcurrencyError):  # noqa: N818 - reads as "raise MergeConflict"
    """
    An unmerge refused: records changed since the merge, and undoing it would lose that.

    Attributes:
        merge_id: The merge that was not undone.
        reasons: One sentence per conflict: which record, which field, what changed.

    .. versionadded:: 0.1
    """

    def __init__(self, merge_id: object, reasons: tuple[str, ...]) -> None:
        CrmError.__init__(
            self,
            f"cannot undo merge {merge_id}: " + "; ".join(reasons),
        )
        self.entity_type = "merge"
        self.entity_id = merge_id
        self.expected_version = 0
        self.actual_version = None
        self.merge_id = merge_id
        self.reasons = reasons

    def __reduce__(self) -> tuple[type[MergeConflict], tuple[object, tuple[str, ...]]]:
        return (MergeConflict, (self.merge_id, self.reasons))


class TransitionNotAllowed(CrmError):  # noqa: N818 - python-statemachine's name
    """
    A transition that the definition refuses from the entity's current state.

    Attributes:
        entity_id: The entity that was asked to move.
        stage: The state it is in.
        event: The transition that was asked for.
        requirement: Which requirement failed, in words.
        target: The state it would have moved to, when known.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        entity_id: object,
        stage: str,
        event: str,
        requirement: str,
        *,
        target: str | None = None,
    ) -> None:
        self.entity_id = entity_id
        self.stage = stage
        self.event = event
        self.requirement = requirement
        self.target = target
        to = "" if target is None else f" to {target!r}"
        super().__init__(
            f"{entity_id}: cannot {event!r} from stage {stage!r}{to}: {requirement}"
        )

    def __reduce__(
        self,
    ) -> tuple[Callable[..., TransitionNotAllowed], tuple[object, ...]]:
        return (
            _restore_refusal,
            (self.entity_id, self.stage, self.event, self.requirement, self.target),
        )


def _restore_refusal(
    entity_id: object, stage: str, event: str, requirement: str, target: str | None
) -> TransitionNotAllowed:
    return TransitionNotAllowed(entity_id, stage, event, requirement, target=target)


class AlreadyExists(CrmError):  # noqa: N818 - reads as "raise AlreadyExists"
    """
    An entity with that id, or that external id, is already stored.

    .. versionadded:: 0.1
    """

    def __init__(self, entity_type: str, key: str, value: object) -> None:
        self.entity_type = entity_type
        self.key = key
        self.value = value
        super().__init__(f"a {entity_type} with {key} {value} already exists")


class AmbiguousMatch(CrmError):  # noqa: N818 - reads as "raise AmbiguousMatch"
    """
    Several stored records, or only possible ones, may be the record meant.

    Raised rather than picking one, or creating a probable duplicate: the caller
    chooses (by id) or asks for a new record.

    Attributes:
        entity_type: What was looked for (``"person"``, ``"organization"``).
        source_id: The record being matched (a lead converted, say).
        candidates: ``(id, probability)`` of each candidate, best first; the
            probability is `None` for an exact rule (the same normalised name).
        reason: Why no candidate was chosen, in words.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        entity_type: str,
        source_id: object,
        candidates: Iterable[tuple[object, float | None]],
        reason: str,
    ) -> None:
        self.entity_type = entity_type
        self.source_id = source_id
        self.candidates = tuple(candidates)
        self.reason = reason
        named = ", ".join(
            str(record_id) if probability is None else f"{record_id} ({probability:g})"
            for record_id, probability in self.candidates
        )
        super().__init__(
            f"{source_id}: {reason}: {named}; "
            f"choose one by id, or ask for a new {entity_type}"
        )

    def __reduce__(
        self,
    ) -> tuple[type[AmbiguousMatch], tuple[object, ...]]:
        return (
            AmbiguousMatch,
            (self.entity_type, self.source_id, self.candidates, self.reason),
        )


class StorageError(CrmError):
    """
    The database cannot be used as asked.

    .. versionadded:: 0.1
    """


class DatabaseLocked(StorageError):  # noqa: N818 - the state, as SQLite names it
    """
    Another writer held the database longer than the busy timeout.

    .. versionadded:: 0.1
    """


class SchemaMismatch(StorageError):  # noqa: N818 - the state it reports
    """
    The database is not a crmkit database, or not at this crmkit's schema version.

    Attributes:
        found: The schema version found (`None` when it is not a crmkit database).
        expected: The version this crmkit uses.

    .. versionadded:: 0.1
    """

    def __init__(self, message: str, *, found: int | None, expected: int) -> None:
        self.found = found
        self.expected = expected
        super().__init__(message)


class ImportRejected(ValidationError):  # noqa: N818 - a refusal, like ValidationError
    """
    An input file refused as a whole, before any of its rows was stored.

    Raised for a file that is not in its stated (or detected) encoding, an empty
    file, a CSV file whose quoting is broken, or a header that repeats a mapped
    column. Row-level problems never raise: they go to the rejects file.

    Attributes:
        file: The file's name, as given.
        line: The 1-based line where the problem is, when known.
        offset: The 0-based byte offset of the problem, when known.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        file: str,
        error: FieldError,
        *,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.offset = offset
        super().__init__([error])

    def _message(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        error = self.errors[0]
        return f"{where}: {error.message} [{error.code}]"

    def __reduce__(  # type: ignore[override]
        self,
    ) -> tuple[
        Callable[..., ImportRejected],
        tuple[type[ImportRejected], str, FieldError, int | None, int | None],
    ]:
        return (
            _restore,
            (type(self), self.file, self.errors[0], self.line, self.offset),
        )


def _restore(
    cls: type[ImportRejected],
    file: str,
    error: FieldError,
    line: int | None,
    offset: int | None,
) -> ImportRejected:
    return cls(file, error, line=line, offset=offset)
