"""
The incremental index: check one record at entry against everything indexed.

Records are stored as codes into one vocabulary of normalised values (a row of
small integers per record, no object per record); each blocking key is a hash
table from the key's value to a doubly linked list of records threaded through
integer arrays, so that adding, updating and removing a record costs a few
dictionary operations. A query walks its blocks (skipping those over its key's
cap, the configuration's ``max_block_size`` unless the key sets its own, as the
batch does), then scores the candidates with the batch's own scorer, so a pair
gets the same decision and the same explanation either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from crmkit.dedup._blocking import _transform
from crmkit.dedup._codes import Encoded
from crmkit.dedup._config import BlockingKey, DedupConfig
from crmkit.dedup._defaults import contact_config
from crmkit.dedup._engine import _Scored, _Scorer
from crmkit.dedup._explain import PairExplanation
from crmkit.dedup._normalize import FieldKind, Normalizer
from crmkit.dedup._tables import Tables
from crmkit.errors import AlreadyExists, FieldError, NotFound, ValidationError

__all__ = ["Candidate", "DedupIndex"]

_NONE: Final = -1
_START: Final = 1024
_ENTITY: Final = "record"
_FORMAT: Final = "crmkit.dedup.DedupIndex/1"
_CACHE_SIZE: Final = 100_000


@attrs.frozen
class Candidate:
    """
    One indexed record that may be the same as the record checked.

    Attributes:
        record_id: The indexed record's id.
        kind: What it is (``"person"``, ``"lead"``... as it was indexed).
        probability: The model's match probability.
        matched: Whether the pair is declared a match (as the batch decides).
        reason: The decision in words (probability, rule or veto).

    .. versionadded:: 0.1
    """

    record_id: str
    kind: str
    probability: float
    matched: bool
    reason: str
    _explain: Callable[[], PairExplanation] = attrs.field(eq=False, repr=False)

    @property
    def explanation(self) -> PairExplanation:
        """
        The pair's evidence per field, as the batch gives it (built when asked).

        The record indexed first is on the left; a record checked at entry,
        which is not indexed, is on the right (named ``?`` if it has no id).
        """
        return self._explain()


class _Once:
    """A function called at most once, its result kept."""

    def __init__(self, function: Callable[[], PairExplanation]) -> None:
        self._function: Callable[[], PairExplanation] | None = function
        self._result: PairExplanation | None = None

    def __call__(self) -> PairExplanation:
        if self._function is not None:
            self._result = self._function()
            self._function = None
        assert self._result is not None  # noqa: S101 (set just above)
        return self._result


class _Frequencies(Mapping[str, float]):
    """Term frequencies of one field over the indexed records, plus the query."""

    def __init__(
        self,
        counts: Mapping[int, int],
        total: int,
        lookup: Mapping[str, int],
        extra: str,
    ) -> None:
        self._counts = counts
        self._total = total + bool(extra)
        self._lookup = lookup
        self._extra = extra

    def __getitem__(self, value: str) -> float:
        count = self._counts.get(self._lookup.get(value, _NONE), 0)
        count += value == self._extra
        if not count:
            raise KeyError(value)
        return count / self._total

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - never listed
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - never sized
        raise NotImplementedError


class _Chains:
    """One blocking key: key value -> a doubly linked list of record slots."""

    def __init__(
        self, key: BlockingKey, transforms: list[Callable[[str], str]]
    ) -> None:
        self.key = key
        self.transforms = transforms
        self.heads: dict[int, int] = {}
        self.next = np.full(_START, _NONE, dtype=np.int32)
        self.prev = np.full(_START, _NONE, dtype=np.int32)

    def value(self, normalised: Mapping[str, str]) -> int | None:
        """The record's key value as a hash, `None` when a part is blank."""
        parts = []
        for part, transform in zip(self.key.parts, self.transforms, strict=True):
            value = normalised[part.field]
            text = transform(value) if value else ""
            if not text:
                return None
            parts.append(text)
        if self.key.unordered:
            parts.sort()
        return hash("\x1f".join(parts))

    def grow(self, capacity: int) -> None:
        for name in ("next", "prev"):
            old = getattr(self, name)
            new = np.full(capacity, _NONE, dtype=np.int32)
            new[: len(old)] = old
            setattr(self, name, new)

    def link(self, key: int, slot: int) -> None:
        head = self.heads.get(key, _NONE)
        self.next[slot] = head
        self.prev[slot] = _NONE
        if head != _NONE:
            self.prev[head] = slot
        self.heads[key] = slot

    def unlink(self, key: int, slot: int) -> None:
        after, before = int(self.next[slot]), int(self.prev[slot])
        if before == _NONE:
            if after == _NONE:
                del self.heads[key]
            else:
                self.heads[key] = after
        else:
            self.next[before] = after
        if after != _NONE:
            self.prev[after] = before

    def members(self, key: int, cap: int) -> list[int]:
        """The block's slots, at most ``cap`` + 1 of them (enough to know it is big)."""
        found: list[int] = []
        slot = self.heads.get(key, _NONE)
        while slot != _NONE and len(found) <= cap:
            found.append(slot)
            slot = int(self.next[slot])
        return found


class DedupIndex:
    """
    Records indexed for checking a new one at entry, kept current one by one.

    `find_matches` returns the indexed records that may be the same as the one
    checked, most probable first, each with the explanation the batch
    (`find_duplicates`) would give for that pair and the same decision, when the
    batch runs on the indexed records plus the one checked with this index's
    configuration and model (to reuse a model the batch trained, pass
    ``attrs.evolve(config, model=result.model)``).

    Several kinds of record may share an index (people and leads), so that a
    lead is checked against contacts too; ``kinds`` narrows a query to some.
    An index is not thread-safe: share it between threads behind a lock.

    >>> index = DedupIndex()
    >>> index.add(
    ...     {
    ...         "id": "c1",
    ...         "first_name": "Robert",
    ...         "last_name": "Dupont",
    ...         "email": "bob@x.fr",
    ...     },
    ...     kind="person",
    ... )
    >>> [c] = index.find_matches(
    ...     {"first_name": "Bob", "last_name": "DUPONT", "email": "Bob@X.fr"}
    ... )
    >>> c.record_id, c.kind, c.matched
    ('c1', 'person', True)

    Args:
        config: What to compare and how (default: `contact_config`).
        threshold: Override the configuration's match probability threshold.
        tables: Normalisation tables (default: the shipped ones).
        id_field: The field holding each record's id.

    Attributes:
        cursor: The last outbox message applied, when the index follows a
            database (see `build_index` and `catch_up`); 0 otherwise.
        gaps: Outbox ids below the cursor not seen yet (see `catch_up`).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        config: DedupConfig | None = None,
        *,
        threshold: float | None = None,
        tables: Tables | None = None,
        id_field: str = "id",
    ) -> None:
        self.config = config or contact_config()
        self.tables = tables or Tables.default()
        self.threshold = self.config.threshold if threshold is None else threshold
        self.id_field = id_field
        self.cursor = 0
        self.gaps: set[int] = set()
        self._normalizer = Normalizer(
            tables=self.tables,
            default_region=self.config.region,
            plus_tags=self.config.plus_tags,
        )
        self._fields = self.config.fields
        self._normalised: dict[tuple[FieldKind, str | None], str] = {}
        # The distinct normalised values (code 0 is blank), and how many there are.
        self._strings = np.full(_START, "", dtype=object)
        self._distinct = 1
        self._lookup: dict[str, int] = {"": 0}
        self._values = np.zeros((_START, len(self._fields)), dtype=np.int32)
        self._kinds = np.zeros(_START, dtype=np.int8)
        self._order = np.zeros(_START, dtype=np.int64)
        self._added = 0
        self._kind_names: list[str] = []
        self._ids: list[str | None] = []
        self._slots: dict[str, int] = {}
        self._free: list[int] = []
        self._chains = [
            _Chains(key, [_transform(p.transform, self.tables) for p in key.parts])
            for key in self.config.blocking
        ]
        tf_fields = {c.field for c in self.config.comparisons if c.tf_adjust}
        self._tf_columns = {
            f.name: k for k, f in enumerate(self._fields) if f.name in tf_fields
        }
        self._tf_counts: dict[str, dict[int, int]] = {f: {} for f in tf_fields}
        self._tf_totals: dict[str, int] = dict.fromkeys(tf_fields, 0)

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._slots

    @property
    def ids(self) -> Iterator[str]:
        """The indexed record ids."""
        return iter(self._slots)

    def kind_of(self, record_id: str) -> str:
        """
        The kind a record was indexed as.

        Raises:
            NotFound: A record that is not indexed.
        """
        return self._kind_names[int(self._kinds[self._slot(record_id)])]

    def add(self, record: Mapping[str, str | None], *, kind: str = "person") -> None:
        """
        Index a new record.

        Raises:
            ValidationError: A record without id.
            AlreadyExists: A record whose id is indexed already.
        """
        record_id = self._record_id(record)
        if record_id in self._slots:
            raise AlreadyExists(_ENTITY, "id", record_id)
        self._insert(record_id, self._normalise(record), kind)

    def add_many(
        self, records: Iterable[Mapping[str, str | None]], *, kind: str = "person"
    ) -> None:
        """`add` each record, in order (stops at the first refused)."""
        for record in records:
            self.add(record, kind=kind)

    def update(
        self, record: Mapping[str, str | None], *, kind: str | None = None
    ) -> None:
        """
        Replace an indexed record by its new version (the kind kept unless given).

        Raises:
            ValidationError: A record without id.
            NotFound: A record that is not indexed.
        """
        record_id = self._record_id(record)
        old_kind = self.kind_of(record_id)
        self.remove(record_id)
        self._insert(record_id, self._normalise(record), kind or old_kind)

    def upsert(
        self,
        record: Mapping[str, str | None],
        *,
        kind: str = "person",
        normalised: bool = False,
    ) -> None:
        """
        `update` the record if it is indexed, else `add` it.

        Args:
            record: The record (with its id).
            kind: What it is.
            normalised: Its values are normalised already (as `values` gives
                them), so they are indexed as they are.
        """
        record_id = self._record_id(record)
        if record_id in self._slots:
            self.remove(record_id)
        values = (
            {f.name: str(record.get(f.name) or "") for f in self._fields}
            if normalised
            else self._normalise(record)
        )
        self._insert(record_id, values, kind)

    def values(self, record_id: str) -> dict[str, str]:
        """
        The normalised values indexed for a record, with its id.

        Raises:
            NotFound: A record that is not indexed.
        """
        return {self.id_field: record_id, **self._row(self._slot(record_id))}

    def remove(self, record_id: str) -> None:
        """
        Take a record out of the index (deleted, archived or merged away).

        Raises:
            NotFound: A record that is not indexed.
        """
        slot = self._slot(record_id)
        normalised = self._row(slot)
        for chains in self._chains:
            key = chains.value(normalised)
            if key is not None:
                chains.unlink(key, slot)
        for name, column in self._tf_columns.items():
            code = int(self._values[slot, column])
            if code:
                counts = self._tf_counts[name]
                counts[code] -= 1
                if not counts[code]:
                    del counts[code]
                self._tf_totals[name] -= 1
        del self._slots[record_id]
        self._ids[slot] = None
        self._free.append(slot)

    def find_matches(
        self,
        record: Mapping[str, str | None],
        *,
        limit: int | None = 10,
        kinds: Collection[str] | None = None,
        min_probability: float = 0.0,
    ) -> list[Candidate]:
        """
        The indexed records that may be the same as ``record``, best first.

        Matches come first, then by probability. A record whose id is indexed is
        checked against the others (its stored version is itself, not a match).

        Args:
            record: The record checked (its id is optional).
            limit: At most this many candidates (`None`: all of them).
            kinds: Only candidates indexed as one of these kinds.
            min_probability: Skip candidates less probable than this.

        Raises:
            ValidationError: A negative limit, or a probability outside [0, 1].
        """
        _check_query(limit, min_probability)
        raw_id = record.get(self.id_field)
        own = str(raw_id).strip() if raw_id is not None else ""
        own_slot = self._slots.get(own, _NONE)
        normalised = self._normalise(record)
        slots = self._candidates(normalised, own_slot, kinds)
        if not slots:
            return []
        scored, scorer = self._score(normalised, slots, own_slot)
        ids = (own or "?", *(str(self._ids[s]) for s in slots))
        order = sorted(
            (i for i in range(len(slots)) if scored.probability[i] >= min_probability),
            key=lambda i: (not scored.matched[i], -scored.probability[i], ids[i + 1]),
        )
        if limit is not None:
            order = order[:limit]
        return [
            Candidate(
                record_id=ids[i + 1],
                kind=self._kind_names[self._kinds[slots[i]]],
                probability=round(float(scored.probability[i]), 6),
                matched=bool(scored.matched[i]),
                reason=scorer.reason(scored, i),
                explain=_Once(partial(scorer.explain, scored, i, ids)),
            )
            for i in order
        ]

    def save(self, path: str | Path) -> None:
        """
        Write the index, its configuration and cursor to a ``.npz`` file.

        Loading it (`load`) is faster than indexing the records again: they are
        not normalised twice.
        """
        live = sorted(self._slots.values(), key=lambda s: int(self._order[s]))
        header = {
            "format": _FORMAT,
            "config": self.config.to_dict(),
            "threshold": self.threshold,
            "id_field": self.id_field,
            "cursor": self.cursor,
            "gaps": sorted(self.gaps),
            "kinds": self._kind_names,
        }
        with Path(path).open("wb") as file:
            np.savez(
                file,
                header=_blob(header),
                vocabulary=_blob(self._strings[: self._distinct].tolist()),
                ids=_blob([self._ids[s] for s in live]),
                values=self._values[live],
                kinds=self._kinds[live],
            )

    @classmethod
    def load(cls, path: str | Path, *, tables: Tables | None = None) -> DedupIndex:
        """
        Read an index `save` wrote.

        Args:
            path: The file.
            tables: The normalisation tables it was built with, if not the shipped.

        Raises:
            ValidationError: A file that is not a saved index (naming the file).
        """
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(data["header"].tobytes())
                if header.get("format") != _FORMAT:
                    raise KeyError("format")  # noqa: TRY301 (one message for all)
                vocabulary = json.loads(data["vocabulary"].tobytes())
                ids = json.loads(data["ids"].tobytes())
                values, kinds = data["values"], data["kinds"]
        except (OSError, ValueError, KeyError) as error:
            raise ValidationError.single(
                "path",
                str(path),
                "dedup_index.file",
                f"not a saved DedupIndex: {error}",
            ) from error
        index = cls(
            DedupConfig.from_dict(header["config"]),
            threshold=header["threshold"],
            tables=tables,
            id_field=header["id_field"],
        )
        index.cursor = header["cursor"]
        index.gaps = set(header.get("gaps", ()))
        index._distinct = len(vocabulary)
        index._lookup = {value: code for code, value in enumerate(vocabulary)}
        index._strings = np.asarray(vocabulary, dtype=object)
        names = [f.name for f in index._fields]
        for record_id, codes, kind in zip(
            ids, values.tolist(), kinds.tolist(), strict=True
        ):
            normalised = {
                name: vocabulary[c] for name, c in zip(names, codes, strict=True)
            }
            index._insert(record_id, normalised, header["kinds"][kind])
        return index

    def _candidates(
        self,
        normalised: Mapping[str, str],
        own_slot: int,
        kinds: Collection[str] | None,
    ) -> list[int]:
        found: dict[int, None] = {}
        for chains in self._chains:
            key = chains.value(normalised)
            if key is None:
                continue
            cap = chains.key.cap(self.config.max_block_size)
            members = chains.members(key, cap)
            others = [s for s in members if s != own_slot]
            if len(others) + 1 <= cap:
                found.update(dict.fromkeys(others))
        slots = list(found)
        if kinds is not None:
            wanted = {self._kind_names.index(k) for k in kinds if k in self._kind_names}
            slots = [s for s in slots if self._kinds[s] in wanted]
        return slots

    def _score(
        self, normalised: Mapping[str, str], slots: list[int], own_slot: int
    ) -> tuple[_Scored, _Scorer]:
        coded = self._coded(normalised, slots)
        vocabulary, codes = coded
        columns = {name: vocabulary[column] for name, column in codes.items()}
        tf = {
            name: _Frequencies(
                self._tf_counts[name],
                self._tf_totals[name],
                self._lookup,
                normalised[name] if own_slot == _NONE else "",
            )
            for name in self._tf_counts
        }
        scorer = _Scorer(
            self.config, columns, self.tables, self.threshold, 1, coded=coded, tf=tf
        )
        # Each pair the way round the batch has it: the record indexed first on
        # the left, a record not indexed (checked at entry) last.
        others = np.arange(1, len(slots) + 1, dtype=np.int64)
        first = np.zeros(len(slots), dtype=bool)
        if own_slot != _NONE:
            first = self._order[slots] > self._order[own_slot]
        left = np.where(first, 0, others)
        right = np.where(first, others, 0)
        return scorer.score(left, right), scorer

    def _coded(self, normalised: Mapping[str, str], slots: list[int]) -> Encoded:
        """
        The record checked (row 0) and the candidates, as the scorer's codes.

        The candidates' codes are the index's own, renumbered into a small
        vocabulary of the values at hand; a value of the checked record that
        no indexed record has gets a code of its own (-1 - its field's place).
        """
        query = np.array(
            [
                self._lookup.get(normalised[f.name], -1 - k)
                for k, f in enumerate(self._fields)
            ],
            dtype=np.int64,
        )
        stacked = np.vstack((query, self._values[slots]))
        used, inverse = np.unique(stacked, return_inverse=True)
        vocabulary = self._strings[np.maximum(used, 0)]
        for code in used[used < 0].tolist():
            vocabulary[np.searchsorted(used, code)] = normalised[
                self._fields[-1 - code].name
            ]
        local = inverse.reshape(stacked.shape)
        return vocabulary, {f.name: local[:, k] for k, f in enumerate(self._fields)}

    def _insert(self, record_id: str, normalised: Mapping[str, str], kind: str) -> None:
        slot = self._free.pop() if self._free else len(self._ids)
        if slot == len(self._ids):
            self._ids.append(record_id)
            if slot >= len(self._kinds):
                self._grow(2 * len(self._kinds))
        else:
            self._ids[slot] = record_id
        self._slots[record_id] = slot
        if kind not in self._kind_names:
            self._kind_names.append(kind)
        self._kinds[slot] = self._kind_names.index(kind)
        self._order[slot] = self._added
        self._added += 1
        for k, f in enumerate(self._fields):
            self._values[slot, k] = self._intern(normalised[f.name])
        for name, column in self._tf_columns.items():
            code = int(self._values[slot, column])
            if code:
                counts = self._tf_counts[name]
                counts[code] = counts.get(code, 0) + 1
                self._tf_totals[name] += 1
        for chains in self._chains:
            key = chains.value(normalised)
            if key is not None:
                chains.link(key, slot)

    def _intern(self, value: str) -> int:
        """The value's code in the vocabulary, added (to the list and array) if new."""
        code = self._lookup.get(value)
        if code is None:
            code = self._lookup[value] = self._distinct
            self._distinct += 1
            if code >= len(self._strings):
                strings = np.empty(2 * len(self._strings), dtype=object)
                strings[:code] = self._strings
                self._strings = strings
            self._strings[code] = value
        return code

    def _grow(self, capacity: int) -> None:
        values = np.zeros((capacity, len(self._fields)), dtype=np.int32)
        values[: len(self._values)] = self._values
        self._values = values
        kinds = np.zeros(capacity, dtype=np.int8)
        kinds[: len(self._kinds)] = self._kinds
        self._kinds = kinds
        order = np.zeros(capacity, dtype=np.int64)
        order[: len(self._order)] = self._order
        self._order = order
        for chains in self._chains:
            chains.grow(capacity)

    def _row(self, slot: int) -> dict[str, str]:
        codes = self._values[slot].tolist()
        return {
            f.name: self._strings[c] for f, c in zip(self._fields, codes, strict=True)
        }

    def _slot(self, record_id: str) -> int:
        slot = self._slots.get(record_id)
        if slot is None:
            raise NotFound(_ENTITY, record_id)
        return slot

    def _record_id(self, record: Mapping[str, str | None]) -> str:
        value = record.get(self.id_field)
        text = "" if value is None else str(value).strip()
        if not text:
            raise ValidationError.single(
                self.id_field, value, "required", "an indexed record needs an id"
            )
        return text

    def _normalise(self, record: Mapping[str, str | None]) -> dict[str, str]:
        """Each field normalised; recent raw values are remembered (names repeat)."""
        cache = self._normalised
        normalised = {}
        for field in self._fields:
            raw = _text(record.get(field.name))
            key = (field.kind, raw)
            value = cache.get(key)
            if value is None:
                value = self._normalizer.normalize(field.kind, raw)
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[key] = value
            normalised[field.name] = value
        return normalised


def _blob(data: object) -> npt.NDArray[np.uint8]:
    return np.frombuffer(json.dumps(data).encode(), dtype=np.uint8)


def _check_query(limit: int | None, min_probability: float) -> None:
    errors = []
    if limit is not None and limit < 0:
        errors.append(FieldError("limit", limit, "minimum", "a limit is 0 or more"))
    if not 0.0 <= min_probability <= 1.0:
        errors.append(
            FieldError(
                "min_probability",
                min_probability,
                "range",
                "a probability is in [0, 1]",
            )
        )
    if errors:
        raise ValidationError(errors)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
