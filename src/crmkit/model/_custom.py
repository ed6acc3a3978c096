"""Custom field schemas: the business's own fields, typed and validated."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import attrs
from immutabledict import immutabledict

from crmkit.errors import FieldError, InvalidDefinition, ValidationError
from crmkit.values import EmailAddress, Money, PhoneNumber, Url

if TYPE_CHECKING:
    from crmkit.model._entity import Entity

__all__ = [
    "DEFAULT_LIFECYCLE_STAGES",
    "CustomField",
    "CustomFieldType",
    "EntitySchema",
    "LifecycleStage",
]


class CustomFieldType(enum.StrEnum):
    """
    The types a custom field can have.

    .. versionadded:: 0.1
    """

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    MONEY = "money"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"


class LifecycleStage(enum.StrEnum):
    """
    The lifecycle stages crmkit knows by default; a business may define its own list.

    .. versionadded:: 0.1
    """

    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MARKETING_QUALIFIED = "marketing_qualified"
    SALES_QUALIFIED = "sales_qualified"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"
    OTHER = "other"


DEFAULT_LIFECYCLE_STAGES: Final = tuple(str(stage) for stage in LifecycleStage)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")
_CHOICE_TYPES = frozenset({CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE})


def _expected(kind: str, value: object) -> ValueError:
    return ValueError(f"expected {kind}, not {type(value).__name__}")


def _text(value: Any, _: CustomField, __: str | None) -> str:
    if not isinstance(value, str):
        raise _expected("str", value)
    return value


def _integer(value: Any, _: CustomField, __: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expected("int", value)
    return value


def _decimal(value: Any, _: CustomField, __: str | None) -> Decimal:
    if isinstance(value, bool):
        raise _expected("a decimal number", value)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a decimal number") from None
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _expected("a finite decimal number", value)
    return value


def _bool(value: Any, _: CustomField, __: str | None) -> bool:
    if not isinstance(value, bool):
        raise _expected("bool", value)
    return value


def _date(value: Any, _: CustomField, __: str | None) -> date:
    if isinstance(value, str):
        value = date.fromisoformat(value.strip())
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _expected("a date", value)
    return value


def _datetime(value: Any, _: CustomField, __: str | None) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise _expected("a datetime", value)
    if value.utcoffset() is None:
        raise ValueError("naive datetime; give a timezone-aware one")
    return value


def _choice(value: Any, field: CustomField, _: str | None) -> str:
    if not isinstance(value, str) or value not in field.choices:
        raise ValueError(f"must be one of {', '.join(map(repr, field.choices))}")
    return value


def _multi_choice(value: Any, field: CustomField, _: str | None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise _expected("a list of choices", value)
    unknown = [item for item in value if item not in field.choices]
    if unknown:
        raise ValueError(f"{unknown!r} not among {', '.join(map(repr, field.choices))}")
    return tuple(choice for choice in field.choices if choice in value)


def _money(value: Any, _: CustomField, __: str | None) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
        amount = value["amount"]
        return Money(
            Decimal(amount) if isinstance(amount, str) else amount, value["currency"]
        )
    raise _expected("Money or {'amount': ..., 'currency': ...}", value)


def _email(value: Any, _: CustomField, __: str | None) -> EmailAddress:
    return value if isinstance(value, EmailAddress) else EmailAddress(value)


def _phone(value: Any, _: CustomField, region: str | None) -> PhoneNumber:
    if isinstance(value, PhoneNumber):
        return value
    if not isinstance(value, str):
        raise _expected("str", value)
    return PhoneNumber.parse(value, region=region)


def _url(value: Any, _: CustomField, __: str | None) -> Url:
    return value if isinstance(value, Url) else Url(value)


_COERCE: Final[dict[CustomFieldType, Callable[[Any, CustomField, str | None], Any]]] = {
    CustomFieldType.TEXT: _text,
    CustomFieldType.INTEGER: _integer,
    CustomFieldType.DECIMAL: _decimal,
    CustomFieldType.BOOL: _bool,
    CustomFieldType.DATE: _date,
    CustomFieldType.DATETIME: _datetime,
    CustomFieldType.CHOICE: _choice,
    CustomFieldType.MULTI_CHOICE: _multi_choice,
    CustomFieldType.MONEY: _money,
    CustomFieldType.EMAIL: _email,
    CustomFieldType.PHONE: _phone,
    CustomFieldType.URL: _url,
}


def _field_type(value: str) -> CustomFieldType:
    try:
        return CustomFieldType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in CustomFieldType)
        raise InvalidDefinition("type", f"{value!r} is not one of {allowed}") from None


@attrs.frozen(kw_only=True)
class CustomField:
    """
    One custom field: its name, type, whether it is required, and its picklist.

    >>> CustomField(name="segment", type="choice", choices=["smb", "enterprise"]).type
    <CustomFieldType.CHOICE: 'choice'>

    Raises:
        InvalidDefinition: A bad name, an unknown type, or a picklist that does not
            fit the type.

    .. versionadded:: 0.1
    """

    name: str
    type: CustomFieldType = attrs.field(converter=_field_type)
    required: bool = False
    choices: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    label: str | None = None
    description: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidDefinition(
                "name",
                f"{self.name!r} must be lower-case letters, digits and _, "
                "starting with a letter",
            )
        if self.type in _CHOICE_TYPES:
            if not self.choices:
                raise InvalidDefinition("choices", f"a {self.type} field needs choices")
            if any(not isinstance(c, str) or not c.strip() for c in self.choices):
                raise InvalidDefinition("choices", "choices must be non-blank text")
            if len(set(self.choices)) != len(self.choices):
                raise InvalidDefinition(
                    "choices", f"duplicate choices in {self.choices!r}"
                )
        elif self.choices:
            raise InvalidDefinition("choices", f"a {self.type} field takes no choices")

    def coerce(self, value: Any, *, phone_region: str | None = None) -> Any:
        """
        Check ``value`` against this field and return it in its Python type.

        Values may be given typed (`Decimal`, `date`, `Money`...) or in their JSON
        form (``"12.50"``, ``"2026-01-31"``, ``{"amount": "9.90", "currency": "EUR"}``).

        Raises:
            ValidationError: The value does not fit, at path ``custom.<name>``.
        """
        path = f"custom.{self.name}"
        try:
            return _COERCE[self.type](value, self, phone_region)
        except ValidationError as error:
            raise ValidationError(
                FieldError(path, value, e.code, e.message) for e in error.errors
            ) from None
        except ValueError as error:
            raise ValidationError.single(
                path, value, f"custom.{self.type}", str(error)
            ) from None


@attrs.frozen(kw_only=True)
class EntitySchema:
    """
    What a business defines for one entity type: custom fields and lifecycle stages.

    Pass it to `Entity.create` and `Entity.update` to validate custom values and the
    lifecycle stage; every error is reported at once.

    Attributes:
        custom_fields: The custom fields, by name.
        lifecycle_stages: The stages `lifecycle_stage` may take, in order.
        phone_region: The region of phone numbers typed without ``+``.

    .. versionadded:: 0.1
    """

    custom_fields: tuple[CustomField, ...] = attrs.field(default=(), converter=tuple)
    lifecycle_stages: tuple[str, ...] = attrs.field(
        default=DEFAULT_LIFECYCLE_STAGES, converter=tuple
    )
    phone_region: str | None = None
    _by_name: Mapping[str, CustomField] = attrs.field(
        init=False, repr=False, eq=False, alias="_by_name"
    )

    def __attrs_post_init__(self) -> None:
        by_name: dict[str, CustomField] = {}
        for index, field in enumerate(self.custom_fields):
            if not isinstance(field, CustomField):
                raise InvalidDefinition(
                    f"custom_fields[{index}]", "expected a CustomField"
                )
            if field.name in by_name:
                raise InvalidDefinition(
                    f"custom_fields[{index}].name", f"duplicate field {field.name!r}"
                )
            by_name[field.name] = field
        object.__setattr__(self, "_by_name", immutabledict(by_name))
        stages = self.lifecycle_stages
        if not stages or any(not isinstance(s, str) or not s.strip() for s in stages):
            raise InvalidDefinition("lifecycle_stages", "need non-blank stage names")
        untidy = [s for s in stages if s != " ".join(s.split())]
        if untidy:
            raise InvalidDefinition(
                "lifecycle_stages",
                f"{untidy[0]!r} has extra spaces; entities store stages tidied",
            )
        if len(set(stages)) != len(stages):
            raise InvalidDefinition(
                "lifecycle_stages", f"duplicate stages in {stages!r}"
            )

    def field(self, name: str) -> CustomField:
        """Return the custom field called ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ValidationError.single(
                f"custom.{name}", name, "custom.unknown", "no such custom field"
            ) from None

    def validate_custom(self, values: Mapping[str, Any]) -> immutabledict[str, Any]:
        """
        Check custom values against the schema and return them typed.

        `None` means "not set"; such keys are left out of the result.

        Raises:
            ValidationError: Every unknown field, missing required field and bad value.
        """
        errors: list[FieldError] = []
        result: dict[str, Any] = {}
        for name, value in values.items():
            field = self._by_name.get(name)
            if field is None:
                errors.append(
                    FieldError(
                        f"custom.{name}",
                        value,
                        "custom.unknown",
                        "no such custom field",
                    )
                )
            elif value is not None:
                try:
                    result[name] = field.coerce(value, phone_region=self.phone_region)
                except ValidationError as error:
                    errors.extend(error.errors)
        errors.extend(
            FieldError(f"custom.{field.name}", None, "custom.required", "is required")
            for field in self.custom_fields
            if field.required and values.get(field.name) is None
        )
        if errors:
            raise ValidationError(errors)
        return immutabledict(result)

    def apply(self, entity: Entity) -> Any:
        """Validate an entity's custom values and lifecycle stage; return it typed."""
        errors: list[FieldError] = []
        try:
            custom = self.validate_custom(entity.custom)
        except ValidationError as error:
            errors.extend(error.errors)
            custom = entity.custom
        stage = getattr(entity, "lifecycle_stage", None)
        if stage is not None and stage not in self.lifecycle_stages:
            errors.append(
                FieldError(
                    "lifecycle_stage",
                    stage,
                    "lifecycle.unknown",
                    f"must be one of {', '.join(map(repr, self.lifecycle_stages))}",
                )
            )
        if errors:
            raise ValidationError(errors)
        return attrs.evolve(entity, custom=custom)
