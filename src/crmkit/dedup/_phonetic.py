"""
Phonetic codes: one tuned for French spelling, one for English.

Both are crmkit's own simplified rule sets (in the spirit of Soundex, Phonex and
Metaphone): equal codes mean "sounds alike", they are not a pronunciation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from crmkit.dedup._text import fold

__all__ = ["english_code", "french_code"]

_LETTERS: Final = re.compile(r"[^a-z]")
_DOUBLES: Final = re.compile(r"(.)\1+")

_FRENCH_RULES: Final = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ph", "f"),
        (r"ault$", "o"),
        (r"bv", "v"),
        (r"(?<=[aeiouy])s(?=[aeiouy])", "z"),
        (r"sch|sh", "ch"),
        (r"qu|q|ck", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"ge(?=[aou])", "j"),
        (r"g(?=[eiy])", "j"),
        (r"c(?=[eiy])", "s"),
        (r"th", "t"),
        (r"(?<!c)h", ""),
        (r"eaux?|aux?|au", "o"),
        (r"(?:ain|ein|aim|eim|in|im|yn|ym)(?![aeiouy])", "1"),
        (r"(?:an|am|en|em)(?![aeiouy])", "2"),
        (r"(?:on|om)(?![aeiouy])", "3"),
        (r"(?:un|um)(?![aeiouy])", "1"),
        (r"oi|oy", "wa"),
        (r"ou", "u"),
        (r"ai|ei|ez$|er$|et$", "e"),
        (r"y", "i"),
        (r"w", "v"),
        (r"x", "ks"),
        (r"c", "k"),
        (r"z", "s"),
    )
)
_FRENCH_SILENT_END: Final = re.compile(r"(?<=.)(?:e|s|t|d|x|p)+$")
_INNER_VOWELS: Final = re.compile(r"(?<=.)[aeiou]")

_ENGLISH_START: Final = (
    ("kn", "n"),
    ("gn", "n"),
    ("pn", "n"),
    ("wr", "r"),
    ("ps", "s"),
)
_ENGLISH_RULES: Final = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ph", "f"),
        (r"^th(?=o)", "t"),
        (r"d", "t"),
        (r"gh(?![aeiou])", ""),
        (r"tch", "ch"),
        (r"sch", "sk"),
        (r"c(?=[eiy])", "s"),
        (r"ck|q|c", "k"),
        (r"dg(?=[eiy])", "j"),
        (r"th", "0"),
        (r"mb$", "m"),
        (r"x", "ks"),
        (r"z", "s"),
        (r"v", "f"),
        (r"(?<=n)t$", ""),
        (r"(?<=[aeiou])[hw](?![aeiou])", ""),
    )
)
_ENGLISH_VOWELS: Final = re.compile(r"(?<=.)[aeiouyhw]")


@lru_cache(maxsize=65536)
def french_code(text: str) -> str:
    """
    A code equal for French spellings that sound alike.

    >>> french_code("Renault") == french_code("Renaud") == french_code("RENO")
    True
    >>> french_code("Dupont") == french_code("Dupond"), french_code("Martin")
    (True, 'mrt1')
    """
    code = _LETTERS.sub("", fold(text))
    for pattern, replacement in _FRENCH_RULES:
        code = pattern.sub(replacement, code)
    code = _FRENCH_SILENT_END.sub("", _DOUBLES.sub(r"\1", code))
    return _DOUBLES.sub(r"\1", _INNER_VOWELS.sub("", code))


@lru_cache(maxsize=65536)
def english_code(text: str) -> str:
    """
    A code equal for English spellings that sound alike (consonant skeleton).

    >>> english_code("Catherine") == english_code("Kathryn")
    True
    >>> english_code("Smith") == english_code("Smyth"), english_code("Smith")
    (True, 'sm0')
    """
    code = _LETTERS.sub("", fold(text))
    for start, replacement in _ENGLISH_START:
        if code.startswith(start):
            code = replacement + code[len(start) :]
            break
    for pattern, replacement in _ENGLISH_RULES:
        code = pattern.sub(replacement, code)
    code = _DOUBLES.sub(r"\1", code)
    if not code:
        return ""
    head = "a" if code[0] in "aeiouy" else code[0]
    return head + _ENGLISH_VOWELS.sub("", code[1:] if head == "a" else code)[1:]
