"""
The customer model: parties, relationships, sales, service, commerce, users.

Entities are immutable attrs classes. Each carries `id`, `version`, `created_at`,
`updated_at` and `custom`; `Entity.create` builds one and `Entity.update` returns the
changed entity with an `EntityUpdated` event.
"""

from crmkit import _public
from crmkit.model._campaign import Campaign, CampaignStatus
from crmkit.model._commerce import Order, OrderLine, OrderStatus, Product
from crmkit.model._consent import (
    Channel,
    ConsentRecord,
    ConsentStatus,
    LegalBasis,
    consent_at,
)
from crmkit.model._custom import (
    DEFAULT_LIFECYCLE_STAGES,
    CustomField,
    CustomFieldType,
    EntitySchema,
    LifecycleStage,
)
from crmkit.model._entity import (
    Entity,
    EntityArchived,
    EntityCreated,
    EntityDeleted,
    EntityRestored,
    EntityUpdated,
    FieldChange,
    Updated,
    diff,
)
from crmkit.model._parties import (
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
)
from crmkit.model._relationship import (
    DEFAULT_RELATIONSHIP_LABELS,
    Relationship,
    RelationshipLabel,
    check_relationship,
)
from crmkit.model._sales import Deal, DealStatus, ForecastCategory, Lead
from crmkit.model._service import (
    Activity,
    ActivityKind,
    Direction,
    Priority,
    Ticket,
    TicketKind,
)
from crmkit.model._team import Team, User

__all__ = [
    "DEFAULT_LIFECYCLE_STAGES",
    "DEFAULT_RELATIONSHIP_LABELS",
    "ENTITY_TYPES",
    "Activity",
    "ActivityKind",
    "Campaign",
    "CampaignStatus",
    "Channel",
    "ConsentRecord",
    "ConsentStatus",
    "CustomField",
    "CustomFieldType",
    "Deal",
    "DealStatus",
    "Direction",
    "Entity",
    "EntityArchived",
    "EntityCreated",
    "EntityDeleted",
    "EntityRestored",
    "EntitySchema",
    "EntityUpdated",
    "FieldChange",
    "ForecastCategory",
    "Lead",
    "LegalBasis",
    "LifecycleStage",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Organization",
    "OrganizationRole",
    "PartyKind",
    "PartyRef",
    "Person",
    "Priority",
    "Product",
    "Relationship",
    "RelationshipLabel",
    "Team",
    "Ticket",
    "TicketKind",
    "Updated",
    "User",
    "check_relationship",
    "consent_at",
    "diff",
]

ENTITY_TYPES: dict[str, type[Entity]] = {
    cls.entity_type: cls
    for cls in (
        Person,
        Organization,
        Relationship,
        Lead,
        Deal,
        Activity,
        Ticket,
        Order,
        Product,
        User,
        Team,
        Campaign,
    )
}
"""Every entity class by its `entity_type` name."""

_public.publish(globals(), __all__)
