"""Dedup definitions as data: fields, comparisons, rules, blocking keys, the model."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import tomli_w

from crmkit._definitions import format_of, line_of, parse, read_text
from crmkit.dedup._compare import Comparator
from crmkit.dedup._normalize import FieldKind, PlusTags
from crmkit.errors import InvalidDefinition, ValidationError

__all__ = [
    "BlockingKey",
    "Comparison",
    "Condition",
    "DedupConfig",
    "FellegiSunter",
    "Field",
    "KeyPart",
    "KeyTransform",
    "MatchingRules",
    "Method",
    "RuleGroup",
    "Training",
]


@attrs.frozen
class Field:
    """
    A column of the records and the kind of value it holds.

    .. versionadded:: 0.1
    """

    name: str
    kind: FieldKind


@attrs.frozen
class Comparison:
    """
    One field compared by one comparator, cut into agreement levels.

    A score at or above ``levels[0]`` is level 0 (the strongest agreement), at or
    above ``levels[1]`` level 1, and so on; below the last threshold is the last
    level (disagreement). A blank side has no level and weighs nothing.

    Attributes:
        field: The field compared.
        comparator: How values are scored.
        levels: Descending score thresholds in (0, 1].
        tf_adjust: Weigh an exact agreement by how rare the value is
            (``Martin`` counts less than ``Vercingétorix``).
        scale: For number and date comparators, the difference scoring 0.

    .. versionadded:: 0.1
    """

    field: str
    comparator: Comparator
    levels: tuple[float, ...] = (1.0,)
    tf_adjust: bool = False
    scale: float = 1.0

    @property
    def name(self) -> str:
        """``field:comparator``, how explanations name it."""
        return f"{self.field}:{self.comparator}"

    @property
    def level_count(self) -> int:
        """Levels including the last one (disagreement)."""
        return len(self.levels) + 1


@attrs.frozen
class Condition:
    """
    ``comparator(field) >= threshold`` on a pair (or ``<`` when ``below``).

    Attributes:
        field: The field compared.
        comparator: How values are scored.
        threshold: The score in [0, 1] the condition tests against.
        below: Hold when the score is under the threshold instead.
        if_blank: What the condition says when either value is blank
            (blank is neither a match nor a difference, so `False` by default).

    .. versionadded:: 0.1
    """

    field: str
    comparator: Comparator
    threshold: float
    below: bool = False
    if_blank: bool = False


@attrs.frozen
class RuleGroup:
    """
    Conditions that must all hold (AND), under a name explanations quote.

    .. versionadded:: 0.1
    """

    name: str
    conditions: tuple[Condition, ...]


@attrs.frozen
class MatchingRules:
    """
    Salesforce-style matching rules: a pair matches when any group holds (OR).

    .. versionadded:: 0.1
    """

    groups: tuple[RuleGroup, ...] = ()

    @property
    def conditions(self) -> Iterable[Condition]:
        """Every condition of every group."""
        return (c for group in self.groups for c in group.conditions)


class KeyTransform(enum.StrEnum):
    """
    How a normalised value becomes part of a blocking key.

    .. versionadded:: 0.1
    """

    VALUE = "value"
    FIRST_LETTER = "first_letter"
    FIRST_3 = "first_3"
    PHONETIC_FR = "phonetic_fr"
    PHONETIC_EN = "phonetic_en"
    NAME_GROUP = "name_group"
    LAST_4_DIGITS = "last_4_digits"
    EMAIL_LOCAL = "email_local"


@attrs.frozen
class KeyPart:
    """
    One field of a blocking key and its transform.

    .. versionadded:: 0.1
    """

    field: str
    transform: KeyTransform = KeyTransform.VALUE


@attrs.frozen
class BlockingKey:
    """
    Records sharing this key (all parts non-blank) become candidate pairs.

    Attributes:
        name: How reports name the key.
        parts: The fields it is built from.
        unordered: Sort the parts' values before joining them, so that first and
            last names swapped still share the key.
        max_block_size: This key's cap on a block (default: the configuration's),
            for a key whose large blocks are mostly namesakes.

    .. versionadded:: 0.1
    """

    name: str
    parts: tuple[KeyPart, ...]
    unordered: bool = False
    max_block_size: int | None = None

    def cap(self, default: int) -> int:
        """The most records a block of this key may hold to be paired."""
        return default if self.max_block_size is None else self.max_block_size


class Training(enum.StrEnum):
    """
    How `find_duplicates` fits the model to the data before scoring it.

    - ``rules``: label the candidate pairs with the matching rules (a precise
      but incomplete start), estimate m and u from those labels, then once more
      from the pairs the model then matches (self-training); each share is
      pulled towards the configured one, so a level the labels never show keeps
      a share.
    - ``em``: expectation-maximisation of m, u and the prior over the candidate
      pairs, without labels. It can settle on the structure blocking put in the
      candidates (pairs sharing a postcode) rather than on matches, so it is not
      the default.
    - ``none``: use the configured m and u as they are.

    .. versionadded:: 0.1
    """

    RULES = "rules"
    EM = "em"
    NONE = "none"


class Method(enum.StrEnum):
    """
    Which decides a match: the probabilistic model or the rules.

    .. versionadded:: 0.1
    """

    MODEL = "model"
    RULES = "rules"


@attrs.frozen
class FellegiSunter:
    """
    Fellegi-Sunter m and u probabilities per comparison level, and the prior.

    ``m[k][l]`` is the probability that a true match agrees at level ``l`` of
    comparison ``k``; ``u[k][l]`` the same for two different records. A pair's
    match weight is ``log2(prior / (1 - prior)) + sum(log2(m / u))`` over its
    non-blank comparisons, and its probability ``2**w / (1 + 2**w)``.

    Attributes:
        m: Per comparison, per level: P(level | match).
        u: Per comparison, per level: P(level | non-match).
        prior: The probability that a candidate pair is a match.

    .. versionadded:: 0.1
    """

    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    prior: float = 0.3


@attrs.frozen
class DedupConfig:
    """
    Everything `find_duplicates` needs, as data (TOML or JSON round-trip).

    Attributes:
        fields: The record columns used, with their kinds.
        comparisons: How pairs are compared (the model's terms).
        model: Shipped m/u weights for the comparisons, in order.
        blocking: Keys that pick candidate pairs (their union is compared).
        rules: Matching rules (used when ``method`` is ``rules``).
        vetoes: Rule groups that, when one holds, keep a pair apart whatever
            its score (a different first name and email at one address is a
            different person).
        method: `Method.MODEL` (probability) or `Method.RULES`.
        threshold: The match probability at or above which a pair matches.
        names: The given and family name fields, compared both ways round to
            catch swapped names; empty to turn that off.
        max_block_size: Blocks with more records are skipped (and reported):
            past 15 records sharing a key, they are mostly namesakes, and the
            pairs grow as the square of the block.
        training: How the model is fitted to the data (500 records or more).
        cohesion: In a cluster of three or more, two parts are joined only if
            their members' mean match probability reaches this.
        region: Phone region for numbers without ``+country``.
        plus_tags: Which email addresses lose their ``+tag``.

    .. versionadded:: 0.1
    """

    fields: tuple[Field, ...]
    comparisons: tuple[Comparison, ...]
    model: FellegiSunter
    blocking: tuple[BlockingKey, ...]
    rules: MatchingRules = MatchingRules()
    vetoes: MatchingRules = MatchingRules()
    method: Method = Method.MODEL
    threshold: float = 0.9
    names: tuple[str, ...] = ()
    max_block_size: int = 15
    training: Training = Training.RULES
    cohesion: float = 0.5
    region: str | None = "FR"
    plus_tags: PlusTags = PlusTags.KNOWN

    def __attrs_post_init__(self) -> None:
        _check(self)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The record columns, in order."""
        return tuple(f.name for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        from crmkit.serialization import to_dict  # noqa: PLC0415 (serialization imports model, not dedup)

        data: dict[str, Any] = to_dict(self)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> DedupConfig:
        """
        Build a configuration from plain data.

        Raises:
            ValidationError: An unknown key (a typo) or a wrong type, with its path.
            InvalidDefinition: A configuration that cannot work, with its path.
        """
        from crmkit.serialization import from_dict  # noqa: PLC0415 (see to_dict)

        return from_dict(cls, data)

    def to_toml(self) -> str:
        """The configuration as a TOML document."""
        return tomli_w.dumps(_without_none(self.to_dict()))

    @classmethod
    def from_toml(cls, text: str) -> DedupConfig:
        """
        Read a configuration from TOML text.

        Raises:
            ValidationError: Malformed TOML (with line and column), an unknown key
                or a wrong type (with its path, line and column).
        """
        return _read(text, format="toml")

    @classmethod
    def from_file(cls, path: str | Path) -> DedupConfig:
        """
        Read a configuration from a ``.toml`` or ``.json`` file.

        Raises:
            ValidationError: As `from_toml`, with the file named.
            InvalidDefinition: Another suffix, or bytes that are not UTF-8.
            OSError: The file cannot be read.
        """
        path = Path(path)
        format = format_of(path, _FORMATS)  # noqa: A001 - the file format
        try:
            return _read(read_text(path), format=format, file=str(path))
        except ValidationError as error:
            error.add_note(f"in {path}")
            raise


_FORMATS: Final = ("toml", "json")


def _read(text: str, *, format: str, file: str = "<text>") -> DedupConfig:  # noqa: A002 - the file format
    """A configuration from definition text, each problem placed in the text."""
    try:
        parsed = parse(text, format=format, file=file, formats=_FORMATS)
    except InvalidDefinition as error:  # unreadable: a ValidationError, as documented
        line = line_of(text, error.line) if error.line else text
        raise ValidationError.single(
            "",
            line,
            f"{format}.invalid",
            f"{error.reason} (at line {error.line}, column {error.column})",
        ) from None
    try:
        return DedupConfig.from_dict(parsed.data)
    except ValidationError as error:
        raise parsed.located_fields(error) from None


def _check(config: DedupConfig) -> None:
    known = frozenset(config.field_names)
    if len(known) != len(config.fields):
        raise InvalidDefinition("fields", "a field is declared twice")
    _check_comparisons(config, known)
    _check_model(config)
    _check_rules(config, known)
    _check_blocking(config, known)
    if config.names and len(config.names) != 2:  # noqa: PLR2004 (given, family)
        raise InvalidDefinition("names", "give two fields: the given and family names")
    for name in config.names:
        _need("names", name, known)
    for path, value in (("threshold", config.threshold), ("cohesion", config.cohesion)):
        if not 0 < value < 1:
            raise InvalidDefinition(path, f"{value} is not strictly between 0 and 1")
    if config.max_block_size < 2:  # noqa: PLR2004 (a block needs a pair)
        raise InvalidDefinition("max_block_size", f"{config.max_block_size} < 2")


def _need(path: str, name: str, known: frozenset[str]) -> None:
    if name not in known:
        raise InvalidDefinition(
            path, f"unknown field {name!r}; declared: {', '.join(sorted(known))}"
        )


def _check_comparisons(config: DedupConfig, known: frozenset[str]) -> None:
    for i, comparison in enumerate(config.comparisons):
        _need(f"comparisons[{i}].field", comparison.field, known)
        levels = list(comparison.levels)
        descending = levels == sorted(set(levels), reverse=True)
        if not levels or not descending or any(not 0 < t <= 1 for t in levels):
            raise InvalidDefinition(
                f"comparisons[{i}].levels",
                f"{levels} must be strictly descending thresholds in (0, 1]",
            )


def _check_rules(config: DedupConfig, known: frozenset[str]) -> None:
    for name, rules in (("rules", config.rules), ("vetoes", config.vetoes)):
        for g, group in enumerate(rules.groups):
            if not group.conditions:
                raise InvalidDefinition(
                    f"{name}.groups[{g}]", "a group needs conditions"
                )
            for c, condition in enumerate(group.conditions):
                path = f"{name}.groups[{g}].conditions[{c}]"
                _need(f"{path}.field", condition.field, known)
                if not 0 <= condition.threshold <= 1:
                    raise InvalidDefinition(
                        f"{path}.threshold", f"{condition.threshold} is not in [0, 1]"
                    )
    if config.method is Method.RULES and not config.rules.groups:
        raise InvalidDefinition("rules", "method 'rules' needs at least one group")


def _check_blocking(config: DedupConfig, known: frozenset[str]) -> None:
    if not config.blocking:
        raise InvalidDefinition("blocking", "at least one blocking key is needed")
    for k, key in enumerate(config.blocking):
        if not key.parts:
            raise InvalidDefinition(f"blocking[{k}].parts", "a key needs parts")
        for p, part in enumerate(key.parts):
            _need(f"blocking[{k}].parts[{p}].field", part.field, known)
        if key.max_block_size is not None and key.max_block_size < 2:  # noqa: PLR2004 (a block needs a pair)
            raise InvalidDefinition(
                f"blocking[{k}].max_block_size", f"{key.max_block_size} < 2"
            )


def _check_model(config: DedupConfig) -> None:
    model = config.model
    if len(model.m) != len(config.comparisons) or len(model.u) != len(
        config.comparisons
    ):
        raise InvalidDefinition(
            "model",
            f"needs m and u for each of the {len(config.comparisons)} comparisons",
        )
    for k, comparison in enumerate(config.comparisons):
        for name, probabilities in (("m", model.m[k]), ("u", model.u[k])):
            if len(probabilities) != comparison.level_count or any(
                not 0 < p <= 1 or math.isnan(p) for p in probabilities
            ):
                raise InvalidDefinition(
                    f"model.{name}[{k}]",
                    f"needs {comparison.level_count} probabilities in (0, 1]",
                )
    if not 0 < model.prior < 1:
        raise InvalidDefinition("model.prior", f"{model.prior} is not in (0, 1)")


def _without_none(data: Any) -> Any:
    """Plain data with its `None` values left out, as TOML has no null."""
    if isinstance(data, Mapping):
        return {k: _without_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list | tuple):
        return [_without_none(item) for item in data]
    return data
