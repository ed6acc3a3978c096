"""Dedup definitions are data: they round-trip and refuse what cannot work."""

import json

import attrs
import numpy as np
import pytest

from crmkit.dedup import (
    BlockingKey,
    Comparator,
    Comparison,
    Condition,
    DedupConfig,
    FellegiSunter,
    KeyPart,
    MatchingRules,
    Method,
    RuleGroup,
    contact_config,
    lead_config,
    organization_config,
)
from crmkit.dedup._model import levels_of, train_em, train_labelled
from crmkit.errors import InvalidDefinition, ValidationError


@pytest.mark.parametrize("make", [contact_config, lead_config, organization_config])
def test_shipped_configs_round_trip_through_toml_and_json(make, tmp_path):
    """TOML and JSON give back an equal configuration."""
    config = make()
    assert config == DedupConfig.from_toml(config.to_toml())
    assert config == DedupConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(config.to_dict()))
    assert config == DedupConfig.from_file(path)


def test_a_typo_in_a_rules_file_names_the_key_and_the_file(tmp_path):
    """An unknown key is refused with its path, and the file is named."""
    text = contact_config().to_toml().replace("cohesion = 0.5", "cohesian = 0.5")
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ValidationError, match="cohesian") as caught:
        DedupConfig.from_file(path)
    assert "cohesian" in caught.value.paths
    assert any(str(path) in note for note in caught.value.__notes__)


def test_malformed_toml_gives_line_and_column():
    """A TOML syntax error says where, and shows the line."""
    with pytest.raises(ValidationError, match=r"line 2, column 5") as caught:
        DedupConfig.from_toml("b = 2\na = = 1")
    assert [("toml.invalid", "a = = 1")] == [
        (e.code, e.value) for e in caught.value.errors
    ]


def test_a_typo_names_its_file_line_and_column(tmp_path):
    """A refused path ends with its file, line and column (where its value starts)."""
    text = contact_config().to_toml().replace("cohesion = 0.5", "cohesian = 0.5")
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        DedupConfig.from_file(path)
    line = text.splitlines().index("cohesian = 0.5") + 1
    assert [("cohesian", f"(at {path}:{line}:12)")] == [
        (error.path, error.message[-len(f"(at {path}:{line}:12)") :])
        for error in caught.value.errors
    ]


def test_malformed_json_names_its_file_line_and_column(tmp_path):
    """A JSON configuration file is read the same way, and refused the same way."""
    path = tmp_path / "rules.json"
    path.write_text('{\n  "fields": [}\n')
    with pytest.raises(ValidationError, match=r"not valid JSON: .* line 2, column 14"):
        DedupConfig.from_file(path)
    with pytest.raises(InvalidDefinition, match=r"unknown file type '\.ini'"):
        DedupConfig.from_file(tmp_path / "rules.ini")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"cohesion": 0}, "cohesion"),
        ({"names": ("first_name",)}, "names"),
        ({"blocking": ()}, "blocking"),
        ({"max_block_size": 1}, "max_block_size"),
        (
            {"blocking": (BlockingKey("p", (KeyPart("phone"),), max_block_size=1),)},
            "blocking[0].max_block_size",
        ),
        ({"method": Method.RULES, "rules": MatchingRules()}, "rules"),
        ({"model": FellegiSunter(m=(), u=())}, "model"),
    ],
)
def test_impossible_configurations_are_refused_when_built(change, path):
    """Each broken setting is named by its path."""
    with pytest.raises(InvalidDefinition) as caught:
        attrs.evolve(contact_config(), **change)
    assert path == caught.value.path


def test_unknown_fields_and_bad_levels_are_refused():
    """Comparisons, conditions and keys must name declared fields; levels descend."""
    base = contact_config()
    with pytest.raises(InvalidDefinition, match="unknown field 'emial'"):
        attrs.evolve(
            base,
            rules=MatchingRules(
                (RuleGroup("x", (Condition("emial", Comparator.EXACT, 1.0),)),)
            ),
        )
    with pytest.raises(InvalidDefinition, match=r"blocking\[0\]\.parts\[0\]\.field"):
        attrs.evolve(base, blocking=(BlockingKey("k", (KeyPart("nope"),)),))
    comparisons = (
        Comparison("email", Comparator.EXACT, (0.5, 0.9)),
        *base.comparisons[1:],
    )
    with pytest.raises(InvalidDefinition, match="descending"):
        attrs.evolve(base, comparisons=comparisons)
    with pytest.raises(InvalidDefinition, match="a group needs conditions"):
        attrs.evolve(base, vetoes=MatchingRules((RuleGroup("empty", ()),)))


def test_levels_cut_scores_and_blanks_have_none():
    """Scores fall in descending levels; NaN is level -1."""
    comparison = Comparison("x", Comparator.JARO_WINKLER, (1.0, 0.9))
    scores = np.array([1.0, 0.95, 0.5, np.nan])
    assert [0, 1, 2, -1] == levels_of(comparison, scores).tolist()


def test_em_recovers_m_from_a_mixture_and_labelled_training():
    """EM finds that matches agree and the share of matches; labels give m and u."""
    comparisons = [Comparison(f, Comparator.EXACT) for f in "abc"]
    rng = np.random.default_rng(1)
    matches = (rng.random((300, 3)) > 0.9).astype(np.int8)  # agree 90% of the time
    others = (rng.random((700, 3)) > 0.05).astype(np.int8)  # agree 5%
    levels = np.vstack([matches, others])
    start = FellegiSunter(m=((0.6, 0.4),) * 3, u=((0.05, 0.95),) * 3, prior=0.5)
    trained = train_em(start, comparisons, levels)
    assert 0.3 == pytest.approx(trained.prior, abs=0.05)
    assert all(0.85 < m[0] < 0.95 for m in trained.m)
    labelled = train_labelled(
        comparisons, levels, np.array([True] * 300 + [False] * 700)
    )
    assert 0.3 == pytest.approx(labelled.prior)
    assert all(u[0] < 0.1 for u in labelled.u)
    with pytest.raises(ValueError, match="both matches and non-matches"):
        train_labelled(comparisons, levels, np.ones(1000, dtype=bool))
