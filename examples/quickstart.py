"""
Quick start: a B2B sales team records an account, its contacts and a deal.

Shows validated values (emails, phones, money), a custom field schema, an update
that returns a domain event, consent, JSON round-trips, and a bad record whose
every error is reported at once.

Run it with ``python examples/quickstart.py``.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from crmkit import (
    CustomField,
    Deal,
    EmailAddress,
    EntitySchema,
    Money,
    Organization,
    Person,
    PhoneNumber,
    PostalAddress,
    Probability,
    ValidationError,
)
from crmkit.model import Channel, ConsentRecord, OrganizationRole
from crmkit.serialization import (
    create_from_dict,
    from_json,
    make_converter,
    to_json,
)


def main() -> None:
    """Build a small customer file and show what crmkit guarantees about it."""
    console = Console()
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    schema = EntitySchema(
        custom_fields=[
            CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
            CustomField(name="linkedin_followers", type="integer"),
        ],
        phone_region="FR",
    )

    acme = Organization.create(
        at=now,
        name="Acme Industrie SAS",
        employees=1200,
        annual_revenue=Money(Decimal(250000000), "EUR"),
        addresses=[
            PostalAddress(
                lines=["12 rue de la Paix"],
                postcode="75002",
                city="Paris",
                country="FR",
            )
        ],
    )
    claire = Person.create(
        at=now,
        salutation="Mme",
        first_name="Claire",
        last_name="Lefèvre",
        job_title="Directrice des achats",
        emails=[EmailAddress("Claire.Lefevre@Acme-Industrie.FR")],
        phones=[PhoneNumber.parse("06 12 34 56 78", region="FR")],
        roles=[OrganizationRole(organization_id=acme.id, is_primary=True)],
        consents=[
            ConsentRecord(
                channel="email", purpose="newsletter", status="granted", at=now
            )
        ],
        custom={"segment": "enterprise"},
        schema=schema,
    )
    deal = Deal.create(
        at=now,
        name="Acme: 200 licences",
        pipeline="b2b",
        stage="proposal",
        amount=Money(Decimal(48000), "EUR"),
        probability=Probability(0.6),
        organization_id=acme.id,
        contact_ids=[claire.id],
    )

    table = Table(title="Acme Industrie SAS")
    table.add_column("What")
    table.add_column("Value")
    table.add_row("Contact", claire.full_name)
    email, phone = claire.emails[0], claire.phones[0]
    table.add_row("Email (as typed)", email.display)
    table.add_row("Email (normalised)", email.normalized)
    table.add_row("Phone (E.164)", phone.e164)
    table.add_row("Phone (kind, international)", f"{phone.kind}, {phone.international}")
    table.add_row("Deal", f"{deal.amount}, stage {deal.stage}")
    table.add_row("Weighted", str(deal.weighted_amount))
    table.add_row(
        "Newsletter allowed", str(claire.may_contact(Channel.EMAIL, "newsletter", now))
    )
    console.print(table)

    promoted, event = claire.update(
        {"job_title": "Directrice générale"}, at=now + timedelta(days=30)
    )
    console.print(f"Version {promoted.version}; changes: {event.changes}")

    converter = make_converter(schemas={Person: schema}, phone_region="FR")
    text = to_json(promoted, converter=converter)
    same = from_json(Person, text, converter=converter) == promoted
    console.print(f"JSON round-trip gives an equal person: {same}")

    web_form = {
        "first_name": "Paul",
        "emails": ["paul.martin@exemple.fr", "paul@@exemple.fr"],
        "phones": ["06 12"],
        "birth_date": "1985-02-30",
        "custom": {"segment": "mid-market"},
    }
    try:
        create_from_dict(Person, web_form, at=now, converter=converter)
    except ValidationError as error:
        console.print(f"Refused, every problem at once:\n{error}", markup=False)


if __name__ == "__main__":
    main()
