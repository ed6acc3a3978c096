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

# (pattern, replacement, needles): a rule can only match a code holding one of
# its needles, so codes without any skip it (most rules, for most names).
_FRENCH_RULES: Final = tuple(
    (re.compile(pattern), replacement, needles)
    for pattern, replacement, needles in (
        (r"ph", "f", ("ph",)),
        (r"ault$", "o", ("ault",)),
        (r"bv", "v", ("bv",)),
        (r"(?<=[aeiouy])s(?=[aeiouy])", "z", ("s",)),
        (r"sch|sh", "ch", ("sh", "sch")),
        (r"qu|q|ck", "k", ("q", "ck")),
        (r"gu(?=[eiy])", "g", ("gu",)),
        (r"ge(?=[aou])", "j", ("ge",)),
        (r"g(?=[eiy])", "j", ("g",)),
        (r"c(?=[eiy])", "s", ("c",)),
        (r"th", "t", ("th",)),
        (r"(?<!c)h", "", ("h",)),
        (r"eaux?|aux?|au", "o", ("au",)),
        (
            r"(?:ain|ein|aim|eim|in|im|yn|ym)(?![aeiouy])",
            "1",
            ("in", "im", "yn", "ym"),
        ),
        (r"(?:an|am|en|em)(?![aeiouy])", "2", ("an", "am", "en", "em")),
        (r"(?:on|om)(?![aeiouy])", "3", ("on", "om")),
        (r"(?:un|um)(?![aeiouy])", "1", ("un", "um")),
        (r"oi|oy", "wa", ("oi", "oy")),
        (r"ou", "u", ("ou",)),
        (r"ai|ei|ez$|er$|et$", "e", ("ai", "ei", "ez", "er", "et")),
        (r"y", "i", ("y",)),
        (r"w", "v", ("w",)),
        (r"x", "ks", ("x",)),
        (r"c", "k", ("c",)),
        (r"z", "s", ("z",)),
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
    for pattern, replacement, needles in _FRENCH_RULES:
        for needle in needles:
            if needle in code:
                code = pattern.sub(replacement, code)
                break
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
