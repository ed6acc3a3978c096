"""Writing files atomically, and the rejects file."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Final

import attrs

__all__ = ["REJECT_COLUMNS", "Reject", "RejectsWriter", "atomic_text_file"]

REJECT_COLUMNS: Final = ("row", "column", "value", "reason", "line", "field", "code")
"""The header of a rejects file; one line per problem."""

_DEFAULT_MODE: Final = 0o644


@attrs.frozen(kw_only=True)
class Reject:
    """
    One problem with one row of an input file.

    Attributes:
        row: The 1-based data row (the header is not counted).
        line: The 1-based physical line where the row starts (it differs from
            ``row + 1`` after quoted cells spanning lines, or blank lines).
        column: The column that gave the refused value; the field path when the
            problem cannot be traced to one column; empty for the whole row.
        value: The refused text, as it was in the file.
        reason: Why it was refused.
        field: The field path the value was meant for, such as ``emails[0]``.
        code: A stable machine-readable code, such as ``email.invalid``.
    """

    row: int
    line: int
    column: str
    value: str
    reason: str
    field: str = ""
    code: str = ""

    def as_row(self) -> tuple[str, ...]:
        """The reject as the cells of a rejects file line."""
        return (
            str(self.row),
            self.column,
            self.value,
            self.reason,
            str(self.line),
            self.field,
            self.code,
        )


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_text_file(
    path: str | Path, *, encoding: str = "utf-8", newline: str | None = ""
) -> Iterator[IO[str]]:
    """
    Write a text file all at once: a temporary file beside it, then a rename.

    Readers see the old file or the complete new one, never a part; when the
    block raises, the temporary file is removed and the old file is untouched.
    A process killed mid-write leaves a ``.<name>.*.tmp`` file behind, never a
    truncated ``<name>``.
    """
    target = Path(path)
    fd, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else _DEFAULT_MODE
        Path(temporary).chmod(mode)
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    _sync_directory(target.parent)


class RejectsWriter:
    """A CSV of `Reject` lines, written through an open text handle."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(REJECT_COLUMNS)
        self.lines = 0

    def write(self, rejects: Iterable[Reject]) -> None:
        """Append rejects, one line each."""
        for reject in rejects:
            self._writer.writerow(reject.as_row())
            self.lines += 1
