"""
Storage ports and their adapters.

The ports are Protocols (`Repository`, `UnitOfWork`, `Database`), so an application
may implement them itself; `crmkit.testing.contract.RepositoryContract` checks that an
implementation behaves like crmkit's own. Adapters: `crmkit.repositories.memory`
(in memory) and `crmkit.repositories.sql` (SQLite, the embedded default, and
PostgreSQL).
"""

from crmkit import _public
from crmkit.repositories._base import HistoryPolicy
from crmkit.repositories._merges import (
    ChangeRole,
    MergeLog,
    MergeRecord,
    RecordChange,
)
from crmkit.repositories._outbox import (
    GAP_WINDOW,
    OutboxFollower,
    follow_outbox,
    next_messages,
    start_following,
)
from crmkit.repositories._ports import (
    Database,
    FieldHistoryEntry,
    OutboxMessage,
    Repository,
    StageEntry,
    StageHistoryRepository,
    StageVisit,
    UnitOfWork,
)
from crmkit.repositories._query import (
    Condition,
    Op,
    Page,
    contains,
    eq,
    gt,
    gte,
    in_,
    is_null,
    lt,
    lte,
    ne,
)

__all__ = [
    "GAP_WINDOW",
    "ChangeRole",
    "Condition",
    "Database",
    "FieldHistoryEntry",
    "HistoryPolicy",
    "MergeLog",
    "MergeRecord",
    "Op",
    "OutboxFollower",
    "OutboxMessage",
    "Page",
    "RecordChange",
    "Repository",
    "StageEntry",
    "StageHistoryRepository",
    "StageVisit",
    "UnitOfWork",
    "contains",
    "eq",
    "follow_outbox",
    "gt",
    "gte",
    "in_",
    "is_null",
    "lt",
    "lte",
    "ne",
    "next_messages",
    "start_following",
]

_public.publish(globals(), __all__)
