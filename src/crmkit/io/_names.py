"""Splitting a full name into salutation, first name and last name."""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["FullName", "split_full_name"]

_SALUTATIONS: Final = frozenset(
    {
        "m",
        "m.",
        "mme",
        "mme.",
        "mlle",
        "mlle.",
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "miss",
        "dr",
        "dr.",
        "pr",
        "pr.",
        "prof",
        "prof.",
    }
)
_PARTICLES: Final = frozenset(
    {
        "al",
        "da",
        "das",
        "de",
        "del",
        "della",
        "den",
        "der",
        "des",
        "di",
        "do",
        "dos",
        "du",
        "el",
        "la",
        "le",
        "les",
        "saint",
        "sainte",
        "st",
        "ten",
        "ter",
        "van",
        "von",
    }
)
_ELIDED: Final = ("d'", "d\u2019", "l'", "l\u2019")  # ' or a typographic apostrophe
_MIN_UPPER_LETTERS: Final = 2


@attrs.frozen
class FullName:
    """
    The parts of a person's name; a part that was not found is `None`.

    .. versionadded:: 0.1
    """

    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None


def _is_upper_word(word: str) -> bool:
    """``DUPONT`` or ``DE``, but not ``J.`` (an initial) nor ``Dupont``."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= _MIN_UPPER_LETTERS and all(c.isupper() for c in letters)


def _is_particle(word: str) -> bool:
    lower = word.lower()
    return lower in _PARTICLES or (
        lower.startswith(_ELIDED) and len(lower) > len(_ELIDED[0])
    )


def _joined(words: list[str]) -> str | None:
    return " ".join(words) or None


def _split_words(words: list[str]) -> tuple[list[str], list[str]]:
    """Split words (no salutation, at least two) into first and last name."""
    upper = [_is_upper_word(word) for word in words]
    if not all(upper):
        lead = next(i for i, flag in enumerate(upper) if not flag)
        if lead:
            return words[lead:], words[:lead]
        trail = next(i for i, flag in enumerate(reversed(upper)) if not flag)
        if trail:
            first, last = words[:-trail], words[-trail:]
            while len(first) > 1 and _is_particle(first[-1]):
                last.insert(0, first.pop())
            return first, last
    particle = next((i for i in range(1, len(words)) if _is_particle(words[i])), None)
    if particle is not None:
        return words[:particle], words[particle:]
    return words[:-1], words[-1:]


def split_full_name(text: str) -> FullName:
    """
    Split a full name as a legacy CRM stores it into its parts.

    The rules, in order:

    - ``"Dupont, Jean"``: what comes before the comma is the last name;
    - a leading salutation (``M.``, ``Mme``, ``Dr``...) goes to `salutation`;
    - one word is a last name;
    - family names written in capitals are the last name, first or last:
      ``"DUPONT Jean"``, ``"Jean DE LA FONTAINE"``;
    - a particle starts the last name: ``"Jean-Pierre de La Fontaine"``,
      ``"Ludwig van Beethoven"``, ``"Jean d'Ormesson"``;
    - otherwise the last word is the last name: ``"Marie Claire Dupont"``.

    Words are never changed or dropped, only distributed; when everything is in
    capitals (``"JEAN DUPONT"``) the last word is taken as the last name.

    >>> split_full_name("DUPONT Jean")
    FullName(salutation=None, first_name='Jean', last_name='DUPONT')
    >>> split_full_name("Mme Jean-Pierre de La Fontaine")
    FullName(salutation='Mme', first_name='Jean-Pierre', last_name='de La Fontaine')

    .. versionadded:: 0.1
    """
    text = " ".join(text.split())
    if "," in text:
        before, _, after = text.partition(",")
        return FullName(
            first_name=after.strip(" ,") or None, last_name=before.strip(" ,") or None
        )
    words = text.split(" ") if text else []
    salutation = None
    if len(words) > 1 and words[0].lower() in _SALUTATIONS:
        salutation = words.pop(0)
    if len(words) <= 1:
        return FullName(salutation, None, _joined(words))
    first, last = _split_words(words)
    return FullName(salutation, _joined(first), _joined(last))
