"""Normalisation per field kind, and the shipped, extensible tables."""

import pytest

from crmkit.dedup import (
    EmailProvider,
    FieldKind,
    Normalizer,
    PlusTags,
    Tables,
    english_code,
    french_code,
)

N = Normalizer(default_region="FR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  JÉRÔME ", "jerome"),
        ("M. Jean-Pierre", "jean pierre"),
        ("Mme Hélène", "helene"),
        ("Dr. J.-P.", "jp"),
        ("Mrs Sarah", "sarah"),
        ("Zoë", "zoe"),
    ],
)
def test_given_names_lose_case_accents_titles_and_punctuation(raw, expected):
    """Given names are folded; titles go; dotted initials become one token."""
    assert expected == N.given_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE LA FONTAINE", "fontaine"),
        ("van der Berg", "berg"),
        ("von Trapp", "trapp"),
        ("du Pont", "pont"),
        ("Le", "le"),
        ("Martin-Dubois", "martin dubois"),
        ("O'Brien Jr.", "o brien"),
    ],
)
def test_family_names_drop_particles_unless_nothing_would_be_left(raw, expected):
    """Particles de/du/van/von go; a name made only of a particle stays."""
    assert expected == N.family_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" J.Doe+news@GoogleMail.com ", "jdoe@gmail.com"),
        ("j.doe@gmail.com", "jdoe@gmail.com"),
        ("a.b+x@outlook.com", "a.b@outlook.com"),
        ("a.b+x@acme.fr", "a.b+x@acme.fr"),
        ("J Doe@ACME.FR", "jdoe@acme.fr"),
        ("not an email", "notanemail"),
    ],
)
def test_emails_by_provider_rules(raw, expected):
    """Case, spaces, plus-tags and dots follow what the provider delivers."""
    assert expected == N.email(raw)


def test_email_rules_are_configurable():
    """Plus-tags can be cut everywhere or nowhere, dots kept."""
    everywhere = Normalizer(plus_tags=PlusTags.ALL, provider_dots=False)
    assert "a.b@acme.fr" == everywhere.email("a.b+x@acme.fr")
    assert "j.doe@gmail.com" == everywhere.email("j.doe+y@gmail.com")
    assert "j.doe+y@gmail.com" == Normalizer(
        plus_tags=PlusTags.NONE, provider_dots=False
    ).email("j.doe+y@gmail.com")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 (0)6.12.34.56.78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("12-34", "FR", "1234"),
    ],
)
def test_phones_become_e164_in_the_default_region(raw, region, expected):
    """Valid numbers are E.164; anything else keeps its digits only."""
    assert expected == Normalizer(default_region=region).phone(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dupont & Fils S.A.R.L.", "dupont fils"),
        ("Dupont et Fils", "dupont fils"),
        ("SAS Les Jardins de Provence", "les jardins de provence"),
        ("Müller GmbH & Co. KG", "muller"),
        ("Acme Ltd.", "acme"),
        ("ACME, Inc.", "acme"),
        ("Smith and Sons Limited", "smith sons"),
        ("SA", "sa"),
    ],
)
def test_company_names_lose_legal_forms_and_connectors(raw, expected):
    """Legal forms of several countries go at either end; &/et/and go."""
    assert expected == N.company(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 bd Saint-Michel", "12 boulevard saint michel"),
        ("12, Av. des Champs-Élysées", "12 avenue des champs elysees"),
        ("3 r. St Jacques", "3 rue saint jacques"),
        ("5 Main St.", "5 main street"),
        ("10 Downing Rd", "10 downing road"),
        ("4 impasse des Lilas", "4 impasse des lilas"),
    ],
)
def test_street_types_are_spelled_out(raw, expected):
    """Street types and their abbreviations meet in one form."""
    assert expected == N.street(raw)


def test_postcodes_cities_and_countries():
    """Postcodes lose spaces, French ones regain a leading zero; cities spell Saint."""
    assert "75008" == N.postal_code("75 008")
    assert "01000" == N.postal_code("1000")
    assert "SW1A1AA" == N.postal_code("sw1a 1aa")
    assert "saint etienne" == N.city("St-Étienne CEDEX 2")
    assert "FR" == N.country("fr")


def test_blank_values_stay_blank_and_records_fill_missing_fields():
    """None, '' and spaces normalise to ''; a record lacks no field it was asked for."""
    kinds = {"first_name": FieldKind.GIVEN_NAME, "email": FieldKind.EMAIL}
    assert {"first_name": "", "email": "a@b.fr"} == N.record(
        {"first_name": "  ", "email": "A@B.FR"}, kinds
    )
    assert "" == N.normalize(FieldKind.PHONE, None)


def test_shipped_nicknames_cover_french_and_english():
    """Robert/Bob, Jean-Pierre/JP, Élisabeth/Babette, William/Bill are variants."""
    tables = Tables.default()
    for left, right in [
        ("Robert", "Bob"),
        ("Jean-Pierre", "JP"),
        ("Élisabeth", "Babette"),
        ("William", "bill"),
        ("Catherine", "Cathy"),
    ]:
        assert tables.same_given_name(left, right), (left, right)
    assert not tables.same_given_name("Robert", "William")


def test_tables_extend_without_changing_the_defaults():
    """Extended tables add entries; the shipped ones are unchanged."""
    tables = Tables.default().extended(
        nicknames=[["gwendoline", "gwen"]],
        legal_forms=["kft"],
        street_types={"strasse": "strasse", "str": "strasse"},
        email_providers={
            "corp.example": EmailProvider(
                "corp.example", ignores_dots=True, plus_tags=True
            )
        },
    )
    assert tables.same_given_name("Gwen", "Gwendoline")
    assert not Tables.default().same_given_name("Gwen", "Gwendoline")
    normalizer = Normalizer(tables=tables)
    assert "budapest" == normalizer.company("Budapest Kft.")
    assert "ab@corp.example" == normalizer.email("a.b+z@corp.example")


def test_phonetic_codes_hear_french_and_english_spellings():
    """Spellings that sound alike share a code; different names do not."""
    assert french_code("Renault") == french_code("Renaud") == french_code("Reno")
    assert french_code("Lefebvre") == french_code("Lefèvre")
    assert french_code("Gérard") == french_code("Girard")
    assert french_code("Dupont") != french_code("Durand")
    assert english_code("Catherine") == english_code("Kathryn")
    assert english_code("Knight") == english_code("Night")
    assert english_code("Smith") != english_code("Jones")
    assert "" == french_code("") == english_code("--")
