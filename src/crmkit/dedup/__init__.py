"""
Deduplication: normalise, compare, block, score and cluster records.

Start with `find_duplicates` on a list of records (mappings of field to text),
with the default configuration for contacts, or your own `DedupConfig`.
"""

from crmkit import _public
from crmkit.dedup._blocking import BlockingReport
from crmkit.dedup._compare import Comparator, compare
from crmkit.dedup._config import (
    BlockingKey,
    Comparison,
    Condition,
    DedupConfig,
    FellegiSunter,
    Field,
    KeyPart,
    KeyTransform,
    MatchingRules,
    Method,
    RuleGroup,
    Training,
)
from crmkit.dedup._defaults import contact_config, lead_config, organization_config
from crmkit.dedup._engine import DedupResult, find_duplicates
from crmkit.dedup._explain import FieldEvidence, PairExplanation
from crmkit.dedup._index import Candidate, DedupIndex
from crmkit.dedup._index_sync import build_index, catch_up, lead_record, person_record
from crmkit.dedup._metrics import PairwiseScores, blocking_recall, pairwise_scores
from crmkit.dedup._normalize import FieldKind, Normalizer, PlusTags
from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._synthetic import SyntheticContacts, synthetic_contacts
from crmkit.dedup._tables import EmailProvider, Tables
from crmkit.dedup._training import train_model

__all__ = [
    "BlockingKey",
    "BlockingReport",
    "Candidate",
    "Comparator",
    "Comparison",
    "Condition",
    "DedupConfig",
    "DedupIndex",
    "DedupResult",
    "EmailProvider",
    "FellegiSunter",
    "Field",
    "FieldEvidence",
    "FieldKind",
    "KeyPart",
    "KeyTransform",
    "MatchingRules",
    "Method",
    "Normalizer",
    "PairExplanation",
    "PairwiseScores",
    "PlusTags",
    "RuleGroup",
    "SyntheticContacts",
    "Tables",
    "Training",
    "blocking_recall",
    "build_index",
    "catch_up",
    "compare",
    "contact_config",
    "english_code",
    "find_duplicates",
    "french_code",
    "lead_config",
    "lead_record",
    "organization_config",
    "pairwise_scores",
    "person_record",
    "synthetic_contacts",
    "train_model",
]

_public.publish(globals(), __all__)
