"""split_full_name: legacy full names into salutation, first and last name."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.io import FullName, split_full_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jean Dupont", FullName(None, "Jean", "Dupont")),
        ("Marie Claire Dupont", FullName(None, "Marie Claire", "Dupont")),
        ("DUPONT Jean", FullName(None, "Jean", "DUPONT")),
        ("DE LA FONTAINE Jean-Pierre", FullName(None, "Jean-Pierre", "DE LA FONTAINE")),
        ("Jean DUPONT", FullName(None, "Jean", "DUPONT")),
        ("Jean de LA FONTAINE", FullName(None, "Jean", "de LA FONTAINE")),
        (
            "Jean-Pierre de La Fontaine",
            FullName(None, "Jean-Pierre", "de La Fontaine"),
        ),
        ("Ludwig van Beethoven", FullName(None, "Ludwig", "van Beethoven")),
        ("Jean d'Ormesson", FullName(None, "Jean", "d'Ormesson")),
        ("Dupont, Jean", FullName(None, "Jean", "Dupont")),
        ("Mme Claire Lefèvre", FullName("Mme", "Claire", "Lefèvre")),
        ("M. DUPONT Jean", FullName("M.", "Jean", "DUPONT")),
        ("J. DUPONT", FullName(None, "J.", "DUPONT")),
        ("Dupont", FullName(None, None, "Dupont")),
        ("JEAN DUPONT", FullName(None, "JEAN", "DUPONT")),
        ("  Jean   Dupont ", FullName(None, "Jean", "Dupont")),
        ("", FullName(None, None, None)),
    ],
)
def test_split_full_name(text, expected):
    """Each naming convention of legacy exports splits as documented."""
    assert expected == split_full_name(text)


def _words(text: str) -> Counter[str]:
    return Counter(text.replace(",", " ").split())


@given(st.text())
def test_a_split_never_loses_or_changes_a_word(text):
    """Whatever the text, the parts hold exactly the words it had."""
    name = split_full_name(text)
    parts = " ".join(p for p in (name.salutation, name.first_name, name.last_name) if p)
    assert _words(text) == _words(parts)
