"""The shipped normalisation tables (``crmkit/dedup/data``), and how to extend them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

import attrs

from crmkit.dedup._text import fold

__all__ = ["EmailProvider", "Tables", "data_text"]


@attrs.frozen
class EmailProvider:
    """
    How a mail provider reads the local part of its addresses.

    Attributes:
        domain: The canonical domain (``googlemail.com`` is ``gmail.com``).
        ignores_dots: ``j.doe`` and ``jdoe`` reach the same mailbox.
        plus_tags: ``jdoe+news`` reaches ``jdoe``.

    .. versionadded:: 0.1
    """

    domain: str
    ignores_dots: bool
    plus_tags: bool


def data_text(name: str) -> str:
    """The text of a file shipped in ``crmkit/dedup/data``."""
    return resources.files("crmkit.dedup").joinpath("data", name).read_text("utf-8")


def _rows(name: str) -> Iterator[list[str]]:
    text = data_text(name)
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    yield from csv.reader(lines)


def _group_index(groups: Iterable[Iterable[str]]) -> Mapping[str, frozenset[int]]:
    index: dict[str, set[int]] = {}
    for number, group in enumerate(groups):
        for name in group:
            index.setdefault(fold(name), set()).add(number)
    return MappingProxyType({name: frozenset(ids) for name, ids in index.items()})


@attrs.frozen
class Tables:
    """
    The facts normalisers use: name variants, titles, legal forms, street types...

    `Tables.default` loads the tables shipped with crmkit; `Tables.extended` adds
    your own (more nickname groups, a legal form, a street type), for instance:

    >>> tables = Tables.default().extended(nicknames=[["gwendoline", "gwen"]])
    >>> tables.same_given_name("Gwen", "gwendoline"), tables.is_legal_form("gmbh")
    (True, True)

    .. versionadded:: 0.1
    """

    nickname_groups: tuple[tuple[str, ...], ...]
    titles: frozenset[str]
    particles: frozenset[str]
    legal_forms: frozenset[str]
    street_types: Mapping[str, str]
    email_providers: Mapping[str, EmailProvider]
    _nickname_index: Mapping[str, frozenset[int]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_nickname_index", _group_index(self.nickname_groups))

    @staticmethod
    @cache
    def default() -> Tables:
        """The tables shipped in ``crmkit/dedup/data`` (French and English)."""
        street_types: dict[str, str] = {}
        for canonical, *variants in _rows("street_types.csv"):
            for variant in (canonical, *variants):
                street_types[fold(variant)] = fold(canonical)
        providers = {
            domain: EmailProvider(canonical, dots == "yes", plus == "yes")
            for domain, canonical, dots, plus in _rows("email_providers.csv")
        }
        return Tables(
            nickname_groups=tuple(
                tuple(fold(name) for name in row) for row in _rows("nicknames.csv")
            ),
            titles=frozenset(fold(t) for row in _rows("titles.csv") for t in row),
            particles=frozenset(fold(p) for row in _rows("particles.csv") for p in row),
            legal_forms=frozenset(fold(form) for _, form in _rows("legal_forms.csv")),
            street_types=MappingProxyType(street_types),
            email_providers=MappingProxyType(providers),
        )

    def extended(
        self,
        *,
        nicknames: Iterable[Iterable[str]] = (),
        titles: Iterable[str] = (),
        particles: Iterable[str] = (),
        legal_forms: Iterable[str] = (),
        street_types: Mapping[str, str] | None = None,
        email_providers: Mapping[str, EmailProvider] | None = None,
    ) -> Tables:
        """A copy with more entries; street types map a variant to its full form."""
        return Tables(
            nickname_groups=(
                *self.nickname_groups,
                *(tuple(fold(n) for n in group) for group in nicknames),
            ),
            titles=self.titles | {fold(t) for t in titles},
            particles=self.particles | {fold(p) for p in particles},
            legal_forms=self.legal_forms | {fold(f) for f in legal_forms},
            street_types=MappingProxyType(
                {
                    **self.street_types,
                    **{fold(k): fold(v) for k, v in (street_types or {}).items()},
                }
            ),
            email_providers=MappingProxyType(
                {**self.email_providers, **(email_providers or {})}
            ),
        )

    def given_name_groups(self, name: str) -> frozenset[int]:
        """The variant groups a folded given name belongs to (empty if none)."""
        return self._nickname_index.get(name, frozenset())

    def same_given_name(self, left: str, right: str) -> bool:
        """Whether two given names are equal or variants of one another."""
        a, b = fold(left), fold(right)
        return a == b or bool(self.given_name_groups(a) & self.given_name_groups(b))

    def is_legal_form(self, text: str) -> bool:
        """Whether the text is a company legal form such as SARL, GmbH or Ltd."""
        return fold(text) in self.legal_forms
