"""``crmkit demo``: a realistic sample CRM for a B2B vendor, and its summary."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs
import click
import phonenumbers
from rich.console import Console
from rich.table import Table

from crmkit.cli._common import (
    database_option,
    database_target,
    now_option,
    open_database,
    reports_errors,
    resolve_at,
)
from crmkit.model import (
    Activity,
    Deal,
    DealStatus,
    Entity,
    ForecastCategory,
    Lead,
    Order,
    OrderLine,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Product,
    Relationship,
    Team,
    Ticket,
    User,
)
from crmkit.repositories import UnitOfWork
from crmkit.values import EmailAddress, Money, PhoneNumber, PostalAddress, Probability

__all__ = ["SampleCrm", "build_sample", "demo"]

FIRST_NAMES: Final = (
    "Claire", "Julien", "Sophie", "Thomas", "Camille", "Nicolas", "Élodie", "Marc",
    "Léa", "Hugo", "Inès", "Pierre", "Chloé", "Antoine", "Manon", "Lucas", "Anke",
    "Pieter", "Lotte", "Jonas", "Sarah", "Olivier", "Hélène", "François",
)  # fmt: skip
LAST_NAMES: Final = (
    "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux",
    "Fontaine", "Peeters", "Janssens", "Maes", "Jacobs", "Willems", "Müller",
    "Keller", "Favre", "Rochat", "Blanc", "Garnier", "Chevalier", "Perrin",
)  # fmt: skip
COMPANY_STEMS: Final = (
    "Acme Industrie", "Batiplus", "Celtis Logistique", "Dufour Emballages",
    "Ecotherm", "Ferrand Mécanique", "Granit Conseil", "Hélios Énergie",
    "Isocel", "Jura Précision", "Kervran Agro", "Lumen Optique", "Meuse Acier",
    "Nordlys Santé", "Orion Transports", "Pictet Bâtiment", "Quartz Électronique",
    "Rhône Chimie", "Sequana Textile", "Talis Robotique", "Ubiq Data",
    "Valmy Distribution", "Wallonie Pharma", "Zenith Aéro",
)  # fmt: skip
COUNTRIES: Final = (
    ("FR", "SAS", (("75002", "Paris"), ("69003", "Lyon"), ("31000", "Toulouse"))),
    ("BE", "SA", (("1000", "Bruxelles"), ("4000", "Liège"), ("2000", "Antwerpen"))),
    ("CH", "SA", (("1201", "Genève"), ("1003", "Lausanne"), ("8001", "Zürich"))),
)
STREETS: Final = (
    "rue de la Paix",
    "avenue Louise",
    "boulevard Haussmann",
    "rue du Rhône",
)
STAGES: Final = (
    ("prospecting", 0.10, ForecastCategory.PIPELINE),
    ("qualified", 0.20, ForecastCategory.PIPELINE),
    ("demo", 0.40, ForecastCategory.BEST_CASE),
    ("proposal", 0.60, ForecastCategory.BEST_CASE),
    ("negotiation", 0.80, ForecastCategory.COMMIT),
)
DEAL_KINDS: Final = ("licences", "renewal", "expansion")
PRODUCTS: Final = (
    ("NL-CRM", "Nordlys CRM licence", Decimal(240), Decimal(40)),
    ("NL-SUP", "Premium support", Decimal(1200), Decimal(500)),
    ("NL-ONB", "Onboarding package", Decimal(4500), Decimal(2600)),
    ("NL-API", "API add-on", Decimal(90), Decimal(10)),
)
REPS: Final = (
    ("Alice Martin", "Europe/Paris", "France"),
    ("Bruno Lefebvre", "Europe/Paris", "France"),
    ("Chloé Dubois", "Europe/Paris", "France"),
    ("Dan Peeters", "Europe/Brussels", "Enterprise"),
    ("Eve Janssens", "Europe/Brussels", "Enterprise"),
    ("Zoé Moreau", "Europe/Zurich", "Service"),
)


@attrs.frozen
class SampleCrm:
    """Every entity of the sample, in the order they should be stored."""

    entities: tuple[Entity, ...]

    def of(self, kind: type[Entity]) -> list[Entity]:
        """The sample's entities of one type."""
        return [e for e in self.entities if type(e) is kind]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and c.isascii()).lower()


def _phone(rng: random.Random, region: str) -> PhoneNumber:
    """A valid number of ``region``, varied from phonenumbers' example mobile."""
    example = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        msg = f"phonenumbers has no example mobile number for {region}"
        raise ValueError(msg)
    prefix, national = example.country_code, str(example.national_number)
    while True:
        number = f"+{prefix}{national[:-4]}{rng.randrange(10_000):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return PhoneNumber(number)


def build_sample(*, seed: int, at: datetime, accounts: int = 24) -> SampleCrm:
    """
    Build a sample CRM deterministically from ``seed``, dated up to ``at``.

    Accounts in France, Belgium and Switzerland with their contacts, a sales team,
    leads, deals at every stage (won and lost too), tickets, activities, products and
    orders for the accounts that bought.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    start = at - timedelta(days=365)

    def moment() -> datetime:
        return start + timedelta(minutes=rng.randrange(365 * 24 * 60))

    entities: list[Entity] = []
    teams = {
        name: Team.create(at=start, name=name)
        for name in ("France", "Enterprise", "Service")
    }
    users = []
    for name, zone, team_name in REPS:
        user = User.create(
            at=start,
            name=name,
            email=EmailAddress(f"{_ascii(name.split()[0])}@nordlys.example"),
            time_zone=zone,
            languages=["fr", "en"],
        )
        users.append(user)
        members = (*teams[team_name].member_ids, user.id)
        teams[team_name] = attrs.evolve(teams[team_name], member_ids=members)
    entities += users
    entities += teams.values()
    products = [
        Product.create(
            at=start,
            sku=sku,
            name=name,
            unit_price=Money(price, "EUR"),
            unit_cost=Money(cost, "EUR"),
        )
        for sku, name, price, cost in PRODUCTS
    ]
    entities += products
    sales_reps = [u for u in users if u.name != "Zoé Moreau"]
    for stem in COMPANY_STEMS[:accounts]:
        country, legal_form, cities = rng.choice(COUNTRIES)
        postcode, city = rng.choice(cities)
        created = moment()
        owner = rng.choice(sales_reps)
        organization = Organization.create(
            at=created,
            name=f"{stem} {legal_form}",
            employees=rng.choice((35, 120, 480, 1500, 5200)),
            annual_revenue=Money(Decimal(rng.randrange(5, 900)) * 1_000_000, "EUR"),
            industry=rng.choice(("manufacturing", "logistics", "health", "energy")),
            addresses=[
                PostalAddress(
                    lines=[f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"],
                    postcode=postcode,
                    city=city,
                    country=country,
                )
            ],
            owner_id=owner.id,
            lifecycle_stage=rng.choice(("lead", "opportunity", "customer")),
            tags=rng.sample(("industry", "key account", "public sector", "partner"), 2),
        )
        entities.append(organization)
        domain = f"{_ascii(stem)}.example"
        contacts = []
        for index in range(rng.randrange(2, 5)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            contacts.append(
                Person.create(
                    at=created + timedelta(hours=index),
                    first_name=first,
                    last_name=last,
                    job_title=rng.choice(
                        ("CEO", "CFO", "Head of Sales", "Buyer", "IT lead")
                    ),
                    emails=[EmailAddress(f"{_ascii(first)}.{_ascii(last)}@{domain}")],
                    phones=[_phone(rng, country)],
                    roles=[
                        OrganizationRole(
                            organization_id=organization.id, is_primary=True
                        )
                    ],
                    owner_id=owner.id,
                    lifecycle_stage=organization.lifecycle_stage,
                )
            )
        entities += contacts
        entities += _deals_and_orders(
            rng, organization, contacts, owner=owner, products=products, at=at
        )
        entities += _service(rng, organization, contacts, users=users, at=at)
    entities += _leads(rng, sales_reps, moment)
    organizations = [e for e in entities if isinstance(e, Organization)]
    for source, target in zip(organizations[::5], organizations[1::5], strict=False):
        entities.append(
            Relationship.create(
                at=max(source.created_at, target.created_at),
                source=PartyRef(PartyKind.ORGANIZATION, source.id),
                target=PartyRef(PartyKind.ORGANIZATION, target.id),
                label=rng.choice(("partner", "supplier")),
            )
        )
    return SampleCrm(tuple(entities))


def _deals_and_orders(
    rng: random.Random,
    organization: Organization,
    contacts: list[Person],
    *,
    owner: User,
    products: list[Product],
    at: datetime,
) -> Iterator[Entity]:
    opened = organization.created_at + timedelta(days=rng.randrange(1, 60))
    opened = min(opened, at)
    outcome = rng.random()
    amount = Money(Decimal(rng.randrange(8, 250)) * 500, "EUR")
    common: dict[str, Any] = {
        "at": opened,
        "name": f"{organization.name}: {rng.choice(DEAL_KINDS)}",
        "pipeline": "b2b",
        "amount": amount,
        "owner_id": owner.id,
        "organization_id": organization.id,
        "contact_ids": [contacts[0].id],
        "expected_close_date": (opened + timedelta(days=rng.randrange(20, 120))).date(),
    }
    if outcome < 0.25:  # noqa: PLR2004 - a quarter of deals are won
        closed = min(opened + timedelta(days=rng.randrange(10, 90)), at)
        yield Deal.create(
            **common,
            stage="won",
            status=DealStatus.WON,
            probability=Probability(1),
            forecast_category=ForecastCategory.CLOSED,
            closed_at=closed,
        )
        lines = [
            OrderLine(
                description=product.name,
                quantity=Decimal(rng.randrange(1, 40)),
                unit_price=product.unit_price,  # type: ignore[arg-type]
                unit_cost=product.unit_cost,
                product_id=product.id,
            )
            for product in rng.sample(products, 2)
        ]
        yield Order.create(
            at=closed,
            number=f"NL-{closed:%Y%m}-{rng.randrange(1000, 9999)}",
            customer=PartyRef(PartyKind.ORGANIZATION, organization.id),
            ordered_at=closed,
            currency="EUR",
            lines=lines,
            cost_to_serve=Money(Decimal(rng.randrange(100, 2000)), "EUR"),
        )
    elif outcome < 0.4:  # noqa: PLR2004 - fifteen percent are lost
        yield Deal.create(
            **common,
            stage="proposal",
            status=DealStatus.LOST,
            probability=Probability(0),
            forecast_category=ForecastCategory.OMITTED,
            lost_reason=rng.choice(("price", "competitor", "no budget", "timing")),
            closed_at=min(opened + timedelta(days=rng.randrange(10, 90)), at),
        )
    else:
        stage, probability, category = rng.choice(STAGES)
        yield Deal.create(
            **common,
            stage=stage,
            probability=Probability(probability),
            forecast_category=category,
        )
    for contact in contacts[:2]:
        yield Activity.create(
            at=opened,
            kind=rng.choice(("call", "email", "meeting")),
            subject=f"Follow-up with {contact.full_name}",
            owner_id=owner.id,
            parties=[PartyRef(PartyKind.PERSON, contact.id)],
            due_at=opened + timedelta(days=rng.randrange(1, 14)),
        )


def _service(
    rng: random.Random,
    organization: Organization,
    contacts: list[Person],
    *,
    users: list[User],
    at: datetime,
) -> Iterator[Entity]:
    if rng.random() < 0.5:  # noqa: PLR2004 - half the accounts opened a ticket
        return
    opened = min(organization.created_at + timedelta(days=rng.randrange(1, 200)), at)
    status = rng.choice(
        ("new", "assigned", "in_progress", "waiting_on_customer", "resolved")
    )
    yield Ticket.create(
        at=opened,
        kind=rng.choice(("request", "incident")),
        subject=rng.choice(
            ("Cannot export invoices", "Training request", "Login fails")
        ),
        priority=rng.choice(("low", "normal", "high", "urgent")),
        channel=rng.choice(("email", "phone", "web")),
        status=status,
        requester=PartyRef(PartyKind.PERSON, contacts[-1].id),
        organization_id=organization.id,
        owner_id=users[-1].id,
        first_response_at=None if status == "new" else opened + timedelta(hours=2),
    )


def _leads(
    rng: random.Random, reps: list[User], moment: Callable[[], datetime]
) -> Iterator[Entity]:
    for index in range(20):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = f"{rng.choice(('Atelier', 'Groupe', 'Maison'))} {last}"
        yield Lead.create(
            at=moment(),
            first_name=first,
            last_name=last,
            company_name=company,
            email=EmailAddress(f"{_ascii(first)}.{_ascii(last)}{index}@lead.example"),
            status=rng.choice(("new", "contacted", "qualified", "disqualified")),
            score=rng.randrange(0, 100),
            source=rng.choice(("web form", "trade fair", "referral", "webinar")),
            owner_id=rng.choice(reps).id,
            employees=rng.choice((10, 50, 250, 1200)),
        )


def _store(uow: UnitOfWork, sample: SampleCrm) -> None:
    for entity in sample.entities:
        uow.repository(type(entity)).add(entity)


def _summary(uow: UnitOfWork, console: Console) -> None:
    counts = Table(title="Sample CRM", show_lines=False)
    counts.add_column("Records")
    counts.add_column("Count", justify="right")
    for label, repository in (
        ("Organisations", uow.organizations),
        ("People", uow.people),
        ("Leads", uow.leads),
        ("Deals", uow.deals),
        ("Orders", uow.orders),
        ("Tickets", uow.tickets),
        ("Activities", uow.activities),
        ("Users", uow.users),
        ("Teams", uow.teams),
        ("Relationships", uow.relationships),
    ):
        counts.add_row(label, str(repository.count()))
    console.print(counts)
    pipeline = Table(title="Open pipeline by stage (EUR)")
    for column in ("Stage", "Deals", "Amount", "Weighted"):
        pipeline.add_column(column, justify="left" if column == "Stage" else "right")
    amounts: Counter[str] = Counter()
    weighted: dict[str, Decimal] = {}
    deals_per_stage: Counter[str] = Counter()
    for batch in uow.deals.batches(where={"status": "open"}):
        for deal in batch:
            deals_per_stage[deal.stage] += 1
            if deal.amount is not None:
                amounts[deal.stage] += int(deal.amount.amount)
            if deal.weighted_amount is not None:
                weighted[deal.stage] = weighted.get(deal.stage, Decimal(0)) + (
                    deal.weighted_amount.amount
                )
    for stage, _, _ in STAGES:
        pipeline.add_row(
            stage,
            str(deals_per_stage[stage]),
            f"{amounts[stage]:,}",
            f"{weighted.get(stage, Decimal(0)):,.0f}",
        )
    console.print(pipeline)


@click.command()
@database_option
@now_option
@click.option("--seed", default=2026, show_default=True, help="Seed of the sample.")
@reports_errors
def demo(db: str | None, at: datetime | None, seed: int) -> None:
    """Fill a new database with a realistic sample CRM and print a summary."""
    now = resolve_at(at)
    database = open_database(db)
    database.upgrade(at=now)
    sample = build_sample(seed=seed, at=now)
    with database.unit_of_work() as uow:
        if uow.organizations.count() or uow.people.count():
            msg = (
                f"{database_target(db)} already holds data; "
                "give --db a new file to build the demo"
            )
            raise click.ClickException(msg)
        _store(uow, sample)
        uow.commit()
    console = Console()
    with database.unit_of_work(readonly=True) as uow:
        _summary(uow, console)
    console.print(f"Stored in {database_target(db)}")
