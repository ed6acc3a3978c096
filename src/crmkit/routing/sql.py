"""
Round-robin cursors in crmkit's SQL database (SQLite or PostgreSQL).

Turns are taken with one atomic ``INSERT ... ON CONFLICT DO UPDATE ...
RETURNING``, so routers in several processes sharing a database never get the same
turn, and a restarted router continues where the last one stopped. The table
(``routing_cursor``) comes with schema version 2: run ``crmkit db upgrade``.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Executable, select
from sqlalchemy.dialects import postgresql, sqlite

from crmkit import _public
from crmkit.repositories.sql import SqlDatabase
from crmkit.repositories.sql._tables import ROUTING_CURSORS

__all__ = ["SqlCursorStore"]

_SET: Final = {"position": ROUTING_CURSORS.c.position + 1}


def _increment(dialect: str, key: str) -> Executable:
    """Insert the key at position 1, or add 1 to it; return the new position."""
    if dialect == "postgresql":
        upsert = postgresql.insert(ROUTING_CURSORS).values(key=key, position=1)
        return upsert.on_conflict_do_update(
            index_elements=[ROUTING_CURSORS.c.key], set_=_SET
        ).returning(ROUTING_CURSORS.c.position)
    lite = sqlite.insert(ROUTING_CURSORS).values(key=key, position=1)
    return lite.on_conflict_do_update(
        index_elements=[ROUTING_CURSORS.c.key], set_=_SET
    ).returning(ROUTING_CURSORS.c.position)


class SqlCursorStore:
    """
    A `crmkit.routing.CursorStore` in a crmkit SQL database.

    >>> from crmkit.repositories.sql import SqlDatabase
    >>> from datetime import datetime, UTC
    >>> database = SqlDatabase.sqlite(":memory:")
    >>> _ = database.upgrade(at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> store = SqlCursorStore(database)
    >>> store.take("team:fr"), store.take("team:fr"), store.position("team:fr")
    (0, 1, 2)

    .. versionadded:: 0.1
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._checked = False

    def _check(self) -> None:
        if not self._checked:
            self._database.check()
            self._checked = True

    def take(self, key: str) -> int:
        """Reserve the next turn of ``key`` atomically and return it."""
        self._check()
        engine = self._database.engine
        statement = _increment(engine.dialect.name, key)
        with engine.begin() as connection:
            position = connection.execute(statement).scalar_one()
        return int(position) - 1

    def position(self, key: str) -> int:
        """The next turn of ``key``, without taking it."""
        self._check()
        query = select(ROUTING_CURSORS.c.position).where(ROUTING_CURSORS.c.key == key)
        with self._database.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return int(found or 0)


_public.publish(globals(), __all__)
