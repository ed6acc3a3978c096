"""Orders, their lines, and products: what behavioural and value measures read."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import attrs

from crmkit.errors import FieldError, ValidationError
from crmkit.ids import CampaignId, OrderId, ProductId
from crmkit.model._consent import Channel
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import (
    Checked,
    checked,
    choice,
    flag,
    identifier,
    many,
    one_of,
    tag_set,
    text,
    timestamp,
)
from crmkit.model._parties import PartyRef
from crmkit.values import Money, currency_minor_units

__all__ = ["Order", "OrderLine", "OrderStatus", "Product"]


def _check_quantity(value: object, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError.single(
            path, value, "type", f"expected Decimal or int, not {type(value).__name__}"
        )
    if not Decimal(value).is_finite() or value <= 0:
        raise ValidationError.single(path, value, "quantity", "must be greater than 0")


def _check_discount(value: object, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError.single(
            path, value, "type", f"expected Decimal or int, not {type(value).__name__}"
        )
    if not Decimal(0) <= value <= Decimal(1):
        raise ValidationError.single(
            path, value, "discount", "must be a fraction between 0 and 1"
        )


def _check_currency(value: object, path: str) -> None:
    try:
        currency_minor_units(value)  # type: ignore[arg-type] # checked inside
    except ValidationError as error:
        raise ValidationError(
            FieldError(path, value, e.code, e.message) for e in error.errors
        ) from None
    if value != str(value).upper():
        raise ValidationError.single(path, value, "currency.case", "must be upper-case")


@attrs.frozen(kw_only=True)
class OrderLine(Checked):
    """
    One line of an order: a quantity at a unit price, less a discount fraction.

    .. versionadded:: 0.1
    """

    description: str = text(required=True)
    quantity: Decimal = checked(_check_quantity, default=Decimal(1))
    unit_price: Money = one_of(Money, required=True)
    discount: Decimal = checked(_check_discount, default=Decimal(0))
    unit_cost: Money | None = one_of(Money)
    product_id: ProductId | None = identifier()

    def _invariants(self) -> Iterator[FieldError]:
        if (
            self.unit_cost is not None
            and self.unit_cost.currency != self.unit_price.currency
        ):
            yield FieldError(
                "unit_cost",
                self.unit_cost,
                "money.currency_mismatch",
                "must be in the price's currency",
            )

    @property
    def total(self) -> Money:
        """What the customer pays for the line."""
        return self.unit_price * (Decimal(self.quantity) * (1 - Decimal(self.discount)))

    @property
    def cost(self) -> Money | None:
        """What the line costs us, when the unit cost is known."""
        return (
            None if self.unit_cost is None else self.unit_cost * Decimal(self.quantity)
        )


class OrderStatus(enum.StrEnum):
    """
    Where an order stands.

    .. versionadded:: 0.1
    """

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Order(Entity):
    """
    A customer's order: lines in one currency, plus what it costs to serve.

    `cost_to_serve` holds the costs that are not in the lines (delivery, support,
    sales time), so that margin per order and per customer can be measured.

    .. versionadded:: 0.1
    """

    entity_type = "order"

    id: OrderId = entity_id()
    number: str = text(required=True)
    customer: PartyRef = one_of(PartyRef, required=True)
    ordered_at: datetime = timestamp()
    currency: str = checked(_check_currency)
    status: OrderStatus = choice(OrderStatus, OrderStatus.CONFIRMED)
    lines: tuple[OrderLine, ...] = many(OrderLine)
    cost_to_serve: Money | None = one_of(Money)
    channel: Channel | None = choice(Channel, optional=True)
    campaign_id: CampaignId | None = identifier()
    tags: frozenset[str] = tag_set()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        for index, line in enumerate(self.lines):
            if line.unit_price.currency != self.currency:
                yield FieldError(
                    f"lines[{index}].unit_price",
                    line.unit_price,
                    "money.currency_mismatch",
                    f"must be in the order's currency {self.currency}",
                )
        if (
            self.cost_to_serve is not None
            and self.cost_to_serve.currency != self.currency
        ):
            yield FieldError(
                "cost_to_serve",
                self.cost_to_serve,
                "money.currency_mismatch",
                f"must be in the order's currency {self.currency}",
            )

    @property
    def total(self) -> Money:
        """What the customer pays: the sum of the lines."""
        return sum((line.total for line in self.lines), Money.zero(self.currency))

    @property
    def cost(self) -> Money | None:
        """Line costs plus cost to serve, or `None` if any line's cost is unknown."""
        costs = [line.cost for line in self.lines]
        if any(cost is None for cost in costs):
            return None
        known = [cost for cost in costs if cost is not None]
        return sum(known, self.cost_to_serve or Money.zero(self.currency))

    @property
    def margin(self) -> Money | None:
        """Total less cost, when the cost is known."""
        cost = self.cost
        return None if cost is None else self.total - cost


@attrs.frozen(kw_only=True)
class Product(Entity):
    """
    Something sold: its reference, price and cost.

    .. versionadded:: 0.1
    """

    entity_type = "product"

    id: ProductId = entity_id()
    sku: str = text(required=True)
    name: str = text(required=True)
    description: str | None = text(multiline=True)
    category: str | None = text()
    unit_price: Money | None = one_of(Money)
    unit_cost: Money | None = one_of(Money)
    active: bool = flag(default=True)
    tags: frozenset[str] = tag_set()
