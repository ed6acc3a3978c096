"""Definitions as data: dicts, TOML and JSON, with file and line for mistakes."""

import json
from pathlib import Path

import pytest

from crmkit.errors import InvalidDefinition
from crmkit.pipelines import (
    ApprovalPresent,
    DealPipeline,
    FieldCondition,
    Lifecycle,
    State,
    Transition,
    definition_from_dict,
    definition_to_dict,
    load_definition,
    loads_definition,
)

B2B = Path(__file__).parent / "data" / "pipeline_b2b.toml"


def test_a_toml_pipeline_loads_and_round_trips_through_dict_and_json():
    sales = load_definition(B2B)
    assert isinstance(sales, DealPipeline)
    assert [s.name for s in sales.stages] == ["prospecting", "demo", "won", "lost"]
    assert sales.stages[1].guards == (FieldCondition("amount", "ge", 1000),)
    assert sales.stages[0].rotting_days == 14
    plain = definition_to_dict(sales)
    assert definition_from_dict(plain) == sales
    assert loads_definition(json.dumps(plain), format="json") == sales


def test_a_lifecycle_round_trips():
    lifecycle = Lifecycle(
        "approval",
        "status",
        "draft",
        [State("draft", on_exit=["left"]), State("signed", terminal=True)],
        [Transition("sign", "draft", "signed", [ApprovalPresent("legal")])],
    )
    plain = definition_to_dict(lifecycle)
    assert plain["transitions"][0]["guards"] == [
        {"kind": "approval", "approval": "legal"}
    ]
    assert definition_from_dict(plain) == lifecycle


def test_a_typo_in_a_toml_file_names_file_line_and_path(tmp_path):
    text = B2B.read_text().replace(
        'forecast_category = "best_case"', 'forcast_category = "best_case"'
    )
    bad = tmp_path / "sales.toml"
    bad.write_text(text)
    with pytest.raises(InvalidDefinition) as error:
        load_definition(bad)
    assert error.value.path == "stages[1].forcast_category"
    assert error.value.file == str(bad)
    line = text.splitlines()[error.value.line - 1]
    assert line.startswith("forcast_category")
    assert line[error.value.column - 1 :] == '"best_case"'
    assert (
        f"{bad}:{error.value.line}:{error.value.column}: stages[1].forcast_category"
        in str(error.value)
    )


def test_a_bad_value_in_a_json_file_names_its_line(tmp_path):
    plain = definition_to_dict(load_definition(B2B))
    plain["stages"][1]["guards"][0]["operator"] = "gte"
    text = json.dumps(plain, indent=2)
    bad = tmp_path / "sales.json"
    bad.write_text(text)
    with pytest.raises(InvalidDefinition) as error:
        load_definition(bad)
    assert error.value.path == "stages[1].guards[0].operator"
    line = text.splitlines()[error.value.line - 1]
    assert line[error.value.column - 1 :] == '"gte",'
    assert '"operator": "gte"' in line


def test_a_bad_value_in_a_nested_toml_table_names_its_line_and_column():
    """``[[stages.guards]]`` tables are counted under their own stage."""
    text = B2B.read_text().replace('operator = "ge"', 'operator = "gte"')
    with pytest.raises(InvalidDefinition) as error:
        loads_definition(text, format="toml", file="sales.toml")
    assert error.value.path == "stages[1].guards[0].operator"
    line = text.splitlines()[error.value.line - 1]
    assert 'operator = "gte"' == line
    assert 12 == error.value.column


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (
            lambda d: d["stages"][0].update(forecast_category="maybe"),
            "stages[0].forecast_category",
            "unknown forecast_category",
        ),
        (
            lambda d: d["stages"][0].pop("probability"),
            "stages[0].probability",
            "is required",
        ),
        (lambda d: d.update(lost_reasons="price"), "lost_reasons", None),
        (lambda d: d.update(allow_skip="yes"), "allow_skip", "true or false"),
        (lambda d: d["stages"][0].update(name=3), "stages[0].name", "expected text"),
        (lambda d: d.update(stages={"a": 1}), "stages", "expected a list"),
        (lambda d: d["stages"].append("won"), "stages[4]", "table/object"),
        (
            lambda d: d["stages"][0].update(required_fields=[1]),
            "stages[0].required_fields",
            "list of names",
        ),
    ],
)
def test_bad_plain_definitions_name_their_path(change, path, reason):
    plain = definition_to_dict(load_definition(B2B))
    change(plain)
    if reason is None:
        assert isinstance(definition_from_dict(plain), DealPipeline)
        return
    with pytest.raises(InvalidDefinition) as error:
        definition_from_dict(plain)
    assert error.value.path == path
    assert reason in error.value.reason


def test_unreadable_or_unknown_files_are_refused(tmp_path):
    with pytest.raises(InvalidDefinition, match=r"x\.toml:3:2: not valid TOML"):
        loads_definition('name = "a"\nstages = [1,\n x', format="toml", file="x.toml")
    with pytest.raises(
        InvalidDefinition, match=r"x\.json:1:3: not valid JSON"
    ) as error:
        loads_definition("{ oops", format="json", file="x.json")
    assert (error.value.line, error.value.column) == (1, 3)
    with pytest.raises(InvalidDefinition, match="unknown file type"):
        load_definition(tmp_path / "sales.xml")
    with pytest.raises(InvalidDefinition, match="unknown format"):
        loads_definition("", format="xml")
    with pytest.raises(InvalidDefinition, match="neither a pipeline"):
        definition_from_dict({"name": "x"})
    with pytest.raises(InvalidDefinition, match="table/object"):
        definition_from_dict([])  # type: ignore[arg-type]


def test_definition_and_transition_errors_pickle_with_their_location():
    import pickle  # noqa: PLC0415 - only this test needs it

    from crmkit.errors import TransitionNotAllowed  # noqa: PLC0415

    error = InvalidDefinition("stages[1].name", "bad", file="a.toml", line=3, column=2)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.path, copy.file, copy.line, copy.column) == (
        "stages[1].name",
        "a.toml",
        3,
        2,
    )
    assert str(copy) == "a.toml:3:2: stages[1].name: bad"
    refused = TransitionNotAllowed("d1", "demo", "won", "amount missing", target="won")
    again = pickle.loads(pickle.dumps(refused))  # noqa: S301 - our own object
    assert (again.target, str(again)) == ("won", str(refused))
