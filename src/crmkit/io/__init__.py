"""
Import and export: CSV and JSON lines files to entities, and back.

An import is driven by a declarative mapping (`ImportMapping`, usually read
from TOML with `read_mapping`): which column feeds which field, with transforms
(split a full name, date formats, picklist maps, several values in one cell).
`import_entities` validates every row, writes refused rows to a rejects file,
stores accepted rows in transactional batches, updates instead of duplicating
on a re-import, and returns an `ImportSummary`. `export_entities` writes the
stored entities back to CSV or JSON lines, atomically. With ``dedup=`` a
`DedupPolicy`, an import of people checks each new row against the people
stored and the file's earlier rows first.

See ``docs/import-export.md`` for a tutorial.
"""

from crmkit import _public
from crmkit.io._dedup import (
    DEDUP_COLUMNS,
    DedupLine,
    DedupPolicy,
    import_merge_policy,
)
from crmkit.io._exporter import (
    ORGANIZATION_COLUMNS,
    PERSON_COLUMNS,
    ExportSummary,
    export_entities,
)
from crmkit.io._files import REJECT_COLUMNS, Reject
from crmkit.io._importer import (
    ImportProgress,
    ImportSummary,
    import_entities,
    row_key_system,
)
from crmkit.io._mapping import (
    ColumnMapping,
    ExternalIdColumn,
    ImportMapping,
    ImportOptions,
    mapping_from_dict,
    mapping_to_dict,
    read_mapping,
)
from crmkit.io._names import FullName, split_full_name

__all__ = [
    "DEDUP_COLUMNS",
    "ORGANIZATION_COLUMNS",
    "PERSON_COLUMNS",
    "REJECT_COLUMNS",
    "ColumnMapping",
    "DedupLine",
    "DedupPolicy",
    "ExportSummary",
    "ExternalIdColumn",
    "FullName",
    "ImportMapping",
    "ImportOptions",
    "ImportProgress",
    "ImportSummary",
    "Reject",
    "export_entities",
    "import_entities",
    "import_merge_policy",
    "mapping_from_dict",
    "mapping_to_dict",
    "read_mapping",
    "row_key_system",
    "split_full_name",
]

_public.publish(globals(), __all__)
