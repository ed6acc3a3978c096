"""
Build, validate and serialise people: crmkit against idiomatic pydantic v2.

Both sides read the same plain rows (see ``_data.py``: one email, one phone, one
address, tags, ISO 8601 timestamps with offsets), validate them with the same
libraries (email-validator without deliverability checks, phonenumbers with the
default region FR, pycountry alpha-2 country codes) and write them back as JSON-ready
dicts:

- crmkit: ``from_dict(Person, row, converter=converter)`` then
  ``to_dict(person, converter=converter)``, with ``make_converter(phone_region="FR")``;
- pydantic: ``PydPerson.model_validate(row)`` then ``model_dump(mode="json")``.

Each phase is timed over all the rows with `time.perf_counter`, best of
``--repeat`` runs, the two libraries taking turns. Before timing, a sample of rows
goes through both sides and their outputs are compared (same normalised emails,
same E.164 phones, same fields), and a few bad rows must be refused by both.

crmkit caches the validation of email domains (a CRM's addresses share few
domains). That cache is emptied before each crmkit validation run, so every run
pays for each distinct domain once, as a fresh process importing the rows would.

Run from the repository root::

    .venv/bin/python benchmarks/bench_model.py [--records N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import os
import platform
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

import email_validator
import phonenumbers
import pycountry
from _data import DEFAULT_SEED, contacts
from phonenumbers import NumberParseException, PhoneNumberFormat
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.table import Table

from crmkit.errors import ValidationError as CrmValidationError
from crmkit.model import Channel, ConsentStatus, LegalBasis, Person
from crmkit.serialization import from_dict, make_converter, to_dict

Row = dict[str, Any]

# --------------------------------------------------------------------- pydantic --
# What a careful pydantic v2 user would write for the same person: the same fields
# and types, the same email, phone and country checks, the same invariants.

PHONE_REGION = "FR"
COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def _email(value: str) -> str:
    return email_validator.validate_email(value, check_deliverability=False).normalized


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except NumberParseException as error:
        raise ValueError(str(error)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PydAddress(_Model):
    lines: tuple[str, ...] = ()
    postcode: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None

    @field_validator("postcode")
    @classmethod
    def _upper_postcode(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return code


class PydRole(_Model):
    organization_id: UUID
    title: str | None = None
    department: str | None = None
    is_primary: bool = False
    started_on: date | None = None
    ended_on: date | None = None


class PydConsent(_Model):
    channel: Channel
    purpose: str
    status: ConsentStatus
    at: AwareDatetime
    source: str | None = None
    legal_basis: LegalBasis = LegalBasis.CONSENT


class PydPerson(_Model):
    id: UUID
    version: int = Field(default=1, ge=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    custom: dict[str, Any] = Field(default_factory=dict)
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[Email] = Field(default_factory=list)
    phones: list[Phone] = Field(default_factory=list)
    addresses: list[PydAddress] = Field(default_factory=list)
    urls: list[HttpUrl] = Field(default_factory=list)
    preferred_language: str | None = None
    preferred_channel: Channel | None = None
    birth_date: date | None = None
    job_title: str | None = None
    income_band: str | None = None
    interests: frozenset[str] = frozenset()
    preferences: dict[str, str] = Field(default_factory=dict)
    roles: list[PydRole] = Field(default_factory=list)
    lifecycle_stage: str | None = None
    tags: frozenset[str] = frozenset()
    owner_id: UUID | None = None
    source: str | None = None
    consents: list[PydConsent] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _invariants(self) -> Self:
        if self.updated_at < self.created_at:
            raise ValueError("updated_at is before created_at")
        if not (self.first_name or self.last_name or self.emails or self.phones):
            raise ValueError("a person needs a name, an email or a phone")
        if self.roles:
            if sum(role.is_primary for role in self.roles) != 1:
                raise ValueError("exactly one role must be primary")
            if len({role.organization_id for role in self.roles}) != len(self.roles):
                raise ValueError("the person has two roles in one organisation")
        return self


# ----------------------------------------------------------------------- sides --


@dataclass
class Side:
    """One library's way of reading rows and writing them back."""

    name: str
    validate: Callable[[list[Row]], list[Any]]
    serialise: Callable[[list[Any]], list[Row]]
    refuses: type[Exception]
    before_validate: Callable[[], None] = lambda: None
    validate_times: list[float] = field(default_factory=list)
    serialise_times: list[float] = field(default_factory=list)

    def one(self, row: Row) -> Row:
        return self.serialise(self.validate([row]))[0]


def _email_domain_cache() -> Any:
    """crmkit's cached email domain check, if it still has one (a private detail)."""
    module = importlib.import_module("crmkit.values._email")
    cached = getattr(module, "_validated_domain", None)
    return cached if hasattr(cached, "cache_clear") else None


def crmkit_side() -> Side:
    converter = make_converter(phone_region=PHONE_REGION)

    def validate(rows: list[Row]) -> list[Person]:
        return [from_dict(Person, row, converter=converter) for row in rows]

    def serialise(people: list[Person]) -> list[Row]:
        return [to_dict(person, converter=converter) for person in people]

    cache = _email_domain_cache()
    return Side(
        "crmkit",
        validate,
        serialise,
        CrmValidationError,
        before_validate=cache.cache_clear if cache else lambda: None,
    )


def pydantic_side() -> Side:
    validate_one = PydPerson.model_validate

    def validate(rows: list[Row]) -> list[PydPerson]:
        return [validate_one(row) for row in rows]

    def serialise(people: list[PydPerson]) -> list[Row]:
        return [person.model_dump(mode="json") for person in people]

    return Side("pydantic", validate, serialise, PydanticValidationError)


# -------------------------------------------------------------------- honesty --


def _same_instant(a: str, b: str) -> bool:
    # crmkit stores instants in UTC; pydantic keeps the offset it was given.
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def _differences(ours: Row, theirs: Row) -> Iterator[str]:
    if ours.keys() != theirs.keys():
        yield f"fields differ: {sorted(ours.keys() ^ theirs.keys())}"
        return
    for key, value in ours.items():
        other = theirs[key]
        if key in ("created_at", "updated_at"):
            same = _same_instant(value, other)
        elif key in ("tags", "interests"):
            same = sorted(value) == sorted(other)
        else:
            same = value == other
        if not same:
            yield f"{key}: crmkit {value!r} != pydantic {other!r}"


def check_agreement(rows: list[Row], crm: Side, pyd: Side, sample: int) -> int:
    """Both sides must write the same data for a sample of rows; return its size."""
    picked = random.Random(DEFAULT_SEED).sample(rows, min(sample, len(rows)))
    problems = []
    for row in picked:
        problems += [
            f"{row['id']}: {d}" for d in _differences(crm.one(row), pyd.one(row))
        ]
    if problems:
        sys.exit("crmkit and pydantic disagree:\n  " + "\n  ".join(problems[:20]))
    return len(picked)


def _bad_rows(row: Row) -> Iterator[tuple[str, Row]]:
    address = row["addresses"][0]
    yield "email syntax", {**row, "emails": ["jean.dupont@@exemple.fr"]}
    yield "email domain", {**row, "emails": ["jean.dupont@exemple..fr"]}
    yield "phone too short", {**row, "phones": ["06 12 34"]}
    yield "phone not valid", {**row, "phones": ["+33 0 12 34 56 78"]}
    yield "country", {**row, "addresses": [{**address, "country": "XX"}]}
    yield "naive datetime", {**row, "created_at": "2024-01-01T10:00:00"}
    yield "time order", {**row, "updated_at": "2000-01-01T00:00:00+00:00"}
    yield "unknown field", {**row, "nickname": "Jeannot"}


def check_refusals(row: Row, sides: list[Side]) -> int:
    """Both sides must refuse the same bad rows; return how many were tried."""
    bad = list(_bad_rows(row))
    for what, data in bad:
        for side in sides:
            try:
                side.validate([data])
            except side.refuses:
                continue
            sys.exit(f"{side.name} accepted a bad row ({what})")
    return len(bad)


# ---------------------------------------------------------------------- timing --


def _timed(run: Callable[[Any], Any], data: Any) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = run(data)
    return time.perf_counter() - start, result


def measure(rows: list[Row], sides: list[Side], repeat: int) -> None:
    for round_ in range(repeat):
        # Take turns, so neither side always runs on a warmer (or fuller) process.
        for side in sides if round_ % 2 == 0 else sides[::-1]:
            side.before_validate()
            seconds, built = _timed(side.validate, rows)
            side.validate_times.append(seconds)
            seconds, written = _timed(side.serialise, built)
            side.serialise_times.append(seconds)
            del built, written


# --------------------------------------------------------------------- report --


def _versions() -> str:
    names = ("pydantic", "pydantic-core", "cattrs", "attrs", "email-validator")
    names += ("phonenumbers", "pycountry")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:  # noqa: PTH123
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def report(console: Console, sides: list[Side], records: int, repeat: int) -> None:
    crm, pyd = sides

    def best(side: Side) -> tuple[float, float, float]:
        totals = map(sum, zip(side.validate_times, side.serialise_times, strict=True))
        return min(side.validate_times), min(side.serialise_times), min(totals)

    table = Table(title=f"bench_model: {records:,} people, best of {repeat}")
    table.add_column("phase")
    table.add_column("crmkit µs/record", justify="right")
    table.add_column("pydantic µs/record", justify="right")
    table.add_column("crmkit/pydantic", justify="right")
    ratios = {}
    for phase, ours, theirs in zip(
        ("validate", "serialise", "total"), best(crm), best(pyd), strict=True
    ):
        ratios[phase] = ours / theirs
        table.add_row(
            phase,
            f"{ours / records * 1e6:.2f}",
            f"{theirs / records * 1e6:.2f}",
            f"{ratios[phase]:.2f}",
        )
    console.print(table)
    verdict = "met" if ratios["total"] <= 1.0 else "NOT met"
    console.print(
        f"Target crmkit/pydantic <= 1.00 (total): {verdict} "
        f"({ratios['total']:.2f}; below 1 means crmkit is faster)"
    )
    console.print(f"Peak RSS: {_peak_rss_mib():.0f} MiB (whole process, both sides)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--records", type=int, default=100_000, metavar="N")
    parser.add_argument("--repeat", type=int, default=3, metavar="R")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--sample", type=int, default=2_000, help="rows compared before timing"
    )
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeat < 1:
        parser.error("--records and --repeat must be at least 1")

    console = Console()
    console.print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"CPU {_cpu()}"
    )
    console.print(_versions())

    start = time.perf_counter()
    rows = contacts(args.records, seed=args.seed, phone_region=PHONE_REGION)
    domains = {row["emails"][0].rpartition("@")[2].lower() for row in rows}
    national = sum(not row["phones"][0].startswith("+") for row in rows)
    console.print(
        f"Data: {len(rows):,} rows (seed {args.seed}) in "
        f"{time.perf_counter() - start:.1f} s; {len(domains):,} distinct email "
        f"domains; {national / len(rows):.0%} of phones in national French form"
    )

    sides = [crmkit_side(), pydantic_side()]
    compared = check_agreement(rows, *sides, sample=args.sample)
    refused = check_refusals(rows[0], sides)
    console.print(
        f"Checked: {compared:,} sampled rows give the same output on both sides; "
        f"both refuse the same {refused} bad rows"
    )

    measure(rows, sides, args.repeat)
    cache = _email_domain_cache()
    if cache is not None:
        info = cache.cache_info()
        console.print(
            f"crmkit email domain cache, last run: {info.misses:,} misses, "
            f"{info.hits:,} hits (emptied before each crmkit validation run)"
        )
    report(console, sides, args.records, args.repeat)


if __name__ == "__main__":
    main()
