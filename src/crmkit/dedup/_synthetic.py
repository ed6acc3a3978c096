"""
Realistic French and English contacts with known duplicates, to measure dedup.

Each person has one to five records; the copies carry the changes people and
imports make: nicknames, typos, swapped names, dropped accents, upper case, titles,
initials, other phone formats, legal forms, street abbreviations, blanked fields,
another email. Hard negatives are built in: households (a phone, an address and
usually the last name shared by different people), colleagues (a company and its
email domain), and namesakes (the same first and last name, nothing else).
"""

from __future__ import annotations

import random
import tomllib
import unicodedata
from collections.abc import Callable
from typing import Final

import attrs

from crmkit.dedup._tables import data_text

__all__ = ["SyntheticContacts", "synthetic_contacts"]


_POOLS: Final = tomllib.loads(data_text("synthetic.toml"))
_FR_FIRST: Final[list[str]] = _POOLS["fr_first"]
_EN_FIRST: Final[list[str]] = _POOLS["en_first"]
_FR_LAST: Final[list[str]] = _POOLS["fr_last"]
_EN_LAST: Final[list[str]] = _POOLS["en_last"]
_COMPANY_WORDS: Final[list[str]] = _POOLS["company_words"]
_HALF: Final = 0.5
_FR_PLACES: Final = (
    ("Paris", "75001"),
    ("Paris", "75008"),
    ("Paris", "75011"),
    ("Paris", "75015"),
    ("Paris", "75017"),
    ("Lyon", "69003"),
    ("Lyon", "69007"),
    ("Marseille", "13008"),
    ("Toulouse", "31000"),
    ("Bordeaux", "33000"),
    ("Lille", "59000"),
    ("Nantes", "44000"),
    ("Strasbourg", "67000"),
    ("Rennes", "35000"),
    ("Grenoble", "38000"),
    ("Montpellier", "34000"),
    ("Nice", "06000"),
    ("Saint-Étienne", "42000"),
    ("Dijon", "21000"),
    ("Angers", "49000"),
    ("Bourg-en-Bresse", "01000"),
    ("Annecy", "74000"),
    ("Reims", "51100"),
)
_EN_PLACES: Final = (
    ("London", "SW1A 1AA"),
    ("London", "EC1A 1BB"),
    ("London", "N1 9GU"),
    ("Manchester", "M1 1AE"),
    ("Birmingham", "B1 1BB"),
    ("Leeds", "LS1 4AP"),
    ("Bristol", "BS1 4DJ"),
    ("Edinburgh", "EH1 1YZ"),
    ("Glasgow", "G1 1XQ"),
    ("Oxford", "OX1 2JD"),
    ("Cambridge", "CB2 1TN"),
    ("Liverpool", "L1 8JQ"),
)
_FR_STREETS: Final = (
    ("rue", "de la Paix"),
    ("rue", "Victor Hugo"),
    ("avenue", "Jean Jaurès"),
    ("boulevard", "Saint-Michel"),
    ("rue", "de la République"),
    ("place", "Bellecour"),
    ("avenue", "des Champs-Élysées"),
    ("rue", "Pasteur"),
    ("chemin", "des Vignes"),
    ("impasse", "des Lilas"),
    ("allée", "des Tilleuls"),
    ("boulevard", "Gambetta"),
    ("rue", "du Moulin"),
    ("route", "de Lyon"),
    ("quai", "de la Loire"),
    ("rue", "Nationale"),
    ("avenue", "de la Gare"),
    ("rue", "Saint-Jacques"),
)
_EN_STREETS: Final = (
    ("High", "Street"),
    ("Station", "Road"),
    ("Church", "Lane"),
    ("Park", "Avenue"),
    ("Victoria", "Road"),
    ("Green", "Lane"),
    ("Manor", "Drive"),
    ("King", "Street"),
    ("Queens", "Road"),
    ("Mill", "Lane"),
    ("Kingsway", "Court"),
    ("Albert", "Terrace"),
)
_ABBREVIATIONS: Final = {
    "rue": "r.",
    "avenue": "av.",
    "boulevard": "bd",
    "place": "pl.",
    "chemin": "ch.",
    "impasse": "imp.",
    "allée": "all.",
    "route": "rte",
    "quai": "q.",
    "Street": "St",
    "Road": "Rd",
    "Lane": "Ln",
    "Avenue": "Ave",
    "Drive": "Dr",
    "Court": "Ct",
    "Terrace": "Terr",
}

_COMPANY_TAILS: Final = (
    "Conseil",
    "Industries",
    "Solutions",
    "Systems",
    "Logistique",
    "Services",
    "Technologies",
    "Partners",
    "Distribution",
    "Bâtiment",
    "et Fils",
    "& Co",
)
_FR_FORMS: Final = ("SA", "SARL", "SAS", "S.A.S.", "S.A.R.L.", "EURL", "")
_EN_FORMS: Final = ("Ltd", "Ltd.", "Limited", "plc", "Inc.", "LLC", "")
_FR_MAIL: Final = (
    "gmail.com",
    "orange.fr",
    "free.fr",
    "hotmail.fr",
    "laposte.net",
    "yahoo.fr",
    "sfr.fr",
)
_EN_MAIL: Final = (
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
)
_NICKNAMES: Final = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Richard": ("Rick", "Dick", "Rich"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike", "Mick"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Andrew": ("Andy", "Drew"),
    "Steven": ("Steve",),
    "Kenneth": ("Ken",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Timothy": ("Tim",),
    "Jonathan": ("Jon",),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Alexander": ("Alex",),
    "Peter": ("Pete",),
    "Patricia": ("Pat", "Patty"),
    "Jennifer": ("Jen", "Jenny"),
    "Elizabeth": ("Liz", "Beth", "Betty"),
    "Barbara": ("Barb",),
    "Susan": ("Sue", "Susie"),
    "Jessica": ("Jess",),
    "Margaret": ("Maggie", "Peggy"),
    "Katherine": ("Kate", "Kathy"),
    "Rebecca": ("Becky",),
    "Deborah": ("Debbie",),
    "Dorothy": ("Dot",),
    "Victoria": ("Vicky",),
    "Abigail": ("Abby",),
    "Samantha": ("Sam",),
    "Jean-Pierre": ("JP",),
    "Jean-Luc": ("JL",),
    "Jean-Marc": ("JM",),
    "Jean-François": ("JF",),
    "Nicolas": ("Nico",),
    "Frédéric": ("Fred",),
    "Sébastien": ("Seb",),
    "Stéphane": ("Steph",),
    "Emmanuel": ("Manu",),
    "Christophe": ("Chris",),
    "Alexandre": ("Alex",),
    "Maxime": ("Max",),
    "Mathieu": ("Matt",),
    "Catherine": ("Cathy",),
    "Nathalie": ("Nath",),
    "Isabelle": ("Isa",),
    "Stéphanie": ("Steph",),
    "Élisabeth": ("Babette",),
    "Valérie": ("Val",),
    "Anne-Sophie": ("AS",),
    "Caroline": ("Caro",),
    "Guillaume": ("Will",),
    "François": ("Franck",),
}


@attrs.frozen
class SyntheticContacts:
    """
    Generated records and, for each record id, the person it denotes.

    Attributes:
        records: Rows with ``id``, ``first_name`` ... ``country`` (text, maybe blank).
        truth: Record id -> the id of the true person.

    .. versionadded:: 0.1
    """

    records: tuple[dict[str, str], ...]
    truth: dict[str, str]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _slug(text: str) -> str:
    return "".join(c for c in _strip_accents(text).lower() if c.isalnum() or c == "-")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self.emails: set[str] = set()

    def phone(self, french: bool, mobile: bool = True) -> str:
        r = self.rng
        if french:
            head = r.choice("67") if mobile else r.choice("12345")
            return "+33" + head + "".join(r.choice("0123456789") for _ in range(8))
        head = (
            "7" + r.choice("1234579")
            if mobile
            else r.choice(["20", "121", "161", "113"])
        )
        rest = 10 - len(head)
        return "+44" + head + "".join(r.choice("0123456789") for _ in range(rest))

    def company(self, french: bool) -> tuple[str, str, str]:
        r = self.rng
        name = r.choice(_COMPANY_WORDS)
        if r.random() < 0.6:  # noqa: PLR2004 (share of two-word names)
            name = f"{name} {r.choice(_COMPANY_TAILS)}"
        form = r.choice(_FR_FORMS if french else _EN_FORMS)
        domain = _slug(name.replace(" ", "").replace("&", "")) + (
            ".fr" if french else ".co.uk"
        )
        return name, form, domain

    def address(self, french: bool) -> tuple[str, str, str, str]:
        r = self.rng
        city, code = r.choice(_FR_PLACES if french else _EN_PLACES)
        if french:
            kind, name = r.choice(_FR_STREETS)
            street = f"{r.randint(1, 150)} {kind} {name}"
        else:
            name, kind = r.choice(_EN_STREETS)
            street = f"{r.randint(1, 250)} {name} {kind}"
        return street, city, code, "FR" if french else "GB"

    def person(
        self, french: bool, company: tuple[str, str, str] | None
    ) -> dict[str, str]:
        r = self.rng
        first = r.choice(_FR_FIRST if french else _EN_FIRST)
        last = r.choice(_FR_LAST if french else _EN_LAST).replace(
            "-", " " if r.random() < _HALF else "-"
        )
        street, city, code, country = self.address(french)
        local = r.choice(
            [
                f"{_slug(first)}.{_slug(last)}",
                f"{_slug(first)[0]}{_slug(last)}",
                f"{_slug(first)}{_slug(last)}{r.randint(1, 99)}",
            ]
        ).replace(" ", "")
        if company is not None:
            name, form, domain = company
            firm = f"{name} {form}".strip()
        else:
            domain = r.choice(_FR_MAIL if french else _EN_MAIL)
            firm = ""
        return {
            "first_name": first,
            "last_name": last,
            "email": self.unused_email(local, domain),
            "phone": self.phone(french),
            "company": firm,
            "street": street,
            "city": city,
            "postal_code": code,
            "country": country,
        }

    def unused_email(self, local: str, domain: str) -> str:
        """
        An address nobody has yet: a taken one gets a number, as providers ask.

        Two people never share an address (namesakes at one provider, a large
        set drawing its names from short lists, included).
        """
        email = f"{local}@{domain}"
        while email in self.emails:
            email = f"{local}{self.rng.randint(2, 999)}@{domain}"
        self.emails.add(email)
        return email

    # Changes a copy of a record may carry.

    def typo(self, text: str) -> str:
        r = self.rng
        if len(text) < 4:  # noqa: PLR2004 (too short to mistype safely)
            return text
        i = r.randrange(1, len(text) - 1)
        kind = r.randrange(4)
        if kind == 0:
            return text[:i] + text[i + 1 :]
        if kind == 1:
            return text[:i] + r.choice("aeioulnrst") + text[i:]
        if kind == 2:  # noqa: PLR2004 (transposition)
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text[:i] + r.choice("aeioulnrst") + text[i + 1 :]

    def vary(self, record: dict[str, str]) -> dict[str, str]:
        r = self.rng
        out = dict(record)
        changes: list[Callable[[dict[str, str]], None]] = [
            self._nickname,
            self._typo_name,
            self._swap,
            self._accents_case,
            self._phone_format,
            self._legal_form,
            self._street_abbreviation,
            self._blank,
            self._blank,
            self._email_variant,
            self._title,
            self._initial,
            self._typo_street,
        ]
        for change in r.sample(changes, r.randint(1, 4)):
            change(out)
        return out

    def _nickname(self, record: dict[str, str]) -> None:
        variants = _NICKNAMES.get(record["first_name"])
        if variants:
            record["first_name"] = self.rng.choice(variants)

    def _typo_name(self, record: dict[str, str]) -> None:
        field = self.rng.choice(["first_name", "last_name", "last_name"])
        record[field] = self.typo(record[field])

    def _typo_street(self, record: dict[str, str]) -> None:
        record["street"] = self.typo(record["street"])

    def _swap(self, record: dict[str, str]) -> None:
        record["first_name"], record["last_name"] = (
            record["last_name"],
            record["first_name"],
        )

    def _accents_case(self, record: dict[str, str]) -> None:
        r = self.rng
        for field in ("first_name", "last_name", "city", "street", "company"):
            value = _strip_accents(record[field])
            record[field] = value.upper() if r.random() < _HALF else value

    def _phone_format(self, record: dict[str, str]) -> None:
        number = record["phone"]
        if number.startswith("+33"):
            digits = "0" + number[3:]
            spaced = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
            record["phone"] = self.rng.choice(
                [digits, spaced, spaced.replace(" ", "."), "+33 " + spaced[1:]]
            )
        elif number.startswith("+44"):
            national = "0" + number[3:]
            record["phone"] = self.rng.choice(
                [national, f"{national[:5]} {national[5:]}", "+44 " + number[3:]]
            )

    def _legal_form(self, record: dict[str, str]) -> None:
        if record["company"]:
            words = record["company"].split()
            base = " ".join(
                w
                for w in words
                if w.replace(".", "")
                not in {
                    "SA",
                    "SARL",
                    "SAS",
                    "EURL",
                    "Ltd",
                    "Limited",
                    "plc",
                    "Inc",
                    "LLC",
                }
            )
            form = self.rng.choice(_FR_FORMS + _EN_FORMS[:2])
            record["company"] = f"{base} {form}".strip().replace(
                "&", "et" if self.rng.random() < _HALF else "&"
            )

    def _street_abbreviation(self, record: dict[str, str]) -> None:
        record["street"] = " ".join(
            _ABBREVIATIONS.get(w, w) for w in record["street"].split()
        )

    def _blank(self, record: dict[str, str]) -> None:
        field = self.rng.choice(
            [
                "email",
                "phone",
                "company",
                "street",
                "city",
                "postal_code",
                "email",
                "phone",
            ]
        )
        record[field] = ""

    def _email_variant(self, record: dict[str, str]) -> None:
        r = self.rng
        local, _, domain = record["email"].partition("@")
        if not domain:
            return
        choice = r.randrange(3)
        if choice == 0:
            record["email"] = (
                record["email"].upper()
                if r.random() < _HALF
                else record["email"].capitalize()
            )
        elif choice == 1 and domain == "gmail.com":
            record["email"] = f"{local}+{r.choice(['news', 'crm', 'shop'])}@{domain}"
        else:
            record["email"] = f"{self.typo(local)}@{domain}"

    def _title(self, record: dict[str, str]) -> None:
        titles = ["M.", "Mme", "Dr", "Mr", "Mrs", "Ms"]
        record["first_name"] = f"{self.rng.choice(titles)} {record['first_name']}"

    def _initial(self, record: dict[str, str]) -> None:
        if record["first_name"]:
            record["first_name"] = record["first_name"][0] + "."


def synthetic_contacts(
    size: int, *, seed: int = 0, french_share: float = 0.6
) -> SyntheticContacts:
    """
    About ``size`` records of French and English contacts with known duplicates.

    About 55% of people have a single record, the others two to five; 15% live in
    households, most work in companies with colleagues, and 3% have a namesake.
    Two people never share an email address.

    >>> data = synthetic_contacts(200, seed=1)
    >>> len(data.records), len(set(data.truth.values())) < 200
    (200, True)

    Args:
        size: The number of records.
        seed: The same seed gives the same records.
        french_share: The share of French people (the others are British).
    """
    gen = _Generator(seed)
    r = gen.rng
    records: list[dict[str, str]] = []
    truth: dict[str, str] = {}
    companies: list[tuple[bool, tuple[str, str, str]]] = []
    people = 0
    while len(records) < size:
        french = r.random() < french_share
        people += 1
        base = _base_person(gen, french, companies, records)
        person_id = f"p{people}"
        copies = r.choices([1, 2, 3, 4, 5], weights=[55, 27, 11, 5, 2])[0]
        for copy in range(min(copies, size - len(records))):
            record = base if copy == 0 else gen.vary(base)
            record_id = f"r{len(records) + 1}"
            records.append({"id": record_id, **record})
            truth[record_id] = person_id
    order = list(range(len(records)))
    r.shuffle(order)
    return SyntheticContacts(tuple(records[i] for i in order), truth)


def _base_person(
    gen: _Generator,
    french: bool,
    companies: list[tuple[bool, tuple[str, str, str]]],
    records: list[dict[str, str]],
) -> dict[str, str]:
    r = gen.rng
    company = None
    if r.random() < 0.6:  # noqa: PLR2004 (share employed in a known company)
        same_country = [c for f, c in companies[-50:] if f == french]
        if same_country and r.random() < 0.7:  # noqa: PLR2004 (colleagues)
            company = r.choice(same_country)
        else:
            company = gen.company(french)
            companies.append((french, company))
    person = gen.person(french, company)
    if records and r.random() < 0.15:  # noqa: PLR2004 (households)
        home = r.choice(records[-200:])
        if home["country"] == person["country"]:
            for field in ("phone", "street", "city", "postal_code"):
                person[field] = home[field]
            if r.random() < 0.8:  # noqa: PLR2004 (most share the last name)
                person["last_name"] = home["last_name"]
            home_first = _strip_accents(home["first_name"]).lower()
            while _strip_accents(person["first_name"]).lower() == home_first:
                # Two people of one household do not share a first name.
                person["first_name"] = r.choice(_FR_FIRST if french else _EN_FIRST)
            local, _, domain = person["email"].partition("@")
            if local == home["email"].partition("@")[0]:
                person["email"] = gen.unused_email("x" + local, domain)
    elif records and r.random() < 0.035:  # noqa: PLR2004 (namesakes)
        twin = r.choice(records)
        person["first_name"], person["last_name"] = (
            twin["first_name"],
            twin["last_name"],
        )
    return person
