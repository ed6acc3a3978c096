"""Text folding shared by every normaliser: case, accents, punctuation, spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

_NOT_WORD: Final = re.compile(r"[^0-9a-z]+")
_LIGATURES: Final = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l"})


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """
    Lower case, without accents, punctuation or repeated spaces.

    >>> fold("  Jean-Pierre  d'Œuvray ")
    'jean pierre d oeuvray'
    """
    lowered = text.casefold()
    if not lowered.isascii():  # ASCII has no ligature and nothing to decompose
        decomposed = unicodedata.normalize("NFKD", lowered.translate(_LIGATURES))
        lowered = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", lowered).strip()
