"""
SQL storage: SQLite (the embedded default) and PostgreSQL, one implementation.

Each entity type has a table whose queryable fields are real, indexed columns and
whose full record is a JSON document (JSONB on PostgreSQL), custom fields included.
Side tables index emails, phones and external ids, keep the field history, and hold
the outbox of domain events written in the same transaction.
"""

from crmkit import _public
from crmkit.repositories.sql._database import SqlDatabase, SqlUnitOfWork
from crmkit.repositories.sql._migrations import CURRENT_VERSION

__all__ = ["CURRENT_VERSION", "SqlDatabase", "SqlUnitOfWork"]

_public.publish(globals(), __all__)
