"""
Teach Hypothesis crmkit's types, so that ``st.from_type(Person)`` just works.

Hypothesis calls `_hypothesis_setup_hook` when it is imported, through the
``[project.entry-points.hypothesis]`` table in ``pyproject.toml``; setting the
``HYPOTHESIS_NO_PLUGINS`` environment variable turns it off.
Nothing here runs unless Hypothesis is imported, so crmkit itself never needs it.

Each type is registered with a function that imports `crmkit.testing.strategies` only
when Hypothesis first resolves the type: that module imports Hypothesis, and this hook
runs while Hypothesis is still being imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from crmkit.model import (
    Activity,
    Campaign,
    ConsentRecord,
    CustomField,
    Deal,
    EntitySchema,
    Lead,
    Order,
    OrderLine,
    Organization,
    OrganizationRole,
    PartyRef,
    Person,
    Product,
    Relationship,
    Team,
    Ticket,
    User,
)
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
)

__all__: list[str] = []

# Each crmkit type, and the name of its default strategy in crmkit.testing.strategies.
_STRATEGY_NAMES: dict[type, str] = {
    EmailAddress: "emails",
    PhoneNumber: "phone_numbers",
    Money: "money",
    PostalAddress: "postal_addresses",
    Url: "urls",
    Probability: "probabilities",
    ConsentRecord: "consent_records",
    OrganizationRole: "organization_roles",
    PartyRef: "party_refs",
    CustomField: "custom_fields",
    EntitySchema: "entity_schemas",
    OrderLine: "order_lines",
    Person: "people",
    Organization: "organizations",
    Relationship: "relationships",
    Lead: "leads",
    Deal: "deals",
    Activity: "activities",
    Ticket: "tickets",
    Order: "orders",
    Product: "products",
    User: "users",
    Team: "teams",
    Campaign: "campaigns",
}


def _lazy(name: str) -> Callable[[type], st.SearchStrategy[Any]]:
    """Return a resolver that builds the named default strategy when first needed."""

    def resolve(_: type) -> st.SearchStrategy[Any]:
        from crmkit.testing import strategies  # noqa: PLC0415 - see the module docstring

        factory: Callable[[], st.SearchStrategy[Any]] = getattr(strategies, name)
        return factory()

    return resolve


def _hypothesis_setup_hook() -> None:
    """Register a strategy for every crmkit value and entity type."""
    for cls, name in _STRATEGY_NAMES.items():
        st.register_type_strategy(cls, _lazy(name))
