"""YAML definitions: the same data as TOML, mistakes named by file, line and path."""

import sys
from pathlib import Path

import pytest
import yaml

from crmkit.errors import InvalidDefinition
from crmkit.pipelines import definition_to_dict, load_definition, loads_definition

B2B = Path(__file__).parent / "data" / "pipeline_b2b.toml"


def b2b_yaml():
    return yaml.safe_dump(definition_to_dict(load_definition(B2B)), sort_keys=False)


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_a_yaml_pipeline_loads_as_its_toml_twin(tmp_path, suffix):
    path = tmp_path / f"sales{suffix}"
    path.write_text(b2b_yaml())
    assert load_definition(path) == load_definition(B2B)


def test_a_typo_in_a_yaml_file_names_file_line_and_path(tmp_path):
    text = b2b_yaml().replace(
        "forecast_category: best_case", "forcast_category: best_case"
    )
    path = tmp_path / "sales.yaml"
    path.write_text(text)
    with pytest.raises(InvalidDefinition) as caught:
        load_definition(path)
    error = caught.value
    assert (error.path, error.file) == ("stages[1].forcast_category", str(path))
    line = text.splitlines()[error.line - 1]
    assert line.strip().startswith("forcast_category")
    assert line[error.column - 1 :] == "best_case"
    place = f"{path}:{error.line}:{error.column}"
    assert f"{place}: stages[1].forcast_category" in str(error)


def test_a_bad_nested_value_names_its_line():
    text = b2b_yaml().replace("operator: ge", "operator: gte")
    with pytest.raises(InvalidDefinition) as caught:
        loads_definition(text, format="yaml", file="sales.yaml")
    assert caught.value.path == "stages[1].guards[0].operator"
    assert "operator: gte" in text.splitlines()[caught.value.line - 1]


def test_unreadable_yaml_names_line_and_column():
    text = "name: sales\nstages:\n  - name: [unclosed\n"
    with pytest.raises(InvalidDefinition, match=r"x\.yaml:\d+:\d+: not valid YAML"):
        loads_definition(text, format="yaml", file="x.yaml")


def test_a_key_given_twice_is_refused_at_its_second_line():
    text = "name: sales\nname: other\nstages: []\n"
    with pytest.raises(InvalidDefinition) as caught:
        loads_definition(text, format="yaml", file="x.yaml")
    assert (caught.value.path, caught.value.line, caught.value.column) == (
        "name",
        2,
        1,
    )
    assert "given twice" in caught.value.reason


def test_an_empty_yaml_document_is_not_a_definition():
    with pytest.raises(InvalidDefinition, match="not None"):
        loads_definition("", format="yaml", file="x.yaml")


def test_without_pyyaml_loading_yaml_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "sales.yaml"
    path.write_text(b2b_yaml())
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now fails
    with pytest.raises(ImportError, match=r"pip install 'crmkit\[yaml\]'"):
        load_definition(path)
    assert load_definition(B2B).name  # TOML needs nothing more
