"""
crmkit: CRM domain logic done properly once, for any application to embed.

The most used names are importable from here; everything else from its module:
`crmkit.values`, `crmkit.model`, `crmkit.serialization`, `crmkit.errors`,
`crmkit.clock`, `crmkit.ids` and `crmkit.testing`.
"""

from importlib.metadata import PackageNotFoundError, version

from crmkit.clock import Clock, SystemClock
from crmkit.errors import (
    ConcurrencyError,
    CrmError,
    CurrencyMismatch,
    FieldError,
    InvalidDefinition,
    NotFound,
    TransitionNotAllowed,
    ValidationError,
)
from crmkit.model import (
    Activity,
    Campaign,
    CustomField,
    Deal,
    EntitySchema,
    Lead,
    Order,
    Organization,
    Person,
    Product,
    Relationship,
    Team,
    Ticket,
    User,
)
from crmkit.serialization import (
    create_from_dict,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
)

try:
    __version__ = version("crmkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Activity",
    "Campaign",
    "Clock",
    "ConcurrencyError",
    "CrmError",
    "CurrencyMismatch",
    "CustomField",
    "Deal",
    "EmailAddress",
    "EntitySchema",
    "FieldError",
    "InvalidDefinition",
    "Lead",
    "Money",
    "NotFound",
    "Order",
    "Organization",
    "Person",
    "PhoneNumber",
    "PostalAddress",
    "Probability",
    "Product",
    "Relationship",
    "SystemClock",
    "Team",
    "Ticket",
    "TransitionNotAllowed",
    "Url",
    "User",
    "ValidationError",
    "__version__",
    "create_from_dict",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
]
