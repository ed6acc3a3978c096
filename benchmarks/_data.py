"""
Seeded, realistic French/English contact rows for the benchmarks.

Each row looks like a stored person as an API or a database export hands it over:
plain JSON-ready values only (strings, ints, lists, dicts), one email, one phone,
one postal address, a job title and a few tags::

    {
        "id": "0194...",  # UUIDv7 text, from crmkit.ids.new_id(created_at)
        "version": 3,
        "created_at": "2023-04-12T09:41:07+02:00",
        "updated_at": "2024-01-30T16:02:55+01:00",
        "first_name": "Hélène",
        "last_name": "Lefèvre",
        "emails": ["helene.lefevre@orange.fr"],
        "phones": ["06 12 34 56 78"],
        "job_title": "Directrice commerciale",
        "addresses": [
            {
                "lines": ["12 rue de la Paix"],
                "postcode": "75002",
                "city": "Paris",
                "country": "FR",
            }
        ],
        "tags": ["client", "vip"],
    }

The mix is meant to look like a European B2B/B2C CRM:

- countries: France 60 %, Belgium 15 %, United Kingdom 15 %, Switzerland 10 %;
  names, cities, postcodes, phone numbers and time zones follow the country;
- emails: about 55 % at common providers (gmail.com, orange.fr, skynet.be...),
  40 % at company domains shared by many contacts (a few big accounts and a long
  tail), 5 % at domains seen once; some are typed with capitals;
- phones: valid numbers (checked with phonenumbers while generating) in the
  country's national format, with the usual French variants (dots, no spaces),
  or in international form. A national number only makes sense with a default
  region, so numbers are written nationally only for ``phone_region``'s country
  (``None``: every country, the region then being the address's country); the
  others are written ``+E.164`` or ``+33 6 12 34 56 78``.

Everything is drawn from one `random.Random(seed)`, so the same seed gives the same
rows, except the random tail of each UUIDv7 id, which `crmkit.ids.new_id` takes
from the operating system (its timestamp part is seeded).
"""

from __future__ import annotations

import functools
import itertools
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberFormat

from crmkit.ids import new_id

__all__ = ["DEFAULT_SEED", "contacts"]

DEFAULT_SEED = 20261122

COUNTRIES = ("FR", "BE", "GB", "CH")
COUNTRY_WEIGHTS = (60, 15, 15, 10)

_FR_FIRST = (
    "Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Camille", "Julien", "Claire",
    "Thomas", "Léa", "Hélène", "Zoé", "Chloé", "Jérôme", "François", "Agnès",
    "Cécile", "Noémie", "Anaïs", "Gaël", "Loïc", "Raphaël", "Benoît", "Clément",
    "Frédéric", "Stéphane", "Amélie", "Thérèse", "Maëlle", "Inès", "Joël", "René",
    "André", "Timothée", "Jean-Baptiste", "Marie-Claire", "Anne-Sophie", "Éric",
    "Élodie", "Sébastien", "Aurélie", "Mathieu", "Émilie", "Valérie", "Olivier",
    "Nathalie", "Laurent", "Isabelle", "Christophe", "Sandrine", "Guillaume",
    "Manon", "Lucas", "Hugo", "Louise", "Margaux", "Océane", "Gérard", "Josée",
    "Ségolène",
)  # fmt: skip
_FR_LAST = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Lefebvre", "Michel", "Garcia",
    "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André",
    "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Legrand", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guérin", "Boucher", "Gauthier", "Chevalier",
    "Perrin", "Lemaître", "Benoît", "Barbier", "Fontaine", "Ménard", "Béranger",
    "Lécuyer", "Desjardins", "Le Goff", "Le Gall", "de La Tour", "Séguin",
    "Châtelain", "Noël", "Lévêque", "Crémieux", "Bézier", "Nguyen", "Da Silva",
    "Rémy", "Hébert",
)  # fmt: skip
_BE_LAST = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes",
    "Goossens", "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Van den Berg",
    "Lejeune", "Renard",
)  # fmt: skip
_CH_LAST = (
    "Müller", "Meier", "Schmid", "Keller", "Weber", "Favre", "Rochat", "Bonvin",
    "Perret", "Gerber", "Zürcher", "Brügger", "Python", "Monnier",
)  # fmt: skip
_GB_FIRST = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Emily", "Jack", "Sophie",
    "Charlotte", "James", "William", "Olivia", "Thomas", "Grace", "Freddie",
    "Chloë", "Siân", "Niamh", "Seán", "Eóin", "Rhys", "Hannah", "Matthew", "Lucy",
    "Daniel", "Eleanor", "Samuel", "Zoë", "Benjamin", "Imogen",
)  # fmt: skip
_GB_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Evans", "Thomas", "Roberts", "Walker", "Wright", "Thompson", "White", "Hughes",
    "Edwards", "Green", "Hall", "Wood", "Harris", "Clarke", "O'Brien", "O'Neill",
    "McDonald", "Patel", "Khan", "Lewis", "Jackson", "Turner",
)  # fmt: skip

_JOB_TITLES = (
    "Directeur commercial", "Directrice commerciale", "Responsable achats",
    "Chef de projet", "Chargée de clientèle", "Ingénieur d'affaires",
    "Directeur général", "Présidente", "Gérant", "Assistante de direction",
    "Responsable marketing", "Comptable", "Directeur financier", "DSI",
    "Responsable RH", "Technicien de maintenance", "Acheteuse", "Consultant",
    "Office manager", "Sales Director", "Account Manager", "Head of Procurement",
    "Chief Executive Officer", "Operations Manager", "Marketing Lead",
    "Finance Director", "IT Manager", "Customer Success Manager", "Founder",
    "Project Manager",
)  # fmt: skip

_TAGS = (
    "client", "prospect", "vip", "newsletter", "partenaire", "revendeur", "b2b",
    "b2c", "relance", "webinar-2025", "salon-vivatech", "grand-compte", "pme",
    "export", "ancien-client", "fidélité", "event-2024", "churn-risk", "upsell",
    "onboarding",
)  # fmt: skip

_PROVIDERS = {
    "FR": (
        ("gmail.com", 30), ("orange.fr", 14), ("hotmail.fr", 10), ("yahoo.fr", 8),
        ("free.fr", 8), ("wanadoo.fr", 5), ("laposte.net", 5), ("sfr.fr", 4),
        ("outlook.fr", 4), ("icloud.com", 4), ("live.fr", 3), ("gmx.fr", 2),
        ("proton.me", 1), ("bbox.fr", 1), ("neuf.fr", 1),
    ),
    "BE": (
        ("gmail.com", 35), ("skynet.be", 15), ("telenet.be", 15), ("hotmail.com", 10),
        ("outlook.be", 8), ("yahoo.fr", 5), ("proximus.be", 5), ("icloud.com", 4),
        ("voo.be", 3),
    ),
    "CH": (
        ("gmail.com", 30), ("bluewin.ch", 25), ("gmx.ch", 10), ("hotmail.com", 8),
        ("sunrise.ch", 7), ("hispeed.ch", 6), ("outlook.com", 6), ("icloud.com", 5),
        ("proton.me", 3),
    ),
    "GB": (
        ("gmail.com", 35), ("hotmail.co.uk", 14), ("yahoo.co.uk", 10),
        ("btinternet.com", 10), ("outlook.com", 10), ("icloud.com", 7), ("sky.com", 6),
        ("live.co.uk", 4), ("aol.com", 2), ("virginmedia.com", 2),
    ),
}  # fmt: skip

_COMPANY_WORDS = (
    "acme", "atlantique", "boulangerie", "batiment", "conseil", "technologies",
    "industrie", "logistique", "transports", "immobilier", "solutions", "groupe",
    "energie", "services", "distribution", "medical", "numerique", "agro", "bois",
    "metal", "optique", "pharma", "textile", "vins", "alpes", "bretagne", "provence",
    "normandie", "lorraine", "azur", "nord", "ouest", "lumiere", "horizon", "avenir",
    "digital", "data", "cloud", "systems", "partners", "consulting", "global",
    "capital", "studio", "labs", "foods", "engineering", "crêperie", "château",
    "société", "énergies", "dupont", "martin", "lefebvre", "moreau", "peeters",
    "keller", "smith", "taylor", "wright",
)  # fmt: skip
_COMPANY_TLDS = {
    "FR": (("fr", 70), ("com", 25), ("eu", 5)),
    "BE": (("be", 70), ("com", 20), ("eu", 10)),
    "CH": (("ch", 75), ("com", 20), ("swiss", 5)),
    "GB": (("co.uk", 60), ("com", 35), ("uk", 5)),
}

# (city, street lines in the local style, postcode maker); postcodes follow the city.
_STREETS_FR = (
    "rue de la Paix", "avenue Jean Jaurès", "boulevard Haussmann", "place Bellecour",
    "allée des Tilleuls", "chemin des Vignes", "rue Victor Hugo", "rue de l'Église",
    "quai des Chartrons", "rue du Général de Gaulle", "impasse des Lilas",
    "cours Mirabeau", "rue Sainte-Catherine", "avenue de la République",
)  # fmt: skip
_STREETS_BE = (
    "Rue de la Loi", "Avenue Louise", "Chaussée de Waterloo", "Meir", "Veldstraat",
    "Rue Neuve", "Boulevard d'Avroy", "Kouter", "Rue de Fer",
)  # fmt: skip
_STREETS_CH = (
    "Rue du Rhône", "Bahnhofstrasse", "Avenue de la Gare", "Rue de Lausanne",
    "Marktgasse", "Freie Strasse", "Grand-Rue", "Limmatquai", "Place Saint-François",
)  # fmt: skip
_STREETS_GB = (
    "High Street", "Station Road", "Baker Street", "Victoria Road", "Church Lane",
    "Park Avenue", "King Street", "Queen's Road", "Mill Lane", "Oxford Street",
)  # fmt: skip
_SECOND_LINES = {
    "FR": ("Bâtiment B", "3e étage", "BP 42", "Résidence Les Pins", "ZI des Écluses"),
    "BE": ("Boîte 3", "2e étage", "Bus 12"),
    "CH": ("Case postale 512", "2e étage", "c/o Fiduciaire Rochat"),
    "GB": ("Flat 3", "Unit 12", "Suite 400", "The Old Mill"),
}

_CITIES_FR = (
    ("Paris", tuple(f"750{n:02d}" for n in range(1, 21))),
    ("Lyon", tuple(f"6900{n}" for n in range(1, 10))),
    ("Marseille", tuple(f"130{n:02d}" for n in range(1, 17))),
    ("Toulouse", ("31000", "31100", "31200", "31300", "31400", "31500")),
    ("Nantes", ("44000", "44100", "44200", "44300")),
    ("Bordeaux", ("33000", "33100", "33200", "33300", "33800")),
    ("Lille", ("59000", "59160", "59260", "59777", "59800")),
    ("Strasbourg", ("67000", "67100", "67200")),
    ("Rennes", ("35000", "35200", "35700")),
    ("Montpellier", ("34000", "34070", "34080", "34090")),
    ("Nice", ("06000", "06100", "06200", "06300")),
    ("Grenoble", ("38000", "38100")),
    ("Saint-Étienne", ("42000", "42100")),
    ("Besançon", ("25000",)),
    ("Orléans", ("45000", "45100")),
)
_CITIES_BE = (
    ("Bruxelles", "1000"), ("Liège", "4000"), ("Namur", "5000"), ("Gent", "9000"),
    ("Antwerpen", "2000"), ("Charleroi", "6000"), ("Mons", "7000"),
)  # fmt: skip
_CITIES_CH = (
    ("Genève", "1204"), ("Lausanne", "1003"), ("Zürich", "8001"), ("Bern", "3011"),
    ("Basel", "4051"), ("Neuchâtel", "2000"), ("Fribourg", "1700"),
)  # fmt: skip
_CITIES_GB = (
    ("London", ("SW1A", "EC1A", "W1D", "N1", "E14", "SE1", "WC2N")),
    ("Manchester", ("M1", "M4", "M15")),
    ("Edinburgh", ("EH1", "EH3")),
    ("Bristol", ("BS1", "BS8")),
    ("Birmingham", ("B1", "B3")),
    ("Leeds", ("LS1", "LS6")),
)  # fmt: skip
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# National significant number patterns (``#`` is a random digit) per country,
# with weights; numbers are redrawn until phonenumbers calls them valid.
_PHONE_PATTERNS = {
    "FR": (
        ("6########", 45), ("7########", 15), ("1########", 12), ("2########", 6),
        ("3########", 6), ("4########", 7), ("5########", 5), ("9########", 4),
    ),
    "BE": (("47#######", 25), ("48#######", 20), ("49#######", 20), ("2#######", 20),
           ("3#######", 8), ("9#######", 7)),
    "CH": (("79#######", 25), ("78#######", 15), ("76#######", 15), ("44#######", 15),
           ("22#######", 12), ("21#######", 8), ("31#######", 10)),
    "GB": (("7#########", 55), ("20########", 25), ("161#######", 7),
           ("131#######", 5), ("117#######", 4), ("113#######", 4)),
}  # fmt: skip

_ZONES = {
    "FR": ZoneInfo("Europe/Paris"),
    "BE": ZoneInfo("Europe/Brussels"),
    "CH": ZoneInfo("Europe/Zurich"),
    "GB": ZoneInfo("Europe/London"),
}
_START = datetime(2019, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = int((datetime(2025, 10, 31, tzinfo=UTC) - _START).total_seconds())


def _ascii(text: str) -> str:
    """``"Hélène Le Goff"`` -> ``"helene le goff"``: what people put in addresses."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    """Pick the first item of one of ``(item, weight)`` pairs."""
    return rng.choices([item for item, _ in pairs], [w for _, w in pairs])[0]


@functools.cache
def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text) if c.isalnum() or c == "-")


class _Generator:
    """One seeded stream of contact rows; see the module docstring for the mix."""

    def __init__(self, seed: int, phone_region: str | None, companies: int) -> None:
        self.rng = random.Random(seed)
        self.phone_region = phone_region
        self.companies = self._companies(companies)
        # A few big accounts, a long tail of small ones (Zipf-like weights).
        self.company_weights = list(
            itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(companies))
        )

    def _companies(self, count: int) -> list[tuple[str, str]]:
        """``count`` distinct (country, domain) pairs; about 2 % keep accents (IDN)."""
        rng = self.rng
        seen: set[str] = set()
        companies = []
        while len(companies) < count:
            country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            words = rng.sample(_COMPANY_WORDS, rng.choice((1, 2, 2, 2, 3)))
            name = rng.choice(("-", "")).join(words)
            if rng.random() >= 0.02:
                name = _ascii(name)
            if rng.random() < 0.3:
                name += str(rng.randrange(2, 100))
            tld = _weighted(rng, _COMPANY_TLDS[country])
            domain = f"{name}.{tld}"
            if domain not in seen:
                seen.add(domain)
                companies.append((country, domain))
        return companies

    def _name(self, country: str) -> tuple[str, str]:
        rng = self.rng
        english = country == "GB" or rng.random() < 0.05
        first = rng.choice(_GB_FIRST if english else _FR_FIRST)
        if english:
            last = rng.choice(_GB_LAST)
        elif country == "BE" and rng.random() < 0.5:
            last = rng.choice(_BE_LAST)
        elif country == "CH" and rng.random() < 0.4:
            last = rng.choice(_CH_LAST)
        else:
            last = rng.choice(_FR_LAST)
        return first, last

    def _email(self, country: str, first: str, last: str) -> str:
        rng = self.rng
        f, n = _slug(first), _slug(last) or "contact"
        draw = rng.random()
        if draw < 0.55:
            domain = _weighted(rng, _PROVIDERS[country])
            local = rng.choice(
                (f"{f}.{n}", f"{f}{n}", f"{f}.{n}{rng.randrange(1, 99)}", f"{f[0]}{n}",
                 f"{n}.{f}", f"{f}_{n}", f"{f}{rng.randrange(1950, 2005)}")
            )  # fmt: skip
        elif draw < 0.95:
            domain = rng.choices(self.companies, cum_weights=self.company_weights)[0][1]
            local = rng.choice((f"{f}.{n}", f"{f}.{n}", f"{f[0]}.{n}", f"{f[0]}{n}", f))
        else:
            domain = f"{n}-{rng.randrange(10_000, 100_000)}.fr"
            local = rng.choice(("contact", f, "bonjour", "hello"))
        if rng.random() < 0.1:
            # Typed with capitals: "Jean.Dupont@Gmail.com".
            local = ".".join(part.capitalize() for part in local.split("."))
            domain = domain.capitalize()
        return f"{local}@{domain}"

    def _phone(self, country: str) -> str:
        rng = self.rng
        pattern = _weighted(rng, _PHONE_PATTERNS[country])
        code = phonenumbers.country_code_for_region(country)
        prefix = pattern.rstrip("#")
        digits = len(pattern) - len(prefix)
        while True:
            nsn = prefix + str(rng.randrange(10**digits)).zfill(digits)
            number = phonenumbers.PhoneNumber(code, int(nsn))
            if phonenumbers.is_valid_number(number):
                break
        national_ok = self.phone_region in (None, country)
        if national_ok and rng.random() < 0.75:
            text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            if country == "FR":
                style = rng.random()
                if style < 0.15:
                    text = text.replace(" ", ".")
                elif style < 0.3:
                    text = text.replace(" ", "")
            return text
        if rng.random() < 0.7:
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)

    def _address(self, country: str) -> dict[str, Any]:
        rng = self.rng
        number = rng.randrange(1, 180)
        if country == "FR":
            city, postcodes = rng.choice(_CITIES_FR)
            postcode = rng.choice(postcodes)
            suffix = " bis" if rng.random() < 0.05 else ""
            line = f"{number}{suffix} {rng.choice(_STREETS_FR)}"
        elif country == "BE":
            city, postcode = rng.choice(_CITIES_BE)
            line = f"{rng.choice(_STREETS_BE)} {number}"
        elif country == "CH":
            city, postcode = rng.choice(_CITIES_CH)
            line = f"{rng.choice(_STREETS_CH)} {number}"
        else:
            city, outcodes = rng.choice(_CITIES_GB)
            inward = f"{rng.randrange(10)}{''.join(rng.sample(_INWARD_LETTERS, 2))}"
            postcode = f"{rng.choice(outcodes)} {inward}"
            if rng.random() < 0.1:
                postcode = postcode.lower()  # typed that way; crmkit upper-cases it
            line = f"{number} {rng.choice(_STREETS_GB)}"
        lines = [line]
        if rng.random() < 0.2:
            lines.append(rng.choice(_SECOND_LINES[country]))
        return {"lines": lines, "postcode": postcode, "city": city, "country": country}

    def _times(self, country: str) -> tuple[datetime, datetime, str, str]:
        rng = self.rng
        created = _START + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
        if rng.random() < 0.3:  # some systems keep microseconds, most do not
            created = created.replace(microsecond=rng.randrange(1_000_000))
        updated = created
        if rng.random() < 0.7:
            updated += timedelta(seconds=rng.randrange(1, 400 * 86_400))
        zone = _ZONES[country]
        return (
            created,
            updated,
            created.astimezone(zone).isoformat(),
            updated.astimezone(zone).isoformat(),
        )

    def contact(self) -> dict[str, Any]:
        rng = self.rng
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        first, last = self._name(country)
        created, updated, created_text, updated_text = self._times(country)
        return {
            "id": str(new_id(created)),
            "version": 1 if updated == created else rng.randrange(2, 30),
            "created_at": created_text,
            "updated_at": updated_text,
            "first_name": first,
            "last_name": last,
            "emails": [self._email(country, first, last)],
            "phones": [self._phone(country)],
            "job_title": rng.choice(_JOB_TITLES) if rng.random() < 0.9 else None,
            "addresses": [self._address(country)],
            "tags": rng.sample(_TAGS, rng.choice((0, 1, 1, 2, 2, 3))),
        }


def contacts(
    n: int,
    *,
    seed: int = DEFAULT_SEED,
    phone_region: str | None = "FR",
    companies: int = 3_000,
) -> list[dict[str, Any]]:
    """
    Return ``n`` contact rows, the same ones for the same arguments (ids aside).

    Args:
        n: How many rows.
        seed: The seed of the one random stream everything is drawn from.
        phone_region: The default region the reader will parse phones with;
            only that country's numbers are written in national form. `None`
            writes every number nationally for its address's country.
        companies: How many company domains the B2B emails share.
    """
    generator = _Generator(seed, phone_region, companies)
    return [generator.contact() for _ in range(n)]
