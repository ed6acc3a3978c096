"""Batch deduplication: normalise, block, score, decide, cluster, explain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from crmkit._forked import can_fork, cores, in_parts
from crmkit._gc import cyclic_gc_paused
from crmkit.dedup._blocking import BlockingReport, candidate_pairs
from crmkit.dedup._cluster import cluster
from crmkit.dedup._codes import Encoded, encode
from crmkit.dedup._compare import Comparator, compare_codes
from crmkit.dedup._config import (
    Condition,
    DedupConfig,
    FellegiSunter,
    Field,
    Method,
    RuleGroup,
    Training,
)
from crmkit.dedup._defaults import contact_config
from crmkit.dedup._explain import FieldEvidence, PairExplanation
from crmkit.dedup._model import (
    levels_of,
    match_weights,
    pair_frequencies,
    probability,
    term_frequencies,
    tf_adjustment,
    train_em,
    train_pseudo_labelled,
)
from crmkit.dedup._normalize import FieldKind, Normalizer
from crmkit.dedup._tables import Tables
from crmkit.errors import FieldError, ValidationError

__all__ = ["DedupResult", "find_duplicates", "prepare"]

Indices = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
_MIN_TRAINING_RECORDS: Final = 500
_SWAP_MARGIN: Final = 0.3
_SWAP_MIN: Final = 1.7
_SWAP_SCALE: Final = 2.0  # the most two name scores add up to
_ALL: Final = slice(None)
_PAIRS_AT_ONCE: Final = 1_000_000  # scored together; training samples this many
_EXPLAINED_AT_ONCE: Final = 1000
_IDS_SHOWN: Final = 10  # duplicate ids named: enough to act on
_TOLERANCE: Final = 1e-9  # a score this close under a threshold reaches it
_FORKED_FROM: Final = 20_000  # records or pairs: below, a fork costs what it saves
# What normalising a field of 100,000 contacts costs, roughly, by kind (other
# kinds: 1), to share fields out evenly between processes.
_NORMALISING_COST: Final = {
    FieldKind.EMAIL: 22,
    FieldKind.PHONE: 22,
    FieldKind.STREET: 18,
    FieldKind.COMPANY: 9,
    FieldKind.GIVEN_NAME: 5,
    FieldKind.FAMILY_NAME: 4,
}


@attrs.frozen
class _Scored:
    left: Indices
    right: Indices
    sides: _Sides
    swapped: Bools
    scores: dict[tuple[str, Comparator], Floats]
    levels: npt.NDArray[np.int8]
    weights: Floats
    total: Floats
    probability: Floats
    rule: npt.NDArray[np.int16]
    veto: npt.NDArray[np.int16]
    matched: Bools


@attrs.frozen
class _Evidence:
    """Per pair: agreement levels, tf frequencies (by comparison), rule and veto."""

    levels: npt.NDArray[np.int8]
    frequencies: dict[int, Floats]
    rule: npt.NDArray[np.int16]
    veto: npt.NDArray[np.int16]

    @classmethod
    def joined(cls, parts: Sequence[_Evidence]) -> _Evidence:
        """The evidence of consecutive batches of pairs, as one."""
        return cls(
            levels=np.concatenate([p.levels for p in parts]),
            frequencies={
                k: np.concatenate([p.frequencies[k] for p in parts])
                for k in parts[0].frequencies
            },
            rule=np.concatenate([p.rule for p in parts]),
            veto=np.concatenate([p.veto for p in parts]),
        )


@attrs.frozen
class _Decisions:
    """What clustering and explanations keep of every compared pair."""

    left: Indices
    right: Indices
    probability: Floats
    matched: Bools
    vetoed: Bools

    @classmethod
    def of(cls, scored: _Scored) -> _Decisions:
        """The decisions of pairs scored at once."""
        return cls(
            scored.left,
            scored.right,
            scored.probability,
            scored.matched,
            scored.veto >= 0,
        )


class _Gathered(dict[str, Indices]):
    """Each field's codes for some records, gathered when first read."""

    def __init__(self, codes: Mapping[str, Indices], records: Indices) -> None:
        super().__init__()
        self._codes = codes
        self._records = records

    def __missing__(self, field: str) -> Indices:
        self[field] = gathered = self._codes[field][self._records]
        return gathered


class _Sides:
    """The left and right values of a batch of pairs, and their scores so far."""

    def __init__(
        self,
        scorer: _Scorer,
        left: Indices,
        right: Indices,
        *,
        decisions_only: bool = False,
    ) -> None:
        self.floors = scorer.floors if decisions_only else {}
        self.left_codes = _Gathered(scorer.codes, left)
        self.right_codes = _Gathered(scorer.codes, right)
        self.vocabulary = scorer.vocabulary
        self.tables = scorer.tables
        self.workers = scorer.workers
        self.size = len(left)
        self.swapped: Bools = np.zeros(self.size, dtype=bool)
        self.cache: dict[tuple[str, Comparator], Floats] = {}
        self.evidence: _Evidence | None = None

    def _compare(
        self,
        comparator: Comparator,
        left: str,
        right: str,
        rows: Indices | slice = _ALL,
        scale: float = 1.0,
    ) -> Floats:
        return compare_codes(
            comparator,
            self.vocabulary,
            self.left_codes[left][rows],
            self.right_codes[right][rows],
            tables=self.tables,
            scale=scale,
            workers=self.workers,
            floor=self.floors.get((left, comparator), 0.0) if left == right else 0.0,
        )

    def score(self, field: str, comparator: Comparator, scale: float = 1.0) -> Floats:
        """Scores of one field by one comparator, computed once."""
        key = (field, comparator)
        if key not in self.cache:
            self.cache[key] = self._compare(comparator, field, field, scale=scale)
        return self.cache[key]

    def score_rows(self, field: str, comparator: Comparator, rows: Indices) -> Floats:
        """Scores of some pairs: looked up if all were computed, else just theirs."""
        key = (field, comparator)
        if key in self.cache or len(rows) == self.size:
            return self.score(field, comparator)[rows]
        return self._compare(comparator, field, field, rows)

    def swap_names(self, given: str, family: str) -> None:
        """
        Compare given and family names crossed where that agrees much better.

        Crossed names are compared only where the direct scores leave room for
        a better crossed score.
        """
        direct = {name: self.score(name, Comparator.NAME) for name in (given, family)}
        total = _filled(direct[given]) + _filled(direct[family])
        rows = np.flatnonzero(total < _SWAP_SCALE - _SWAP_MARGIN)
        crossed = {
            given: self._compare(Comparator.NAME, given, family, rows),
            family: self._compare(Comparator.NAME, family, given, rows),
        }
        crossed_total = _filled(crossed[given]) + _filled(crossed[family])
        better = (crossed_total > total[rows] + _SWAP_MARGIN) & (
            crossed_total >= _SWAP_MIN
        )
        swapped = rows[better]
        self.cross(given, family, swapped)
        for name in (given, family):
            scores = direct[name].copy()
            scores[swapped] = crossed[name][better]
            self.cache[(name, Comparator.NAME)] = scores

    def cross(self, given: str, family: str, rows: Indices) -> None:
        """Compare the right side's given and family names crossed in some pairs."""
        self.swapped[rows] = True
        g, f = self.right_codes[given].copy(), self.right_codes[family].copy()
        g[rows], f[rows] = f[rows], g[rows]
        self.right_codes[given], self.right_codes[family] = g, f
        self.cache.clear()


def _floors(config: DedupConfig) -> dict[tuple[str, Comparator], float]:
    """
    Per field and comparator, the score below which no level or rule tells apart.

    The names compared both ways round are left out: swapping adds their scores.
    """
    thresholds: dict[tuple[str, Comparator], list[float]] = {}
    for c in config.comparisons:
        thresholds.setdefault((c.field, c.comparator), []).extend(c.levels)
    for group in (*config.rules.groups, *config.vetoes.groups):
        for condition in group.conditions:
            key = (condition.field, condition.comparator)
            thresholds.setdefault(key, []).append(condition.threshold)
    return {
        key: max(0.0, min(values) - _TOLERANCE)
        for key, values in thresholds.items()
        if key[0] not in config.names
    }


def _filled(scores: Floats) -> Floats:
    """Scores with blanks (NaN) as 0: `numpy.nan_to_num` without its checks for inf."""
    filled: Floats = np.where(np.isnan(scores), 0.0, scores)
    return filled


def _holds(condition: Condition, scores: Floats) -> Bools:
    """Where a condition holds, blanks answering ``if_blank``."""
    blank = np.isnan(scores)
    filled = np.where(blank, 0.0, scores)
    if condition.below:
        result = filled < condition.threshold
    else:
        result = filled >= condition.threshold - _TOLERANCE
    held: Bools = np.where(blank, condition.if_blank, result)
    return held


def _first_group(groups: Sequence[RuleGroup], sides: _Sides) -> npt.NDArray[np.int16]:
    """
    Per pair, the index of the first group whose conditions all hold, or -1.

    Each condition is tested only on the pairs that passed the ones before it.
    """
    first = np.full(sides.size, -1, dtype=np.int16)
    for g, group in reversed(list(enumerate(groups))):
        rows = np.arange(sides.size)
        for condition in group.conditions:
            scores = sides.score_rows(condition.field, condition.comparator, rows)
            rows = rows[_holds(condition, scores)]
        first[rows] = g
    return first


class _Scorer:
    """Scores pairs of one normalised data set under one configuration."""

    def __init__(
        self,
        config: DedupConfig,
        columns: Mapping[str, npt.NDArray[np.object_]],
        tables: Tables,
        threshold: float,
        workers: int,
        *,
        coded: Encoded | None = None,
        tf: Mapping[str, Mapping[str, float]] | None = None,
        processes: int = 1,
    ) -> None:
        """``processes``: how many may share the scoring of many pairs (forked)."""
        self.config = config
        self.columns = columns
        self.vocabulary, self.codes = coded or encode(columns)
        self.tables = tables
        self.threshold = threshold
        self.workers = workers
        self.processes = processes
        self.model = config.model
        self.floors = _floors(config)
        self.tf = (
            tf
            if tf is not None
            else {
                c.field: term_frequencies(columns[c.field].tolist())
                for c in config.comparisons
                if c.tf_adjust
            }
        )

    def _sides(
        self, left: Indices, right: Indices, *, decisions_only: bool = False
    ) -> _Sides:
        processes = min(self.processes, len(left) // _FORKED_FROM)
        if decisions_only and processes > 1:
            return self._sides_in_parts(left, right, processes)
        return self._sides_here(left, right, decisions_only=decisions_only)

    def _sides_here(
        self, left: Indices, right: Indices, *, decisions_only: bool
    ) -> _Sides:
        """`_sides` computed in this process, names crossed where they agree better."""
        sides = _Sides(self, left, right, decisions_only=decisions_only)
        if self.config.names:
            sides.swap_names(*self.config.names)
        return sides

    def _decision_evidence(
        self, left: Indices, right: Indices
    ) -> tuple[_Evidence, Bools]:
        """The evidence decisions need, and which pairs had their names crossed."""
        sides = self._sides_here(left, right, decisions_only=True)
        return self._evidence(sides), sides.swapped

    def _sides_in_parts(self, left: Indices, right: Indices, processes: int) -> _Sides:
        """
        Decision sides whose evidence was found in ``processes`` parts at once.

        Every pair's evidence is its own, so consecutive runs of pairs are
        scored in forked copies of this process and joined.
        """
        bounds = np.linspace(0, len(left), processes + 1).astype(np.int64).tolist()
        found = in_parts(
            self._decision_evidence,
            [(left[a:b], right[a:b]) for a, b in pairwise(bounds)],
        )
        sides = _Sides(self, left, right, decisions_only=True)
        if self.config.names:
            swapped = np.concatenate([crossed for _, crossed in found])
            given, family = self.config.names
            sides.cross(given, family, np.flatnonzero(swapped))
        sides.evidence = _Evidence.joined([evidence for evidence, _ in found])
        return sides

    def levels(self, left: Indices, right: Indices) -> npt.NDArray[np.int8]:
        """Agreement levels only (for training)."""
        sides = self._sides(left, right, decisions_only=True)
        return self._evidence(sides).levels

    def _evidence(self, sides: _Sides) -> _Evidence:
        """What the pairs show whatever the model: levels, rules, vetoes (once)."""
        if sides.evidence is None:
            comparisons = self.config.comparisons
            levels = np.zeros((sides.size, len(comparisons)), dtype=np.int8)
            for k, c in enumerate(comparisons):
                scores = sides.score(c.field, c.comparator, c.scale)
                levels[:, k] = levels_of(c, scores)
            sides.evidence = _Evidence(
                levels=levels,
                frequencies={
                    k: pair_frequencies(
                        self.vocabulary,
                        sides.left_codes[c.field],
                        sides.right_codes[c.field],
                        tf=self.tf[c.field],
                        agreeing=levels[:, k] == 0,
                    )
                    for k, c in enumerate(comparisons)
                    if c.tf_adjust
                },
                rule=_first_group(self.config.rules.groups, sides),
                veto=_first_group(self.config.vetoes.groups, sides),
            )
        return sides.evidence

    def score(
        self,
        left: Indices,
        right: Indices,
        sides: _Sides | None = None,
        *,
        decisions_only: bool = False,
    ) -> _Scored:
        """
        Everything about each pair: scores, levels, weights, decision.

        ``sides`` from an earlier call on the same pairs reuses its comparator
        scores, levels and rules (only the model changed). ``decisions_only``:
        scores below every threshold reading them may be 0 (see `_floors`),
        which is enough for everything but explanations.
        """
        sides = sides or self._sides(left, right, decisions_only=decisions_only)
        evidence = self._evidence(sides)
        levels, rule, veto = evidence.levels, evidence.rule, evidence.veto
        weights, prior = match_weights(self.model, levels)
        for k, frequency in evidence.frequencies.items():
            weights[:, k] += tf_adjustment(self.model.u[k][0], frequency)
        total = weights.sum(axis=1) + prior
        prob = probability(total)
        if self.config.method is Method.RULES:
            matched = rule >= 0
        else:
            matched = prob >= self.threshold
        matched &= veto < 0
        return _Scored(
            left=left,
            right=right,
            sides=sides,
            swapped=sides.swapped,
            scores=sides.cache,
            levels=levels,
            weights=weights,
            total=total,
            probability=prob,
            rule=rule,
            veto=veto,
            matched=matched,
        )

    def rescore(
        self, left: Indices, right: Indices, known: _Decisions | None = None
    ) -> tuple[Floats, Bools, Bools]:
        """
        For clustering: probability, matched and vetoed per pair ``i < j``.

        Pairs among ``known`` (scored with the same model, sorted as blocking
        sorts them) are looked up rather than scored again.
        """
        prob = np.zeros(len(left))
        matched = np.zeros(len(left), dtype=bool)
        vetoed = np.zeros(len(left), dtype=bool)
        missing = np.arange(len(left))
        if known is not None and len(known.left):
            width = len(next(iter(self.codes.values())))  # records
            codes = known.left * width + known.right
            asked = left * width + right
            where = np.minimum(np.searchsorted(codes, asked), len(codes) - 1)
            found = codes[where] == asked
            rows = where[found]
            prob[found] = known.probability[rows]
            matched[found] = known.matched[rows]
            vetoed[found] = known.vetoed[rows]
            missing = np.flatnonzero(~found)
        scored = _decide(self, left[missing], right[missing], None)
        prob[missing] = scored.probability
        matched[missing] = scored.matched
        vetoed[missing] = scored.vetoed
        return prob, matched, vetoed

    def train(self, left: Indices, right: Indices, training: Training) -> _Sides:
        """
        Fit m, u and the prior to the candidate pairs (see `Training`).

        u is learnt among candidates, not random pairs: candidates that are not
        matches still agree more than random pairs do (a household shares its
        address), and those are the pairs that get scored.
        """
        comparisons = self.config.comparisons
        scored = self.score(left, right, decisions_only=True)
        if training is Training.EM:
            self.model = train_em(self.model, comparisons, scored.levels, update_u=True)
            return scored.sides
        if self.config.rules.groups:
            labels = (scored.rule >= 0) & (scored.veto < 0)
            self.model = train_pseudo_labelled(
                self.model, comparisons, scored.levels, labels
            )
            scored = self.score(left, right, scored.sides)
        self.model = train_pseudo_labelled(
            self.model, comparisons, scored.levels, scored.matched
        )
        return scored.sides

    def reason(self, scored: _Scored, i: int) -> str:
        """The decision on pair ``i`` in words."""
        if scored.veto[i] >= 0:
            return f"veto: {self.config.vetoes.groups[scored.veto[i]].name}"
        if self.config.method is Method.RULES:
            if scored.rule[i] >= 0:
                return f"rule: {self.config.rules.groups[scored.rule[i]].name}"
            return "no rule holds"
        sign = ">=" if scored.probability[i] >= self.threshold else "<"
        return f"probability {scored.probability[i]:.3f} {sign} {self.threshold}"

    def explain(self, scored: _Scored, i: int, ids: Sequence[str]) -> PairExplanation:
        """Pair ``i`` of ``scored`` with its evidence."""
        left, right = int(scored.left[i]), int(scored.right[i])
        swap = bool(scored.swapped[i])
        evidence = []
        for k, c in enumerate(self.config.comparisons):
            a = str(self.columns[c.field][left])
            b_field = c.field
            if swap and c.field in self.config.names:
                b_field = self.config.names[1 - self.config.names.index(c.field)]
            b = str(self.columns[b_field][right])
            value = float(scored.scores[(c.field, c.comparator)][i])
            known = not np.isnan(value)
            evidence.append(
                FieldEvidence(
                    field=c.field,
                    comparator=c.comparator,
                    left=a,
                    right=b,
                    score=round(value, 4) if known else None,
                    level=int(scored.levels[i, k]) if known else None,
                    weight=round(float(scored.weights[i, k]), 3),
                )
            )
        return PairExplanation(
            left_id=ids[left],
            right_id=ids[right],
            probability=round(float(scored.probability[i]), 6),
            match_weight=round(float(scored.total[i]), 3),
            matched=bool(scored.matched[i]),
            reason=self.reason(scored, i),
            swapped_names=swap,
            fields=tuple(evidence),
        )


@attrs.frozen
class DedupResult:
    """
    The outcome of `find_duplicates`: clusters, explanations, blocking report.

    Attributes:
        ids: The record ids, in input order.
        cluster_ids: Each record's cluster id (the id of its cluster's first
            record in input order; a singleton is its own cluster).
        model: The model used (trained on the data when the configuration says so).
        blocking: Pairs generated per key, in all, and blocks skipped.
        split_clusters: Groups the chaining guard split.

    .. versionadded:: 0.1
    """

    ids: tuple[str, ...]
    cluster_ids: tuple[str, ...]
    model: FellegiSunter
    blocking: BlockingReport
    split_clusters: int
    _scorer: _Scorer = attrs.field(eq=False, repr=False, alias="_scorer")
    _decisions: _Decisions = attrs.field(eq=False, repr=False, alias="_decisions")

    @property
    def clusters(self) -> tuple[tuple[str, ...], ...]:
        """Clusters of two or more records, each in input order."""
        members: dict[str, list[str]] = {}
        for record_id, cluster_id in zip(self.ids, self.cluster_ids, strict=True):
            members.setdefault(cluster_id, []).append(record_id)
        return tuple(tuple(m) for m in members.values() if len(m) > 1)

    @property
    def candidate_pairs(self) -> Iterator[tuple[str, str]]:
        """Every pair blocking generated, by ids."""
        ids = self.ids
        for a, b in zip(
            self._decisions.left.tolist(), self._decisions.right.tolist(), strict=True
        ):
            yield ids[a], ids[b]

    def pairs(
        self, *, min_probability: float = 0.0, matched_only: bool = False
    ) -> Iterator[PairExplanation]:
        """
        Explanations of the compared pairs, most probable first.

        Args:
            min_probability: Skip pairs less probable than this.
            matched_only: Only the pairs declared matches.
        """
        decisions = self._decisions
        keep = decisions.probability >= min_probability
        if matched_only:
            keep &= decisions.matched
        indices = np.flatnonzero(keep)
        order = indices[np.argsort(-decisions.probability[indices], kind="stable")]
        for start in range(0, len(order), _EXPLAINED_AT_ONCE):
            rows = order[start : start + _EXPLAINED_AT_ONCE]
            scored = self._scorer.score(decisions.left[rows], decisions.right[rows])
            for i in range(len(rows)):
                yield self._scorer.explain(scored, i, self.ids)

    def explain(self, left_id: str, right_id: str) -> PairExplanation:
        """
        Score and explain any two records of the input, compared or not.

        Raises:
            NotFound: An id that is not in the input.
        """
        from crmkit.errors import NotFound  # noqa: PLC0415 (keeps the import list short)

        index = {record_id: i for i, record_id in enumerate(self.ids)}
        for record_id in (left_id, right_id):
            if record_id not in index:
                raise NotFound("record", record_id)
        scored = self._scorer.score(
            np.asarray([index[left_id]], dtype=np.int64),
            np.asarray([index[right_id]], dtype=np.int64),
        )
        return self._scorer.explain(scored, 0, self.ids)


def _normalise(
    records: Sequence[Mapping[str, str | None]],
    fields: Sequence[Field],
    normalizer: Normalizer,
    processes: int = 1,
) -> Encoded:
    """
    `encode` of the records' normalised fields, each distinct value normalised once.

    The blank value is index 0. With ``processes`` over 1 (and records enough),
    the fields are shared out between forked copies of this process.
    """
    groups = _shared_out(fields, min(processes, len(records) // _FORKED_FROM))
    if len(groups) < 2:  # noqa: PLR2004 (one group: nothing to share)
        return _normalise_fields(records, fields, normalizer)
    parts = in_parts(
        _normalise_fields, [(records, group, normalizer) for group in groups]
    )
    lookup: dict[str, int] = {}
    codes = {}
    for vocabulary, part_codes in parts:
        renumbered = np.fromiter(
            (lookup.setdefault(v, len(lookup)) for v in vocabulary.tolist()),
            dtype=np.int64,
            count=len(vocabulary),
        )
        codes.update({name: renumbered[c] for name, c in part_codes.items()})
    return np.asarray(list(lookup), dtype=object), {
        f.name: codes[f.name] for f in fields
    }


def _shared_out(fields: Sequence[Field], processes: int) -> list[list[Field]]:
    """
    The fields in at most ``processes`` groups of about the same normalising cost.

    The costliest first, each to the group with the least so far.
    """
    groups: list[list[Field]] = [[] for _ in range(max(processes, 1))]
    loads = [0] * len(groups)
    for field in sorted(fields, key=lambda f: -_NORMALISING_COST.get(f.kind, 1)):
        lightest = loads.index(min(loads))
        groups[lightest].append(field)
        loads[lightest] += _NORMALISING_COST.get(field.kind, 1)
    return [group for group in groups if group]


def _normalise_fields(
    records: Sequence[Mapping[str, str | None]],
    fields: Sequence[Field],
    normalizer: Normalizer,
) -> Encoded:
    """`_normalise` in this process."""
    lookup = {"": 0}
    codes = {}
    for field in fields:
        raw = [r.get(field.name) for r in records]
        distinct = dict.fromkeys(raw, 0)
        for value in distinct:
            normal = normalizer.normalize(field.kind, _text(value))
            distinct[value] = lookup.setdefault(normal, len(lookup))
        codes[field.name] = np.fromiter(
            map(distinct.__getitem__, raw), dtype=np.int64, count=len(raw)
        )
    return np.asarray(list(lookup), dtype=object), codes


def _read_ids(
    records: Sequence[Mapping[str, str | None]], id_field: str
) -> tuple[str, ...]:
    raw = [record.get(id_field) for record in records]
    ids = tuple("" if value is None else str(value).strip() for value in raw)
    errors = [
        FieldError(f"[{row}].{id_field}", value, "required", "every record needs an id")
        for row, (value, text) in enumerate(zip(raw, ids, strict=True))
        if not text
    ]
    if len(set(ids)) < len(ids):
        duplicates = sorted(v for v, n in Counter(ids).items() if n > 1 and v)
        if duplicates:
            shown = ", ".join(duplicates[:_IDS_SHOWN])
            more = " ..." if len(duplicates) > _IDS_SHOWN else ""
            errors.append(
                FieldError(
                    id_field, duplicates, "unique", f"duplicate ids: {shown}{more}"
                )
            )
    if errors:
        raise ValidationError(errors)
    return ids


def prepare(
    records: Sequence[Mapping[str, str | None]],
    config: DedupConfig,
    *,
    id_field: str,
    threshold: float | None,
    tables: Tables | None,
    workers: int,
) -> tuple[tuple[str, ...], Indices, Indices, BlockingReport, _Scorer]:
    """
    Read ids, normalise, block, and build the scorer for a batch.

    ``workers`` cores: one process each where forking is safe (rapidfuzz then
    uses one thread in each), else rapidfuzz's threads.
    """
    tables = tables or Tables.default()
    wanted = cores(workers)
    processes = wanted if can_fork() else 1
    if processes > 1:
        workers = 1
    ids = _read_ids(records, id_field)
    coded = _normalise(
        records,
        config.fields,
        Normalizer(
            tables=tables, default_region=config.region, plus_tags=config.plus_tags
        ),
        processes,
    )
    vocabulary, codes = coded
    columns = {name: vocabulary[column] for name, column in codes.items()}
    left, right, report = candidate_pairs(
        config.blocking,
        columns,
        tables=tables,
        max_block_size=config.max_block_size,
        coded=coded,
    )
    scorer = _Scorer(
        config,
        columns,
        tables,
        config.threshold if threshold is None else threshold,
        workers,
        coded=coded,
        processes=processes,
    )
    return ids, left, right, report, scorer


def training_sample(count: int) -> Indices | slice:
    """All pairs, or a fixed random sample of them when there are too many."""
    if count <= _PAIRS_AT_ONCE:
        return _ALL
    chosen = np.random.default_rng(0).choice(count, _PAIRS_AT_ONCE, replace=False)
    return np.sort(chosen)


def _decide(
    scorer: _Scorer, left: Indices, right: Indices, sides: _Sides | None
) -> _Decisions:
    """
    Score every pair, `_PAIRS_AT_ONCE` at a time (memory stays bounded).

    ``sides``: the scores of all the pairs, when training computed them.
    """
    if sides is not None:
        return _Decisions.of(scorer.score(left, right, sides))
    probability = np.zeros(len(left))
    matched = np.zeros(len(left), dtype=bool)
    vetoed = np.zeros(len(left), dtype=bool)
    for start in range(0, len(left), _PAIRS_AT_ONCE):
        rows = slice(start, start + _PAIRS_AT_ONCE)
        part = _Decisions.of(scorer.score(left[rows], right[rows], decisions_only=True))
        probability[rows] = part.probability
        matched[rows] = part.matched
        vetoed[rows] = part.vetoed
    return _Decisions(left, right, probability, matched, vetoed)


@cyclic_gc_paused()  # it makes many objects, none in cycles
def find_duplicates(
    records: Sequence[Mapping[str, str | None]],
    config: DedupConfig | None = None,
    *,
    id_field: str = "id",
    threshold: float | None = None,
    tables: Tables | None = None,
    workers: int = 1,
) -> DedupResult:
    """
    Find the records that denote the same person (or company) in a batch.

    >>> result = find_duplicates(
    ...     [
    ...         {
    ...             "id": "1",
    ...             "first_name": "Robert",
    ...             "last_name": "Dupont",
    ...             "email": "bob@x.fr",
    ...         },
    ...         {
    ...             "id": "2",
    ...             "first_name": "Bob",
    ...             "last_name": "DUPONT",
    ...             "email": "Bob@X.fr",
    ...         },
    ...         {
    ...             "id": "3",
    ...             "first_name": "Marie",
    ...             "last_name": "Dupont",
    ...             "email": "m@x.fr",
    ...         },
    ...     ]
    ... )
    >>> result.cluster_ids
    ('1', '1', '3')

    Args:
        records: Mappings of field name to text; a missing field is blank.
        config: What to compare and how (default: `contact_config`).
        id_field: The field holding each record's unique id.
        threshold: Override the configuration's match probability threshold.
        tables: Normalisation tables (default: the shipped ones).
        workers: The cores to use (``-1``: all). On Linux (not on macOS or
            Windows), normalising and scoring are shared between this process
            and forked copies of it, one per core, when no other Python
            thread runs (a fork copies only the calling thread, and a lock
            another one held would stay locked in the copy); otherwise
            rapidfuzz's batch comparisons use that many threads. The results
            are the same either way.

    Raises:
        ValidationError: A record without id, or ids used twice (all named).
        ValueError: ``workers`` is 0 or below -1.
    """
    config = config or contact_config()
    ids, left, right, report, scorer = prepare(
        records,
        config,
        id_field=id_field,
        threshold=threshold,
        tables=tables,
        workers=workers,
    )
    trained = None
    if config.training is not Training.NONE and len(records) >= _MIN_TRAINING_RECORDS:
        sample = training_sample(len(left))
        sides = scorer.train(left[sample], right[sample], config.training)
        trained = sides if len(left) <= _PAIRS_AT_ONCE else None
    decisions = _decide(scorer, left, right, trained)
    labels, split = cluster(
        len(records),
        left[decisions.matched],
        right[decisions.matched],
        decisions.probability[decisions.matched],
        lambda lefts, rights: scorer.rescore(lefts, rights, decisions),
        cohesion=config.cohesion,
    )
    return DedupResult(
        ids=ids,
        cluster_ids=tuple(ids[label] for label in labels.tolist()),
        model=scorer.model,
        blocking=report,
        split_clusters=split,
        _scorer=scorer,
        _decisions=decisions,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
