"""
Deduplication: normalise, compare, block, score and cluster records.

Start with `find_duplicates` on a list of records (mappings of field to text),
with the default configuration for contacts, or your own `DedupConfig`.
"""

from crmkit import _public
from crmkit.dedup._compare import Comparator, compare
from crmkit.dedup._normalize import FieldKind, Normalizer, PlusTags
from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._tables import EmailProvider, Tables

__all__ = [
    "Comparator",
    "EmailProvider",
    "FieldKind",
    "Normalizer",
    "PlusTags",
    "Tables",
    "compare",
    "english_code",
    "french_code",
]

_public.publish(globals(), __all__)
