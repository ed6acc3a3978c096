"""
Deduplication: normalise, compare, block, score and cluster records.

Start with `find_duplicates` on a list of records (mappings of field to text),
with the default configuration for contacts, or your own `DedupConfig`.
Merge the duplicates found with `merge` (stored records, undone by `unmerge`),
or compute surviving values alone with `survive` and a `MergePolicy`.
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
from crmkit.dedup._defaults import (
    CONTACT_FIELDS,
    contact_config,
    lead_config,
    organization_config,
)
from crmkit.dedup._engine import DedupResult, find_duplicates
from crmkit.dedup._explain import FieldEvidence, PairExplanation
from crmkit.dedup._index import Candidate, DedupIndex
from crmkit.dedup._index_sync import build_index, catch_up, lead_record, person_record
from crmkit.dedup._merge import (
    MergePlan,
    MergeUndone,
    RecordsMerged,
    apply_plan,
    merge,
    merge_groups,
    plan_merge,
    survivor_of,
    unmerge,
)
from crmkit.dedup._metrics import PairwiseScores, blocking_recall, pairwise_scores
from crmkit.dedup._normalize import FieldKind, Normalizer, PlusTags
from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._stored import stored_person_records
from crmkit.dedup._survivorship import (
    Dropped,
    FieldDecision,
    MasterChoice,
    Survivorship,
    choose_master,
    survive,
)
from crmkit.dedup._survivorship_policy import (
    MasterStrategy,
    MergePolicy,
    Rule,
    organization_policy,
    person_policy,
    shipped_rules,
)
from crmkit.dedup._synthetic import SyntheticContacts, synthetic_contacts
from crmkit.dedup._tables import EmailProvider, Tables
from crmkit.dedup._training import train_model

__all__ = [
    "CONTACT_FIELDS",
    "BlockingKey",
    "BlockingReport",
    "Candidate",
    "Comparator",
    "Comparison",
    "Condition",
    "DedupConfig",
    "DedupIndex",
    "DedupResult",
    "Dropped",
    "EmailProvider",
    "FellegiSunter",
    "Field",
    "FieldDecision",
    "FieldEvidence",
    "FieldKind",
    "KeyPart",
    "KeyTransform",
    "MasterChoice",
    "MasterStrategy",
    "MatchingRules",
    "MergePlan",
    "MergePolicy",
    "MergeUndone",
    "Method",
    "Normalizer",
    "PairExplanation",
    "PairwiseScores",
    "PlusTags",
    "RecordsMerged",
    "Rule",
    "RuleGroup",
    "Survivorship",
    "SyntheticContacts",
    "Tables",
    "Training",
    "apply_plan",
    "blocking_recall",
    "build_index",
    "catch_up",
    "choose_master",
    "compare",
    "contact_config",
    "english_code",
    "find_duplicates",
    "french_code",
    "lead_config",
    "lead_record",
    "merge",
    "merge_groups",
    "organization_config",
    "organization_policy",
    "pairwise_scores",
    "person_policy",
    "person_record",
    "plan_merge",
    "shipped_rules",
    "stored_person_records",
    "survive",
    "survivor_of",
    "synthetic_contacts",
    "train_model",
    "unmerge",
]

_public.publish(globals(), __all__)
