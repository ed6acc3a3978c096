"""
Hypothesis strategies for every crmkit value and entity, for testing your application.

Requires the hypothesis package: ``pip install 'crmkit[testing]'``.

The strategies are *sound*: whatever they generate is valid, so building it again never
raises. They sacrifice some completeness for that (phone numbers come from
phonenumbers' examples, names from short lists plus generated letters), but they
aim at the interesting parts: accented names, several emails and phones, every enum
member, optional fields that are sometimes `None`, time zones with odd offsets.

Parameters are keyword-only and take *strategies*: pass ``st.just(value)`` for a
fixed value, and a plain value raises `hypothesis.errors.InvalidArgument`. Strategies
for attrs classes take any field of the class, so ``people(emails=...)`` replaces the
strategy for `Person.emails` and keeps the defaults for every other field; defaults
that depend on a field you replaced (a deal's ``closed_at`` on its ``status``) follow
it, and a combination that cannot be valid raises `InvalidArgument`.

Entity strategies stamp ``created_at``, then an ``updated_at`` no earlier, and make
``id`` with `crmkit.ids.new_id` at ``created_at`` (its random bits drawn by
Hypothesis, so failures replay). They draw no custom values unless you pass
``custom=custom_values(schema)``. Hypothesis also learns every type through crmkit's
entry point, so ``st.from_type(Person)`` uses `people`.

>>> from hypothesis import given, settings
>>> from crmkit.testing import strategies as crm_st
>>> @settings(max_examples=20)
... @given(crm_st.people())
... def test_everyone_has_a_name_to_show(person):
...     assert person.full_name
>>> test_everyone_has_a_name_to_show()
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any, Final, TypeVar, cast
from uuid import UUID
from zoneinfo import ZoneInfo

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
    from hypothesis.strategies import DrawFn, SearchStrategy
except ImportError as error:
    msg = (
        "crmkit.testing.strategies requires the hypothesis package: "
        "pip install 'crmkit[testing]'"
    )
    raise ImportError(msg) from error

import attrs
import phonenumbers
import pycountry
from phonenumbers import PhoneNumberType

from crmkit.errors import InvalidDefinition, ValidationError
from crmkit.ids import new_id
from crmkit.model import (
    DEFAULT_LIFECYCLE_STAGES,
    DEFAULT_RELATIONSHIP_LABELS,
    Activity,
    ActivityKind,
    Campaign,
    CampaignStatus,
    Channel,
    ConsentRecord,
    ConsentStatus,
    CustomField,
    CustomFieldType,
    Deal,
    DealStatus,
    Direction,
    EntitySchema,
    ForecastCategory,
    Lead,
    LegalBasis,
    Order,
    OrderLine,
    OrderStatus,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Priority,
    Product,
    Relationship,
    Team,
    Ticket,
    TicketKind,
    User,
)
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
    currency_minor_units,
)

__all__ = [
    "activities",
    "aware_datetimes",
    "campaigns",
    "consent_records",
    "custom_fields",
    "custom_values",
    "deals",
    "emails",
    "entity_schemas",
    "leads",
    "money",
    "order_lines",
    "orders",
    "organization_roles",
    "organizations",
    "party_refs",
    "people",
    "phone_numbers",
    "postal_addresses",
    "probabilities",
    "products",
    "relationships",
    "teams",
    "tickets",
    "urls",
    "users",
]

_T = TypeVar("_T")
_U = TypeVar("_U")

# --- Word lists: short, international, with the accents real CRMs hold. -------------

_FIRST_NAMES: Final = (
    "Jean", "Élodie", "José", "Zoë", "Søren", "Łukasz", "Anaïs", "Björn", "Chloé",
    "François", "Ingrid", "Kenji", "Ngọc", "Priya", "Siobhán", "Đorđe", "Mary-Jane",
    "Ólafur",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Dupont", "Müller", "García Márquez", "O'Brien", "Nguyễn", "Kowalski", "Øberg",
    "Şahin", "van der Berg", "Smith", "Lefèvre", "Dvořák", "Papadopoulos", "Yamada",
    "Ó Súilleabháin",
)  # fmt: skip
_COMPANY_NAMES: Final = (
    "Acme", "Société Générale d'Équipement", "Müller & Söhne GmbH", "Åkerlund AB",
    "Globex", "Initech", "Ñandú Logística", "Kōbe Seimitsu KK", "Zürcher Maschinen AG",
    "Les Délices de Lyon SARL",
)  # fmt: skip
_SALUTATIONS: Final = ("Mr", "Ms", "Mx", "Dr", "Mme", "M.", "Frau", "Herr", "Sra.")
_JOB_TITLES: Final = (
    "Directrice commerciale", "Head of Procurement", "CFO", "Einkaufsleiter",
    "IT Manager", "Responsable achats", "Office Manager", "VP Sales",
)  # fmt: skip
_DEPARTMENTS: Final = ("Achats", "Finance", "IT", "Sales", "Einkauf", "Operations")
_INDUSTRIES: Final = ("Software", "Manufacturing", "Retail", "Santé", "Logistik")
_SOURCES: Final = (
    "web form", "trade show", "referral", "cold call", "LinkedIn",
    "salon professionnel",
)  # fmt: skip
_PURPOSES: Final = ("newsletter", "product updates", "events", "sales calls", "études")
_TAGS: Final = (
    "vip", "churn-risk", "enterprise", "smb", "partner", "événement", "q4-push",
    "key account",
)  # fmt: skip
_LANGUAGES: Final = ("fr", "en", "de", "es", "it", "nl", "pt-BR", "ja", "pl")
_INCOME_BANDS: Final = ("<30k", "30k-60k", "60k-100k", ">100k")
_PREFERENCE_KEYS: Final = ("contact_time", "newsletter_format", "tone")
_EXTERNAL_SYSTEMS: Final = ("hubspot", "salesforce", "erp", "billing")
_PIPELINES: Final = ("default", "enterprise", "renewals", "partners")
_STAGES: Final = ("qualification", "discovery", "proposal", "negotiation", "closing")
_LOST_REASONS: Final = (
    "price", "lost to a competitor", "no budget", "bad timing", "choisi un concurrent",
)  # fmt: skip
_LEAD_STATUSES: Final = ("new", "contacted", "qualified", "disqualified", "converted")
_TICKET_STATUSES: Final = (
    "new", "assigned", "in_progress", "waiting_on_customer", "resolved", "closed",
    "reopened",
)  # fmt: skip
_ACTIVITY_SUBJECTS: Final = (
    "Discovery call", "Relance devis", "Product demo", "Quarterly business review",
    "Envoi de la proposition", "Besuch in München",
)  # fmt: skip
_TICKET_SUBJECTS: Final = (
    "Cannot log in", "Facture en double", "Lieferung verspätet",
    "Feature request: SSO", "Erreur 500 à l'export",
)  # fmt: skip
_OUTCOMES: Final = ("interested", "call back in Q3", "no answer", "pas intéressé")
_LOCATIONS: Final = ("Paris office", "Zoom", "Client site, Lyon", "Messe Frankfurt")
_PRODUCT_NAMES: Final = (
    "Licence Pro (annual)", "Onboarding pack", "Support Premium", "Formation sur site",
    "Extra seat",
)  # fmt: skip
_CATEGORIES: Final = ("software", "services", "formation", "billing", "delivery")
_CAMPAIGN_NAMES: Final = (
    "Salon Vivatech", "Q4 push", "Webinar: ROI of CRM", "Newsletter Frühling",
    "Partner roadshow",
)  # fmt: skip
_STREETS: Final = (
    "rue de la Paix", "Hauptstraße", "Calle Mayor", "Åsgatan", "Baker Street",
    "ul. Marszałkowska", "Rua Augusta",
)  # fmt: skip
_CITIES: Final = (
    "Paris", "São Paulo", "Zürich", "Kraków", "Málaga", "Montréal", "Reykjavík",
    "München", "Ōsaka",
)  # fmt: skip
_REGIONS: Final = ("Île-de-France", "Bayern", "Québec", "Andalucía", "CA", "NSW")
_POSTCODES: Final = ("75002", "SW1A 1AA", "ec1a 1bb", "10115", "H3Z 2Y7", "100-0001")
_CHOICES: Final = ("smb", "mid-market", "enterprise", "Île-de-France", "Nord", "Süd")
_STAGE_NAMES: Final = ("prospect", "trial", "client", "ambassadeur", "Kunde", "churned")
_TIME_ZONE_NAMES: Final = (
    "UTC", "Europe/Paris", "Europe/London", "America/New_York", "America/Sao_Paulo",
    "America/St_Johns", "Asia/Kolkata", "Asia/Tokyo", "Australia/Lord_Howe",
    "Pacific/Chatham",
)  # fmt: skip
_PHONE_REGIONS_FOR_SCHEMAS: Final = ("FR", "DE", "GB", "US", "CH", "BE", "ES", "IT")

# Currencies with 2, 0 and 3 decimal places; money() alone adds gold (no minor unit).
_TRADE_CURRENCIES: Final = (
    "EUR", "USD", "GBP", "CHF", "JPY", "SEK", "CAD", "KWD", "BHD", "CLP", "ISK", "INR",
    "BRL",
)  # fmt: skip
_ALL_CURRENCIES: Final = (*_TRADE_CURRENCIES, "XAU")
# Decimal places for amounts in currencies without minor units (gold in ounces).
_PLACES_WITHOUT_MINOR_UNITS: Final = 4

_EMAIL_TLDS: Final = (
    "com", "org", "net", "fr", "de", "io", "co.uk", "com.br", "es", "ch", "se", "jp",
    "dev", "museum",
)  # fmt: skip
_LOCAL_ATOM_ALPHABET: Final = string.ascii_letters + string.digits + "_+-"
_LABEL_ALPHABET: Final = string.ascii_letters + string.digits
_IDN_ALPHABET: Final = string.ascii_lowercase + "éüöäñçåø"
_NAME_LOWER: Final = "abcdefghijklmnopqrstuvwxyzàâäçéèêëîïôöùûüÿñåøæœßłśźżčřšžőűğşăţ"
_NAME_ALPHABET: Final = (
    _NAME_LOWER + "".join(c.upper() for c in _NAME_LOWER if len(c.upper()) == 1) + "'-"
)

_PHONE_TYPES: Final = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
)
_MAX_VARIED_DIGITS: Final = 4

_MIN_INSTANT: Final = datetime(2000, 1, 1)  # noqa: DTZ001 - bounds for st.datetimes
_MAX_INSTANT: Final = datetime(2040, 12, 31)  # noqa: DTZ001 - bounds for st.datetimes
_MIN_DAY: Final = date(1990, 1, 1)
_MAX_DAY: Final = date(2040, 12, 31)
_MAX_LATER: Final = timedelta(days=400)

# A UUIDv7 keeps its 48-bit time, version and variant; its 74 other bits are random.
_UUID7_FIXED_BITS: Final = (((1 << 48) - 1) << 80) | (0xF << 76) | (0b11 << 62)
_RAND_B_BITS: Final = 62
_RANDOM_BITS: Final = 74


# --- Argument checks ---------------------------------------------------------------


def _check_strategy(name: str, value: object) -> None:
    """Refuse a plain value where a strategy is expected, as xarray does."""
    if not isinstance(value, SearchStrategy):
        raise InvalidArgument(
            f"{name}= takes a strategy, not {value!r} ({type(value).__name__}); "
            f"use st.just({value!r}) for a fixed value"
        )


def _optional_strategy(
    name: str, value: SearchStrategy[_T] | None, default: SearchStrategy[_T]
) -> SearchStrategy[_T]:
    if value is None:
        return default
    _check_strategy(name, value)
    return value


def _field_names(cls: type) -> frozenset[str]:
    return frozenset(
        field.alias for field in attrs.fields(cls) if field.init and field.alias
    )


def _check_fields(
    cls: type, fields: Mapping[str, object]
) -> Mapping[str, SearchStrategy[Any]]:
    """Check that each keyword names a field of ``cls`` and holds a strategy."""
    known = _field_names(cls)
    for name, value in fields.items():
        if name not in known:
            raise InvalidArgument(
                f"{cls.__name__} has no field {name!r}; "
                f"its fields are {', '.join(sorted(known))}"
            )
        _check_strategy(name, value)
    return cast("Mapping[str, SearchStrategy[Any]]", dict(fields))


class _Fields:
    """
    Draw each field from the caller's strategy when given, else from a default.

    Default strategies are built once (see the cached ``_*_defaults`` functions):
    Hypothesis validates each new strategy on its first draw, and building them on
    every draw would cost more than drawing.
    """

    def __init__(
        self, draw: DrawFn, cls: type, overrides: Mapping[str, SearchStrategy[Any]]
    ) -> None:
        self._draw = draw
        self._cls = cls
        self._overrides = overrides
        self.values: dict[str, Any] = {}

    def given(self, name: str) -> bool:
        """Whether the caller passed a strategy for ``name``."""
        return name in self._overrides

    def draw(self, name: str, default: SearchStrategy[_T]) -> _T:
        """Draw ``name`` once, from the caller's strategy or else from ``default``."""
        if name not in self.values:
            self.values[name] = self._draw(self._overrides.get(name, default))
        return cast("_T", self.values[name])

    def draw_all(self, defaults: Mapping[str, SearchStrategy[Any]]) -> None:
        """Draw every field of ``defaults`` not drawn yet, in order."""
        for name, default in defaults.items():
            self.draw(name, default)

    def derive(
        self, name: str, base: SearchStrategy[_U], make: Callable[[_U], _T]
    ) -> _T:
        """Draw ``name`` from the caller's strategy, or ``make`` it from ``base``."""
        if name not in self.values:
            if self.given(name):
                self.values[name] = self._draw(self._overrides[name])
            else:
                self.values[name] = make(self._draw(base))
        return cast("_T", self.values[name])

    def fixed(self, name: str, value: _T) -> _T:
        """Draw ``name`` from the caller's strategy, or else take ``value``."""
        return self.derive(name, _NOTHING_TO_DRAW, lambda _: value)

    def draw_given(self, name: str) -> Any:
        """Draw ``name`` from the caller's strategy (the caller gave one)."""
        return self.draw(name, self._overrides[name])

    def repair(self, name: str, value: object) -> None:
        """Replace a default-drawn value to satisfy an invariant (not a given one)."""
        if not self.given(name):
            self.values[name] = value

    def fill_first(self, candidates: Iterable[tuple[str, SearchStrategy[Any]]]) -> None:
        """Redraw the first of ``candidates`` that the caller did not give."""
        for name, strategy in candidates:
            if not self.given(name):
                self.values[name] = self._draw(strategy)
                return

    def build(self) -> Any:
        """Build the object; with caller strategies, a failure is their argument's."""
        try:
            return self._cls(**self.values)
        except (ValidationError, InvalidDefinition) as error:
            if not self._overrides:
                raise  # a bug in these strategies: please report it
            raise InvalidArgument(
                f"the strategies given for {', '.join(sorted(self._overrides))} drew "
                f"values that make an invalid {self._cls.__name__}: {error}"
            ) from error


_NOTHING_TO_DRAW: Final = st.just(None)


def _maybe(strategy: SearchStrategy[_T]) -> SearchStrategy[_T | None]:
    return st.none() | strategy


def _filled(text: object) -> bool:
    return isinstance(text, str) and bool(text.strip())


def _pick(index: int, items: tuple[_T, ...]) -> _T:
    return items[index % len(items)]


# A draw of an index into a list whose length is known only while drawing.
_INDEX: Final = st.integers(0, 255)


# --- Text ---------------------------------------------------------------------------


def _words(words: tuple[str, ...]) -> SearchStrategy[str]:
    return st.sampled_from(words)


def _names(words: tuple[str, ...]) -> SearchStrategy[str]:
    """Names from a list, or generated letters (never blank)."""
    return st.sampled_from(words) | st.text(_NAME_ALPHABET, min_size=1, max_size=12)


def _free_text(max_size: int = 60) -> SearchStrategy[str]:
    """What a person types in a form: printable text, spaces, tabs and line breaks."""
    return st.text(
        st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"),
        max_size=max_size,
    )


def _tags() -> SearchStrategy[frozenset[str]]:
    return st.frozensets(_words(_TAGS), max_size=4)


# --- Time and ids -------------------------------------------------------------------


@cache
def _zones() -> tuple[tzinfo, ...]:
    return (
        UTC,
        timezone(timedelta(hours=5, minutes=45)),
        *(ZoneInfo(name) for name in _TIME_ZONE_NAMES),
    )


def _settle(moment: datetime) -> datetime:
    """
    Move a wall time that a DST change makes ambiguous or imaginary to UTC.

    Python never finds such a datetime equal to one in another zone (PEP 495), so it
    would not compare equal to itself after a trip through an ISO 8601 offset.
    """
    other = moment.replace(fold=1 - moment.fold)
    if other.utcoffset() != moment.utcoffset():
        return moment.astimezone(UTC)
    return moment


def _in_zone(utc_wall_time: datetime, zone: tzinfo) -> datetime:
    return _settle(utc_wall_time.replace(tzinfo=UTC).astimezone(zone))


def _shift(start: datetime, delta: timedelta) -> datetime:
    """``start + delta`` as elapsed time (not wall time), in ``start``'s zone."""
    return _settle((start.astimezone(UTC) + delta).astimezone(start.tzinfo))


def _later(start: datetime | None) -> Callable[[timedelta | None], datetime | None]:
    """Make an optional instant some time after ``start`` from a drawn delta."""
    return lambda delta: (
        None if delta is None or start is None else _shift(start, delta)
    )


def _earlier(end: datetime | None) -> Callable[[timedelta | None], datetime | None]:
    """Make an optional instant some time before ``end`` from a drawn delta."""
    return lambda delta: None if delta is None or end is None else _shift(end, -delta)


def _after(start: date | None) -> Callable[[int | None], date | None]:
    """Make an optional day on or after ``start`` (any day without one)."""

    def make(days: int | None) -> date | None:
        if days is None:
            return None
        if start is None:
            return _MIN_DAY + timedelta(days=days)
        return start + timedelta(days=days % _DAYS_AFTER)

    return make


_DELTAS: Final = st.timedeltas(timedelta(0), _MAX_LATER)
_SOME_DELTAS: Final = _maybe(_DELTAS)
_MEETING_LENGTHS: Final = _maybe(st.timedeltas(timedelta(0), timedelta(hours=8)))
_ORDER_LEAD_TIMES: Final = st.timedeltas(timedelta(0), timedelta(days=30))
_DAYS_AFTER: Final = 3 * 365
_SOME_DAY_NUMBERS: Final = _maybe(st.integers(0, (_MAX_DAY - _MIN_DAY).days))
_DAYS: Final = st.dates(_MIN_DAY, _MAX_DAY)


def _uuid7(at: datetime, bits: int) -> UUID:
    """`new_id` at ``at``, with its random bits replaced by ``bits`` (for replay)."""
    fixed = new_id(at).int & _UUID7_FIXED_BITS
    rand_a, rand_b = divmod(bits, 1 << _RAND_B_BITS)
    return UUID(int=fixed | (rand_a << 64) | rand_b)


_RANDOM_ID_BITS: Final = st.integers(0, (1 << _RANDOM_BITS) - 1)
# Ids of other entities: UUIDv7 made at some instant.
_UUIDS: Final = st.builds(
    _uuid7,
    st.datetimes(_MIN_INSTANT, _MAX_INSTANT).map(lambda at: at.replace(tzinfo=UTC)),
    _RANDOM_ID_BITS,
)
_SOME_UUIDS: Final = _maybe(_UUIDS)


def _other_id(entity_id: UUID) -> UUID:
    """A different valid UUIDv7 at the same instant (flip the last random bit)."""
    return UUID(int=entity_id.int ^ 1)


def _zone_strategy() -> SearchStrategy[tzinfo]:
    return st.sampled_from(_zones())


def aware_datetimes(
    *, timezones: SearchStrategy[tzinfo] | None = None
) -> SearchStrategy[datetime]:
    """
    Timezone-aware datetimes between 2000 and 2040, as crmkit's timestamps need.

    Requires the hypothesis package.

    By default the zone is UTC, a fixed +05:45 offset, or one of a few IANA zones,
    most with daylight saving time (Paris, New York, Lord Howe with its half-hour
    shift, Chatham at +12:45...). Wall times that a DST change makes ambiguous or
    imaginary come back in UTC instead, since Python never finds those equal to
    the same instant in another zone.

    Args:
        timezones: The zones to express the instants in, such as
            ``st.just(ZoneInfo("Europe/Paris"))``.

    Returns:
        SearchStrategy[datetime]: Aware datetimes.
    """
    zones = _optional_strategy("timezones", timezones, st.deferred(_zone_strategy))
    return st.builds(_in_zone, st.datetimes(_MIN_INSTANT, _MAX_INSTANT), zones)


_AWARE: Final = aware_datetimes()


# --- Values -------------------------------------------------------------------------


def _local_parts() -> SearchStrategy[str]:
    """Dot-separated atoms: no leading, trailing or double dots."""
    atom = st.text(_LOCAL_ATOM_ALPHABET, min_size=1, max_size=10)
    return st.lists(atom, min_size=1, max_size=3).map(".".join)


def _domains() -> SearchStrategy[str]:
    """Host names: one or two labels under a real top-level domain."""
    ascii_label = st.lists(
        st.text(_LABEL_ALPHABET, min_size=1, max_size=8), min_size=1, max_size=2
    ).map("-".join)
    idn_label = st.text(_IDN_ALPHABET, min_size=1, max_size=10)
    return st.builds(
        lambda labels, tld: ".".join((*labels, tld)),
        st.lists(ascii_label | idn_label, min_size=1, max_size=2),
        _words(_EMAIL_TLDS),
    )


_DOMAINS: Final = _domains()


@st.composite
def _emails(
    draw: DrawFn, local_parts: SearchStrategy[str], domains: SearchStrategy[str]
) -> EmailAddress:
    local, domain = draw(local_parts), draw(domains)
    try:
        return EmailAddress(f"{local}@{domain}")
    except ValidationError as error:
        raise InvalidArgument(
            f"local_parts= and domains= drew {local!r} and {domain!r}, "
            f"which make an invalid address: {error}"
        ) from error


def emails(
    *,
    local_parts: SearchStrategy[str] | None = None,
    domains: SearchStrategy[str] | None = None,
) -> SearchStrategy[EmailAddress]:
    """
    Valid email addresses, in mixed case, some with internationalised domains.

    Requires the hypothesis package.

    Local parts use letters of both cases, digits and ``. _ + -`` (never a leading,
    trailing or double dot); domains are one or two labels under a real top-level
    domain, such as ``Sales.Acme.co.uk`` or ``bücher.de``.

    Args:
        local_parts: The part before the ``@``; it must make a valid address.
        domains: The part after the ``@``, such as ``st.just("acme.com")``.

    Returns:
        SearchStrategy[EmailAddress]: Addresses that `EmailAddress` accepts.
    """
    return _emails(
        _optional_strategy("local_parts", local_parts, _local_parts()),
        _optional_strategy("domains", domains, _DOMAINS),
    )


@cache
def _phone_examples(region: str) -> tuple[tuple[int, str], ...]:
    """Country code and national number of each valid example number of a region."""
    examples: dict[tuple[int, str], None] = {}
    for kind in _PHONE_TYPES:
        number = phonenumbers.example_number_for_type(region, kind)
        if number is None or number.country_code is None:
            continue
        if phonenumbers.is_valid_number(number):
            national = phonenumbers.national_significant_number(number)
            examples[number.country_code, str(national)] = None
    return tuple(examples)


_VARIED_DIGITS: Final = st.integers(0, _MAX_VARIED_DIGITS)
_NEW_DIGITS: Final = st.text(
    string.digits, min_size=_MAX_VARIED_DIGITS, max_size=_MAX_VARIED_DIGITS
)
_EXTENSIONS: Final = st.none() | st.none() | st.integers(1, 9999).map(str)


@st.composite
def _phone_numbers(draw: DrawFn, regions: SearchStrategy[str]) -> PhoneNumber:
    region = draw(regions)
    examples = _phone_examples(region.upper()) if isinstance(region, str) else ()
    if not examples:
        raise InvalidArgument(
            f"regions= drew {region!r}, which has no valid example phone numbers; "
            "use regions phonenumbers supports, such as 'FR' or 'US'"
        )
    country_code, national = _pick(draw(_INDEX), examples)
    # Vary the last digits; keep the example itself when the variation is invalid.
    varied = min(draw(_VARIED_DIGITS), len(national) - 1)
    digits = draw(_NEW_DIGITS)[:varied]
    extension = draw(_EXTENSIONS)
    try:
        return PhoneNumber(
            f"+{country_code}{national[: len(national) - varied]}{digits}",
            extension=extension,
        )
    except ValidationError:
        return PhoneNumber(f"+{country_code}{national}", extension=extension)


def _supported_regions() -> SearchStrategy[str]:
    return st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS))


def phone_numbers(
    *, regions: SearchStrategy[str] | None = None
) -> SearchStrategy[PhoneNumber]:
    """
    Valid phone numbers of every kind (mobile, fixed line, toll-free...) in E.164.

    Requires the hypothesis package.

    Each number starts from one of phonenumbers' example numbers for the region and
    kind, with up to four trailing digits varied; a variation that is not a valid
    number falls back to the example. About a third carry an extension.

    Args:
        regions: ISO 3166 regions to draw numbers for, such as
            ``st.sampled_from(["FR", "DE"])``; by default every supported region.

    Returns:
        SearchStrategy[PhoneNumber]: Numbers that `PhoneNumber` accepts.
    """
    return _phone_numbers(
        _optional_strategy("regions", regions, st.deferred(_supported_regions))
    )


_SIGNED_UNITS: Final = st.integers(-(10**12), 10**12)
_UNSIGNED_UNITS: Final = st.integers(0, 10**10)
_FINER_PLACES: Final = st.sampled_from((0, 0, 0, 2))


@st.composite
def _money(
    draw: DrawFn,
    currencies: SearchStrategy[str],
    amounts: SearchStrategy[Decimal] | None,
    *,
    signed: bool = True,
) -> Money:
    currency = draw(currencies)
    if amounts is None:
        # Amounts to the currency's precision, now and then two places finer.
        places = currency_minor_units(currency)
        places = _PLACES_WITHOUT_MINOR_UNITS if places is None else places
        units = draw(_SIGNED_UNITS if signed else _UNSIGNED_UNITS)
        places += draw(_FINER_PLACES)
        return Money(Decimal(units).scaleb(-places), currency)
    amount = draw(amounts)
    try:
        return Money(amount, currency)
    except ValidationError as error:
        raise InvalidArgument(
            f"currencies= and amounts= drew {currency!r} and {amount!r}, "
            f"which make invalid money: {error}"
        ) from error


def money(
    *,
    currencies: SearchStrategy[str] | None = None,
    amounts: SearchStrategy[Decimal] | None = None,
) -> SearchStrategy[Money]:
    """
    Exact amounts of money, positive and negative, in currencies of every precision.

    Requires the hypothesis package.

    By default the currency has 2 (EUR, USD...), 0 (JPY, CLP) or 3 (KWD, BHD)
    decimal places, or none at all (XAU, gold); amounts reach 10**12 minor units
    (ten billion euros), to the currency's precision or, now and then, two places
    finer.

    Args:
        currencies: ISO 4217 codes, such as ``st.just("EUR")``.
        amounts: `Decimal` amounts; by default they follow the drawn currency.

    Returns:
        SearchStrategy[Money]: Money that `Money` accepts.
    """
    if amounts is not None:
        _check_strategy("amounts", amounts)
    return _money(
        _optional_strategy("currencies", currencies, st.sampled_from(_ALL_CURRENCIES)),
        amounts,
    )


_TRADE_CURRENCIES_ST: Final = st.sampled_from(_TRADE_CURRENCIES)
# Prices, budgets and revenues: never negative, in a currency one trades in.
_PRICES: Final = _money(_TRADE_CURRENCIES_ST, None, signed=False)
_SOME_PRICES: Final = _maybe(_PRICES)


@cache
def _price_in(currency: str) -> SearchStrategy[Money]:
    return _money(st.just(currency), None, signed=False)


@cache
def _prices_in(currency: str) -> SearchStrategy[Money | None]:
    return _maybe(_price_in(currency))


@cache
def _country_codes() -> tuple[str, ...]:
    return tuple(sorted(country.alpha_2 for country in pycountry.countries))


@cache
def _address_defaults() -> dict[str, SearchStrategy[Any]]:
    street = st.builds(
        lambda number, name: f"{number} {name}", st.integers(1, 300), _words(_STREETS)
    )
    return {
        "lines": st.lists(street | _free_text(40), max_size=3),
        "postcode": _maybe(_words(_POSTCODES) | _free_text(10)),
        "city": _maybe(_names(_CITIES)),
        "region": _maybe(_words(_REGIONS)),
        "country": _maybe(st.deferred(lambda: st.sampled_from(_country_codes()))),
    }


@st.composite
def _postal_addresses(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> PostalAddress:
    f = _Fields(draw, PostalAddress, overrides)
    f.draw_all(_address_defaults())
    return cast("PostalAddress", f.build())


def postal_addresses(**fields: SearchStrategy[Any]) -> SearchStrategy[PostalAddress]:
    """
    Postal addresses from several countries, some partly or entirely blank.

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `PostalAddress` field, such as
            ``country=st.just("FR")``.

    Returns:
        SearchStrategy[PostalAddress]: Addresses that `PostalAddress` accepts.
    """
    return _postal_addresses(_check_fields(PostalAddress, fields))


def _url_text(
    scheme: str, host: str, port: int | None, path: list[str], query: str | None
) -> str:
    netloc = host if port is None else f"{host}:{port}"
    text = f"{scheme}{netloc}/{'/'.join(path)}"
    return text if query is None else f"{text}?{query}"


def urls() -> SearchStrategy[Url]:
    """
    Web addresses: http or https, sometimes without a scheme, a port or a path.

    Requires the hypothesis package.

    Hosts are like email domains (some internationalised, some in upper case),
    prefixed by ``www.`` now and then.

    Returns:
        SearchStrategy[Url]: Addresses that `Url` accepts.
    """
    segment = st.text(string.ascii_letters + string.digits + "-_.~", max_size=8)
    query = st.builds(
        lambda key, value: f"{key}={value}",
        st.text(string.ascii_lowercase, min_size=1, max_size=6),
        st.text(string.ascii_letters + string.digits, max_size=6),
    )
    hosts = st.builds(lambda www, domain: www + domain, _words(("", "www.")), _DOMAINS)
    text = st.builds(
        _url_text,
        _words(("https://", "http://", "HTTPS://", "")),
        hosts,
        _maybe(st.integers(1, 65535)),
        st.lists(segment, max_size=3),
        _maybe(query),
    )
    return text.map(Url)


def probabilities() -> SearchStrategy[Probability]:
    """
    Probabilities from 0 to 1, both included.

    Requires the hypothesis package.

    Returns:
        SearchStrategy[Probability]: Probabilities.
    """
    return st.floats(0.0, 1.0).map(Probability)


# Default value strategies, built once and shared by the entity strategies.
_EMAILS: Final = emails()
_PHONES: Final = phone_numbers()
_ADDRESSES: Final = postal_addresses()
_URLS: Final = urls()


# --- Records inside entities --------------------------------------------------------


@cache
def _consent_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "channel": st.sampled_from(Channel),
        "purpose": _names(_PURPOSES),
        "status": st.sampled_from(ConsentStatus),
        "at": _AWARE,
        "source": _maybe(_words(_SOURCES)),
        "legal_basis": st.sampled_from(LegalBasis),
    }


@st.composite
def _consent_records(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> ConsentRecord:
    f = _Fields(draw, ConsentRecord, overrides)
    f.draw_all(_consent_defaults())
    return cast("ConsentRecord", f.build())


def consent_records(**fields: SearchStrategy[Any]) -> SearchStrategy[ConsentRecord]:
    """
    Consent decisions on every channel, granted or withdrawn, on every legal basis.

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `ConsentRecord` field, such as
            ``channel=st.just(Channel.EMAIL)``.

    Returns:
        SearchStrategy[ConsentRecord]: Valid consent records.
    """
    return _consent_records(_check_fields(ConsentRecord, fields))


@cache
def _role_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "organization_id": _UUIDS,
        "title": _maybe(_names(_JOB_TITLES)),
        "department": _maybe(_words(_DEPARTMENTS)),
        "is_primary": st.booleans(),
        "started_on": _maybe(_DAYS),
    }


@st.composite
def _organization_roles(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> OrganizationRole:
    f = _Fields(draw, OrganizationRole, overrides)
    f.draw_all(_role_defaults())
    f.derive("ended_on", _SOME_DAY_NUMBERS, _after(f.values["started_on"]))
    return cast("OrganizationRole", f.build())


def organization_roles(
    **fields: SearchStrategy[Any],
) -> SearchStrategy[OrganizationRole]:
    """
    A person's roles in organisations, with titles, departments and dates.

    Requires the hypothesis package.

    A role ends no earlier than it starts. `people` makes exactly one of a person's
    roles primary; a role on its own is primary or not.

    Args:
        **fields: A strategy for any `OrganizationRole` field, such as
            ``organization_id=st.just(acme.id)``.

    Returns:
        SearchStrategy[OrganizationRole]: Valid roles.
    """
    return _organization_roles(_check_fields(OrganizationRole, fields))


def _one_primary(
    roles: list[OrganizationRole], index: int
) -> tuple[OrganizationRole, ...]:
    return tuple(
        attrs.evolve(role, is_primary=position == index % len(roles))
        for position, role in enumerate(roles)
    )


@st.composite
def _party_refs(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> PartyRef:
    f = _Fields(draw, PartyRef, overrides)
    f.draw("kind", st.sampled_from(PartyKind))
    f.draw("id", _UUIDS)
    return cast("PartyRef", f.build())


def party_refs(**fields: SearchStrategy[Any]) -> SearchStrategy[PartyRef]:
    """
    References to people and organisations.

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `PartyRef` field (``kind`` or ``id``).

    Returns:
        SearchStrategy[PartyRef]: Valid references.
    """
    return _party_refs(_check_fields(PartyRef, fields))


@cache
def _line_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "description": _names(_PRODUCT_NAMES),
        "quantity": st.integers(1, 500).map(Decimal)
        | st.decimals(Decimal("0.001"), Decimal(1000), places=3),
        "discount": st.decimals(Decimal(0), Decimal(1), places=2),
        "product_id": _SOME_UUIDS,
    }


@st.composite
def _order_lines(
    draw: DrawFn,
    overrides: Mapping[str, SearchStrategy[Any]],
    currencies: SearchStrategy[str],
) -> OrderLine:
    f = _Fields(draw, OrderLine, overrides)
    f.draw_all(_line_defaults())
    # The unit cost is in the unit price's currency, whichever of them is given.
    cost = f.draw_given("unit_cost") if f.given("unit_cost") else None
    currency = cost.currency if isinstance(cost, Money) else draw(currencies)
    price = f.draw("unit_price", _price_in(currency))
    f.draw("unit_cost", _prices_in(price.currency))
    return cast("OrderLine", f.build())


def order_lines(**fields: SearchStrategy[Any]) -> SearchStrategy[OrderLine]:
    """
    Order lines: a quantity at a unit price, less a discount, sometimes with a cost.

    Requires the hypothesis package.

    The unit cost, when there is one, is in the unit price's currency.

    Args:
        **fields: A strategy for any `OrderLine` field, such as
            ``unit_price=money(currencies=st.just("EUR"))``.

    Returns:
        SearchStrategy[OrderLine]: Valid order lines.
    """
    return _order_lines(_check_fields(OrderLine, fields), _TRADE_CURRENCIES_ST)


# --- Custom fields ------------------------------------------------------------------

_CHOICE_TYPES: Final = frozenset({CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE})


@cache
def _custom_field_defaults() -> dict[str, SearchStrategy[Any]]:
    names = st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(string.ascii_lowercase),
        st.text(string.ascii_lowercase + string.digits + "_", max_size=20),
    )
    return {
        "name": names,
        "type": st.sampled_from(CustomFieldType),
        "required": st.booleans(),
        "label": _maybe(_free_text(30)),
        "description": _maybe(_free_text()),
    }


_CHOICE_LISTS: Final = st.lists(_names(_CHOICES), min_size=1, max_size=5, unique=True)
_NO_CHOICES: Final = st.just(())


@st.composite
def _custom_fields(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> CustomField:
    f = _Fields(draw, CustomField, overrides)
    f.draw_all(_custom_field_defaults())
    has_choices = f.values["type"] in _CHOICE_TYPES
    f.draw("choices", _CHOICE_LISTS if has_choices else _NO_CHOICES)
    return cast("CustomField", f.build())


def custom_fields(**fields: SearchStrategy[Any]) -> SearchStrategy[CustomField]:
    """
    Custom field definitions of every type, required or not, with picklists.

    Requires the hypothesis package.

    Choice and multi-choice fields get a few distinct choices; other types none.

    Args:
        **fields: A strategy for any `CustomField` field, such as
            ``type=st.just(CustomFieldType.MONEY)``.

    Returns:
        SearchStrategy[CustomField]: Valid definitions.
    """
    return _custom_fields(_check_fields(CustomField, fields))


@cache
def _schema_defaults() -> dict[str, SearchStrategy[Any]]:
    own_stages = st.lists(_names(_STAGE_NAMES), min_size=1, max_size=6, unique=True)
    return {
        "custom_fields": st.lists(
            custom_fields(), max_size=5, unique_by=lambda field: field.name
        ),
        "lifecycle_stages": st.just(DEFAULT_LIFECYCLE_STAGES) | own_stages,
        "phone_region": _maybe(_words(_PHONE_REGIONS_FOR_SCHEMAS)),
    }


@st.composite
def _entity_schemas(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> EntitySchema:
    f = _Fields(draw, EntitySchema, overrides)
    f.draw_all(_schema_defaults())
    return cast("EntitySchema", f.build())


def entity_schemas(**fields: SearchStrategy[Any]) -> SearchStrategy[EntitySchema]:
    """
    Schemas: a few custom fields, and the default lifecycle stages or the business's.

    Requires the hypothesis package.

    Draw an entity's custom values with `custom_values`, and its lifecycle stage from
    ``st.sampled_from(schema.lifecycle_stages)``, so that ``schema.apply`` accepts it.

    Args:
        **fields: A strategy for any `EntitySchema` field, such as
            ``custom_fields=st.lists(custom_fields(), max_size=1)``.

    Returns:
        SearchStrategy[EntitySchema]: Valid schemas.
    """
    return _entity_schemas(_check_fields(EntitySchema, fields))


@cache
def _custom_value_strategies() -> dict[CustomFieldType, SearchStrategy[Any]]:
    return {
        CustomFieldType.TEXT: _free_text(),
        CustomFieldType.INTEGER: st.integers(-(2**63), 2**63 - 1),
        CustomFieldType.DECIMAL: st.decimals(
            -(10**12), 10**12, allow_nan=False, allow_infinity=False, places=4
        ),
        CustomFieldType.BOOL: st.booleans(),
        CustomFieldType.DATE: _DAYS,
        CustomFieldType.DATETIME: _AWARE,
        CustomFieldType.MONEY: money(),
        CustomFieldType.EMAIL: _EMAILS,
        CustomFieldType.PHONE: _PHONES,
        CustomFieldType.URL: _URLS,
    }


def _custom_value(field: CustomField) -> SearchStrategy[Any]:
    """Values of one custom field, in the Python type `CustomField.coerce` returns."""
    choices = field.choices
    if field.type is CustomFieldType.CHOICE:
        return st.sampled_from(choices)
    if field.type is CustomFieldType.MULTI_CHOICE:
        return st.sets(st.sampled_from(choices)).map(
            lambda picked: tuple(choice for choice in choices if choice in picked)
        )
    return _custom_value_strategies()[field.type]


def custom_values(schema: EntitySchema) -> SearchStrategy[dict[str, Any]]:
    """
    Custom values that ``schema`` accepts: every required field, some optional ones.

    Requires the hypothesis package.

    Values are already in the type the schema gives them (`Decimal`, `date`, `Money`,
    a tuple of choices in the schema's order...), so ``schema.validate_custom``
    returns them unchanged, and an entity holding them round-trips through a
    converter made with ``make_converter(schemas={Person: schema})``.

    Args:
        schema: The schema whose custom fields to fill (a value, not a strategy:
            draw it first, e.g. with ``st.data()``).

    Returns:
        SearchStrategy[dict[str, Any]]: Custom values by field name.

    Raises:
        InvalidArgument: ``schema`` is not an `EntitySchema`.
    """
    if not isinstance(schema, EntitySchema):
        raise InvalidArgument(
            f"schema must be an EntitySchema, not {type(schema).__name__}; "
            "draw one from entity_schemas() first"
        )
    fields = schema.custom_fields
    return st.fixed_dictionaries(
        {field.name: _custom_value(field) for field in fields if field.required},
        optional={
            field.name: _custom_value(field) for field in fields if not field.required
        },
    )


# --- Entities -----------------------------------------------------------------------

_VERSIONS: Final = st.integers(1, 50)
_NO_CUSTOM_VALUES: Final[SearchStrategy[dict[str, Any]]] = st.builds(dict)


def _entity_base(f: _Fields) -> datetime:
    """Draw version, times and id: ``created_at <= updated_at``, id made at creation."""
    if f.given("updated_at") and not f.given("created_at"):
        updated = f.draw_given("updated_at")
        version = f.draw("version", _VERSIONS)
        make = _earlier(updated) if version > 1 else lambda _: updated
        created = f.derive("created_at", _DELTAS, make)
    else:
        created = f.draw("created_at", _AWARE)
        version = f.draw("version", _VERSIONS)
        make = _later(created) if version > 1 else lambda _: created
        f.derive("updated_at", _DELTAS, make)
    f.derive("id", _RANDOM_ID_BITS, lambda bits: _uuid7(created, bits))
    f.draw("custom", _NO_CUSTOM_VALUES)
    return cast("datetime", created)


def _keep_apart(f: _Fields, name: str, other: object) -> None:
    """Make the default-drawn id ``name`` differ from ``other``."""
    value = f.values[name]
    if isinstance(value, UUID) and value == other:
        f.repair(name, _other_id(value))


_SOME_LIFECYCLE_STAGES: Final = _maybe(st.sampled_from(DEFAULT_LIFECYCLE_STAGES))
_EXTERNAL_IDS: Final = st.dictionaries(
    _words(_EXTERNAL_SYSTEMS),
    st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=12),
    max_size=2,
)
_EMAIL_LISTS: Final = st.lists(_EMAILS, max_size=3, unique_by=lambda e: e.normalized)
_PHONE_LISTS: Final = st.lists(_PHONES, max_size=3, unique_by=lambda p: p.e164)
_ADDRESS_LISTS: Final = st.lists(_ADDRESSES, max_size=2)
_SOME_REVENUES: Final = _SOME_PRICES


@cache
def _person_defaults() -> dict[str, SearchStrategy[Any]]:
    roles = st.lists(
        organization_roles(),
        min_size=1,
        max_size=3,
        unique_by=lambda role: role.organization_id,
    )
    return {
        "salutation": _maybe(_words(_SALUTATIONS)),
        "first_name": _maybe(_names(_FIRST_NAMES)),
        "last_name": _maybe(_names(_LAST_NAMES)),
        "emails": _EMAIL_LISTS,
        "phones": _PHONE_LISTS,
        "addresses": _ADDRESS_LISTS,
        "urls": st.lists(_URLS, max_size=2),
        "preferred_language": _maybe(_words(_LANGUAGES)),
        "preferred_channel": _maybe(st.sampled_from(Channel)),
        "birth_date": _maybe(st.dates(date(1930, 1, 1), date(2008, 12, 31))),
        "job_title": _maybe(_names(_JOB_TITLES)),
        "income_band": _maybe(_words(_INCOME_BANDS)),
        "interests": _tags(),
        "preferences": st.dictionaries(
            _words(_PREFERENCE_KEYS), _free_text(20), max_size=2
        ),
        # Roles in distinct organisations, exactly one of them primary.
        "roles": st.just(()) | st.builds(_one_primary, roles, st.integers(0, 2)),
        "lifecycle_stage": _SOME_LIFECYCLE_STAGES,
        "tags": _tags(),
        "owner_id": _SOME_UUIDS,
        "source": _maybe(_words(_SOURCES)),
        "consents": st.lists(consent_records(), max_size=3),
        "external_ids": _EXTERNAL_IDS,
    }


@cache
def _identity_fillers() -> tuple[tuple[str, SearchStrategy[Any]], ...]:
    return (
        ("last_name", _names(_LAST_NAMES)),
        ("first_name", _names(_FIRST_NAMES)),
        ("emails", st.lists(_EMAILS, min_size=1, max_size=1)),
        ("phones", st.lists(_PHONES, min_size=1, max_size=1)),
    )


@st.composite
def _people(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Person:
    f = _Fields(draw, Person, overrides)
    _entity_base(f)
    f.draw_all(_person_defaults())
    values = f.values
    if not (
        _filled(values["first_name"])
        or _filled(values["last_name"])
        or values["emails"]
        or values["phones"]
    ):
        # A person needs a name, an email or a phone: fill whichever is ours to fill.
        f.fill_first(_identity_fillers())
    return cast("Person", f.build())


def people(**fields: SearchStrategy[Any]) -> SearchStrategy[Person]:
    """
    People: contacts with accented names, several emails and phones, roles, consents.

    Requires the hypothesis package.

    Every person has a first name, a last name, an email or a phone; when roles are
    drawn, exactly one is primary and each is in a different organisation.

    Args:
        **fields: A strategy for any `Person` field, such as
            ``emails=st.lists(emails(), min_size=2)`` or
            ``custom=custom_values(schema)``.

    Returns:
        SearchStrategy[Person]: Valid people.
    """
    return _people(_check_fields(Person, fields))


@cache
def _organization_defaults() -> dict[str, SearchStrategy[Any]]:
    vat_numbers = st.builds(
        lambda country, digits: f"{country}{digits}",
        _words(("FR", "DE", "IT", "BE", "ES")),
        st.integers(10**8, 10**11),
    )
    return {
        "name": _names(_COMPANY_NAMES),
        "legal_name": _maybe(_names(_COMPANY_NAMES)),
        "registration_number": _maybe(st.integers(10**8, 10**14).map(str)),
        "vat_number": _maybe(vat_numbers),
        "parent_id": _SOME_UUIDS,
        "industry": _maybe(_words(_INDUSTRIES)),
        "employees": _maybe(st.integers(0, 500_000)),
        "annual_revenue": _SOME_REVENUES,
        "website": _maybe(_URLS),
        "emails": _EMAIL_LISTS,
        "phones": _PHONE_LISTS,
        "addresses": _ADDRESS_LISTS,
        "lifecycle_stage": _SOME_LIFECYCLE_STAGES,
        "tags": _tags(),
        "owner_id": _SOME_UUIDS,
        "source": _maybe(_words(_SOURCES)),
        "external_ids": _EXTERNAL_IDS,
    }


@st.composite
def _organizations(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> Organization:
    f = _Fields(draw, Organization, overrides)
    _entity_base(f)
    f.draw_all(_organization_defaults())
    _keep_apart(f, "parent_id", f.values["id"])
    return cast("Organization", f.build())


def organizations(**fields: SearchStrategy[Any]) -> SearchStrategy[Organization]:
    """
    Organisations: accounts with names, numbers, revenue, a website and contacts.

    Requires the hypothesis package.

    A parent, when drawn, is never the organisation itself; revenue is never
    negative.

    Args:
        **fields: A strategy for any `Organization` field, such as
            ``parent_id=st.just(group.id)``.

    Returns:
        SearchStrategy[Organization]: Valid organisations.
    """
    return _organizations(_check_fields(Organization, fields))


@cache
def _relationship_defaults() -> dict[str, SearchStrategy[Any]]:
    labels = tuple(label.name for label in DEFAULT_RELATIONSHIP_LABELS)
    return {
        "source": party_refs(),
        "target": party_refs(),
        "label": _words(labels) | _names(("billing_contact", "reseller")),
        "started_on": _maybe(_DAYS),
        "note": _maybe(_free_text()),
    }


@st.composite
def _relationships(
    draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]
) -> Relationship:
    f = _Fields(draw, Relationship, overrides)
    _entity_base(f)
    f.draw_all(_relationship_defaults())
    f.derive("ended_on", _SOME_DAY_NUMBERS, _after(f.values["started_on"]))
    source, target = f.values["source"], f.values["target"]
    if source == target:
        name, party = ("source", source) if f.given("target") else ("target", target)
        f.repair(name, attrs.evolve(party, id=_other_id(party.id)))
    return cast("Relationship", f.build())


def relationships(**fields: SearchStrategy[Any]) -> SearchStrategy[Relationship]:
    """
    Labelled relationships between two different parties, some with dates.

    Requires the hypothesis package.

    Labels are mostly crmkit's default ones (customer, supplier, partner...); a
    relationship ends no earlier than it starts.

    Args:
        **fields: A strategy for any `Relationship` field, such as
            ``label=st.just("supplier")``.

    Returns:
        SearchStrategy[Relationship]: Valid relationships.
    """
    return _relationships(_check_fields(Relationship, fields))


@cache
def _lead_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "salutation": _maybe(_words(_SALUTATIONS)),
        "first_name": _maybe(_names(_FIRST_NAMES)),
        "last_name": _maybe(_names(_LAST_NAMES)),
        "company_name": _maybe(_names(_COMPANY_NAMES)),
        "job_title": _maybe(_names(_JOB_TITLES)),
        "email": _maybe(_EMAILS),
        "phone": _maybe(_PHONES),
        "address": _maybe(_ADDRESSES),
        "website": _maybe(_URLS),
        "industry": _maybe(_words(_INDUSTRIES)),
        "employees": _maybe(st.integers(0, 500_000)),
        "annual_revenue": _SOME_REVENUES,
        "status": _words(_LEAD_STATUSES),
        "score": _maybe(st.integers(0, 100)),
        "source": _maybe(_words(_SOURCES)),
        "campaign_id": _SOME_UUIDS,
        "owner_id": _SOME_UUIDS,
        "team_id": _SOME_UUIDS,
        "lifecycle_stage": _SOME_LIFECYCLE_STAGES,
        "tags": _tags(),
        "consents": st.lists(consent_records(), max_size=2),
    }


@cache
def _lead_identity_fillers() -> tuple[tuple[str, SearchStrategy[Any]], ...]:
    return (
        ("company_name", _names(_COMPANY_NAMES)),
        ("last_name", _names(_LAST_NAMES)),
        ("email", _EMAILS),
        ("phone", _PHONES),
    )


_SOME_REASONS: Final = _maybe(_free_text())
_NONE: Final = st.none()


@st.composite
def _leads(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Lead:
    f = _Fields(draw, Lead, overrides)
    created = _entity_base(f)
    f.draw_all(_lead_defaults())
    values = f.values
    # Converted leads say when and into what; disqualified ones sometimes why.
    converted = values["status"] == "converted"
    for name in (
        "converted_person_id",
        "converted_organization_id",
        "converted_deal_id",
    ):
        f.draw(name, _SOME_UUIDS if converted else _NONE)
    f.derive("converted_at", _DELTAS if converted else _NONE, _later(created))
    disqualified = values["status"] == "disqualified"
    f.draw("disqualified_reason", _SOME_REASONS if disqualified else _NONE)
    names = ("first_name", "last_name", "company_name")
    if not any(_filled(values[name]) for name in names) and not (
        values["email"] or values["phone"]
    ):
        f.fill_first(_lead_identity_fillers())
    return cast("Lead", f.build())


def leads(**fields: SearchStrategy[Any]) -> SearchStrategy[Lead]:
    """
    Leads in every status, a person, a company or both, some converted.

    Requires the hypothesis package.

    Every lead has a name, a company, an email or a phone; converted leads carry a
    conversion time and references, disqualified ones sometimes a reason.

    Args:
        **fields: A strategy for any `Lead` field, such as
            ``status=st.just("new")``.

    Returns:
        SearchStrategy[Lead]: Valid leads.
    """
    return _leads(_check_fields(Lead, fields))


@cache
def _deal_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "name": _names(_COMPANY_NAMES).map(lambda name: f"{name} renewal"),
        "pipeline": _words(_PIPELINES),
        "stage": _words(_STAGES),
        "amount": _SOME_PRICES,
        "probability": _maybe(probabilities()),
        "forecast_category": _maybe(st.sampled_from(ForecastCategory)),
        "expected_close_date": _maybe(_DAYS),
        "owner_id": _SOME_UUIDS,
        "team_id": _SOME_UUIDS,
        "organization_id": _SOME_UUIDS,
        "contact_ids": st.lists(_UUIDS, max_size=3, unique=True),
        "lead_id": _SOME_UUIDS,
        "campaign_id": _SOME_UUIDS,
        "source": _maybe(_words(_SOURCES)),
        "tags": _tags(),
    }


_DEAL_STATUSES: Final = st.sampled_from(DealStatus)
_CLOSED_STATUSES: Final = st.sampled_from((DealStatus.WON, DealStatus.LOST))
_LOST_REASON_NAMES: Final = _names(_LOST_REASONS)


def _deal_outcome(f: _Fields, created: datetime) -> None:
    """Status, close time and lost reason, consistent with whichever was given."""
    if f.given("closed_at") and not f.given("status"):
        closed = f.draw_given("closed_at")
        status = f.draw(
            "status", _CLOSED_STATUSES if closed else st.just(DealStatus.OPEN)
        )
    else:
        status = f.draw("status", _DEAL_STATUSES)
        closes = _NONE if status == DealStatus.OPEN else _DELTAS
        f.derive("closed_at", closes, _later(created))
    f.draw("lost_reason", _LOST_REASON_NAMES if status == DealStatus.LOST else _NONE)


@st.composite
def _deals(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Deal:
    f = _Fields(draw, Deal, overrides)
    created = _entity_base(f)
    _deal_outcome(f, created)
    f.draw_all(_deal_defaults())
    return cast("Deal", f.build())


def deals(**fields: SearchStrategy[Any]) -> SearchStrategy[Deal]:
    """
    Deals open, won and lost, with amounts in several currencies and probabilities.

    Requires the hypothesis package.

    Won and lost deals have a close time no earlier than their creation; lost ones
    a reason. Give ``status`` or ``closed_at`` and the other follows.

    Args:
        **fields: A strategy for any `Deal` field, such as
            ``status=st.just(DealStatus.OPEN)``.

    Returns:
        SearchStrategy[Deal]: Valid deals.
    """
    return _deals(_check_fields(Deal, fields))


@cache
def _activity_defaults() -> dict[str, SearchStrategy[Any]]:
    uuid_lists = st.lists(_UUIDS, max_size=2, unique=True)
    return {
        "kind": st.sampled_from(ActivityKind),
        "subject": _names(_ACTIVITY_SUBJECTS),
        "body": _maybe(_free_text(80)),
        "direction": _maybe(st.sampled_from(Direction)),
        "outcome": _maybe(_names(_OUTCOMES)),
        "location": _maybe(_words(_LOCATIONS)),
        "owner_id": _SOME_UUIDS,
        "parties": st.lists(party_refs(), max_size=3, unique=True),
        "deal_ids": uuid_lists,
        "ticket_ids": uuid_lists,
        "lead_ids": uuid_lists,
    }


def _activity_times(f: _Fields, created: datetime) -> None:
    """Due, start, end and done times; a meeting ends no earlier than it starts."""
    f.derive("due_at", _SOME_DELTAS, _later(created))
    f.derive("done_at", _SOME_DELTAS, _later(created))
    if f.given("ends_at") and not f.given("starts_at"):
        ends = f.draw_given("ends_at")
        f.derive("starts_at", _MEETING_LENGTHS if ends else _NONE, _earlier(ends))
    else:
        starts = f.derive("starts_at", _SOME_DELTAS, _later(created))
        f.derive("ends_at", _MEETING_LENGTHS if starts else _NONE, _later(starts))


@st.composite
def _activities(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Activity:
    f = _Fields(draw, Activity, overrides)
    created = _entity_base(f)
    f.draw_all(_activity_defaults())
    _activity_times(f, created)
    return cast("Activity", f.build())


def activities(**fields: SearchStrategy[Any]) -> SearchStrategy[Activity]:
    """
    Activities of every kind: calls, emails, meetings, tasks, notes, visit reports.

    Requires the hypothesis package.

    Due, start and done times come after creation, and an end no earlier than its
    start.

    Args:
        **fields: A strategy for any `Activity` field, such as
            ``kind=st.just(ActivityKind.CALL)``.

    Returns:
        SearchStrategy[Activity]: Valid activities.
    """
    return _activities(_check_fields(Activity, fields))


@cache
def _ticket_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "kind": st.sampled_from(TicketKind),
        "subject": _names(_TICKET_SUBJECTS),
        "description": _maybe(_free_text(80)),
        "priority": st.sampled_from(Priority),
        "category": _maybe(_words(_CATEGORIES)),
        "channel": _maybe(st.sampled_from(Channel)),
        "status": _words(_TICKET_STATUSES),
        "requester": _maybe(party_refs()),
        "organization_id": _SOME_UUIDS,
        "owner_id": _SOME_UUIDS,
        "team_id": _SOME_UUIDS,
        "tags": _tags(),
    }


@st.composite
def _tickets(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Ticket:
    f = _Fields(draw, Ticket, overrides)
    created = _entity_base(f)
    f.draw_all(_ticket_defaults())
    # First response, resolution and closing: each after the one before, if any.
    previous = created
    for name in ("first_response_at", "resolved_at", "closed_at"):
        moment = f.derive(name, _SOME_DELTAS, _later(previous))
        if isinstance(moment, datetime) and not f.given(name):
            previous = moment
    return cast("Ticket", f.build())


def tickets(**fields: SearchStrategy[Any]) -> SearchStrategy[Ticket]:
    """
    Support tickets of every kind and priority, some answered, resolved or closed.

    Requires the hypothesis package.

    First response, resolution and closing come in that order, after creation.

    Args:
        **fields: A strategy for any `Ticket` field, such as
            ``priority=st.just(Priority.URGENT)``.

    Returns:
        SearchStrategy[Ticket]: Valid tickets.
    """
    return _tickets(_check_fields(Ticket, fields))


def _order_currency(f: _Fields) -> str:
    """The order's currency: given, else that of given lines or cost, else drawn."""
    if f.given("currency"):
        return cast("str", f.draw_given("currency"))
    found: list[str] = []
    if f.given("lines"):
        found += [line.unit_price.currency for line in f.draw_given("lines")]
    if f.given("cost_to_serve"):
        cost = f.draw_given("cost_to_serve")
        found += [cost.currency] if isinstance(cost, Money) else []
    if found:
        return f.fixed("currency", found[0])
    return f.draw("currency", _TRADE_CURRENCIES_ST)


@cache
def _order_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "customer": party_refs(),
        "status": st.sampled_from(OrderStatus),
        "channel": _maybe(st.sampled_from(Channel)),
        "campaign_id": _SOME_UUIDS,
        "tags": _tags(),
    }


@cache
def _order_lines_in(currency: str) -> SearchStrategy[list[OrderLine]]:
    return st.lists(_order_lines({}, st.just(currency)), max_size=4)


_ORDER_NUMBERS: Final = st.integers(1, 99_999)


@st.composite
def _orders(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Order:
    f = _Fields(draw, Order, overrides)
    created = _entity_base(f)
    f.derive("number", _ORDER_NUMBERS, lambda n: f"SO-{created.year}-{n:05d}")
    f.derive("ordered_at", _ORDER_LEAD_TIMES, _earlier(created))
    currency = _order_currency(f)
    f.draw("lines", _order_lines_in(currency))
    f.draw("cost_to_serve", _prices_in(currency))
    f.draw_all(_order_defaults())
    return cast("Order", f.build())


def orders(**fields: SearchStrategy[Any]) -> SearchStrategy[Order]:
    """
    Orders in every status, with a few lines and a cost to serve in one currency.

    Requires the hypothesis package.

    Lines and cost to serve are in the order's currency; give ``currency`` (or
    ``lines``) and the rest follows.

    Args:
        **fields: A strategy for any `Order` field, such as
            ``currency=st.just("EUR")``.

    Returns:
        SearchStrategy[Order]: Valid orders.
    """
    return _orders(_check_fields(Order, fields))


@cache
def _product_defaults() -> dict[str, SearchStrategy[Any]]:
    skus = st.text(string.ascii_uppercase + string.digits, min_size=3, max_size=8)
    return {
        "sku": skus.map(lambda code: f"SKU-{code}"),
        "name": _names(_PRODUCT_NAMES),
        "description": _maybe(_free_text()),
        "category": _maybe(_words(_CATEGORIES)),
        "active": st.booleans(),
        "tags": _tags(),
    }


@st.composite
def _products(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Product:
    f = _Fields(draw, Product, overrides)
    _entity_base(f)
    f.draw_all(_product_defaults())
    # Price and cost in one currency (crmkit does not require it, but it is usual).
    price = f.draw("unit_price", _SOME_PRICES)
    currency = (
        price.currency if isinstance(price, Money) else draw(_TRADE_CURRENCIES_ST)
    )
    f.draw("unit_cost", _prices_in(currency))
    return cast("Product", f.build())


def products(**fields: SearchStrategy[Any]) -> SearchStrategy[Product]:
    """
    Products with a SKU, sometimes a price and a cost (in the same currency).

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `Product` field, such as
            ``active=st.just(True)``.

    Returns:
        SearchStrategy[Product]: Valid products.
    """
    return _products(_check_fields(Product, fields))


@cache
def _user_defaults() -> dict[str, SearchStrategy[Any]]:
    full_names = st.builds(
        lambda first, last: f"{first} {last}", _names(_FIRST_NAMES), _names(_LAST_NAMES)
    )
    return {
        "name": full_names,
        "email": _EMAILS,
        "time_zone": _words(_TIME_ZONE_NAMES),
        "languages": st.lists(_words(_LANGUAGES), max_size=3, unique=True),
        "skills": st.frozensets(_words((*_INDUSTRIES, *_LANGUAGES)), max_size=3),
        "active": st.booleans(),
    }


@st.composite
def _users(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> User:
    f = _Fields(draw, User, overrides)
    _entity_base(f)
    f.draw_all(_user_defaults())
    return cast("User", f.build())


def users(**fields: SearchStrategy[Any]) -> SearchStrategy[User]:
    """
    CRM users: sales reps and agents, with time zones, languages and skills.

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `User` field, such as
            ``time_zone=st.just("Europe/Paris")``.

    Returns:
        SearchStrategy[User]: Valid users.
    """
    return _users(_check_fields(User, fields))


@cache
def _team_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "name": _names(("Sales France", "Key Accounts", "Support DACH", "SDR")),
        "member_ids": st.lists(_UUIDS, max_size=5, unique=True),
        "manager_id": _SOME_UUIDS,
        "email": _maybe(_EMAILS),
    }


@st.composite
def _teams(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Team:
    f = _Fields(draw, Team, overrides)
    _entity_base(f)
    f.draw_all(_team_defaults())
    return cast("Team", f.build())


def teams(**fields: SearchStrategy[Any]) -> SearchStrategy[Team]:
    """
    Teams of distinct users, sometimes with a manager and a shared mailbox.

    Requires the hypothesis package.

    Args:
        **fields: A strategy for any `Team` field, such as
            ``member_ids=st.just([alice.id, bob.id])``.

    Returns:
        SearchStrategy[Team]: Valid teams.
    """
    return _teams(_check_fields(Team, fields))


_CAMPAIGN_MONEY: Final = ("budget", "actual_cost", "expected_revenue")


@cache
def _campaign_defaults() -> dict[str, SearchStrategy[Any]]:
    return {
        "name": _names(_CAMPAIGN_NAMES),
        "channel": _maybe(st.sampled_from(Channel)),
        "status": st.sampled_from(CampaignStatus),
        "starts_on": _maybe(_DAYS),
        "description": _maybe(_free_text()),
        "owner_id": _SOME_UUIDS,
        "parent_id": _SOME_UUIDS,
        "tags": _tags(),
    }


@st.composite
def _campaigns(draw: DrawFn, overrides: Mapping[str, SearchStrategy[Any]]) -> Campaign:
    f = _Fields(draw, Campaign, overrides)
    _entity_base(f)
    f.draw_all(_campaign_defaults())
    f.derive("ends_on", _SOME_DAY_NUMBERS, _after(f.values["starts_on"]))
    _keep_apart(f, "parent_id", f.values["id"])
    # Budget, cost and revenue share one currency: that of any given, else drawn.
    given = [f.draw_given(name) for name in _CAMPAIGN_MONEY if f.given(name)]
    currencies = [amount.currency for amount in given if isinstance(amount, Money)]
    currency = currencies[0] if currencies else draw(_TRADE_CURRENCIES_ST)
    for name in _CAMPAIGN_MONEY:
        f.draw(name, _prices_in(currency))
    return cast("Campaign", f.build())


def campaigns(**fields: SearchStrategy[Any]) -> SearchStrategy[Campaign]:
    """
    Marketing campaigns on every channel, with dates and money in one currency.

    Requires the hypothesis package.

    Budget, actual cost and expected revenue share a currency; a campaign ends no
    earlier than it starts, and its parent, when drawn, is never itself.

    Args:
        **fields: A strategy for any `Campaign` field, such as
            ``status=st.just(CampaignStatus.ACTIVE)``.

    Returns:
        SearchStrategy[Campaign]: Valid campaigns.
    """
    return _campaigns(_check_fields(Campaign, fields))
