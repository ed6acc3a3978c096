"""Definition text in TOML, JSON or YAML: plain data, and the place of every value."""

import json
import sys

import pytest

from crmkit._definitions import format_of, parse, path_key, path_text, read
from crmkit.errors import InvalidDefinition

TOML = """\
name = "sales"   # a comment

[[stages]]
name = "new"
moves = [
  "won",
  ["a", "b"],
]
notes = '''
[[stages]]
name = "not a stage"
'''

[[stages]]
name = "won"

[stages.guards]
kind = "field"

[columns."Né le"]
format = "%d/%m"
'Nom' = "last_name"
"""

YAML = """\
name: sales
stages:
  - name: new
  - name: won
    guards:
      - kind: field
"""


def test_toml_values_are_placed_at_their_line_and_column():
    """Keys, arrays of tables and quoted keys are found; strings do not fool it."""
    parsed = parse(TOML, format="toml", file="p.toml")
    assert ["new", "won"] == [stage["name"] for stage in parsed.data["stages"]]
    assert (1, 8) == parsed.position("name")
    assert (4, 8) == parsed.position("stages[0].name")
    assert (5, 9) == parsed.position("stages[0].moves")
    assert (6, 3) == parsed.position("stages[0].moves[0]")
    assert (7, 9) == parsed.position("stages[0].moves[1][1]")
    assert (11, 1) != parsed.position("stages[1]")  # text in a string is no table
    assert (14, 1) == parsed.position("stages[1]")
    assert (15, 8) == parsed.position("stages[1].name")
    assert (18, 8) == parsed.position("stages[1].guards.kind")
    assert (21, 10) == parsed.position('columns."Né le".format')
    assert (22, 9) == parsed.position('columns."Né le".Nom')


def test_inline_arrays_and_tables_place_each_item():
    """Items of inline arrays and keys of inline tables have their own place."""
    text = (
        'members = ["ann", \'bob\', "chloe"]  # three\n'
        'territory = { countries = ["FR", "BE"], postcodes = [\n'
        '  "75*", # Paris\n'
        '  "92000-92999",\n'
        '], note = """a, b\n'
        '] }""" }\n'
        "after = 1\n"
    )
    parsed = parse(text, format="toml")
    assert (1, 26) == parsed.position("members[2]")
    assert (2, 34) == parsed.position("territory.countries[1]")
    assert (4, 3) == parsed.position("territory.postcodes[1]")
    assert (5, 11) == parsed.position("territory.note")
    assert (7, 9) == parsed.position("after")
    assert (2, 13) == parsed.position("territory.regions")


def test_a_missing_toml_key_is_placed_at_its_nearest_parent():
    """A required key that is absent points at the table that lacks it."""
    parsed = parse(TOML, format="toml")
    assert (14, 1) == parsed.position("stages[1].probability")
    assert (20, 1) == parsed.position('columns."Prénom"')
    assert parsed.position("mode") is None
    assert parsed.position("") is None


def test_json_values_are_placed_at_their_line_and_column():
    """Every JSON value, nested in objects and arrays, has its place."""
    text = json.dumps({"name": "sales", "stages": [{"name": "new"}]}, indent=2)
    parsed = parse(text, format="json")
    assert (2, 11) == parsed.position("name")
    assert (5, 15) == parsed.position("stages[0].name")
    assert (4, 5) == parsed.position("stages[0].probability")


def test_yaml_values_are_placed_at_their_line_and_column():
    """YAML values are placed by PyYAML's marks; ``yml`` is YAML."""
    parsed = parse(YAML, format="yml")
    assert (4, 11) == parsed.position("stages[1].name")
    assert (6, 15) == parsed.position("stages[1].guards[0].kind")


@pytest.mark.parametrize(
    ("text", "form", "line", "column", "words"),
    [
        ('name = "a"\nstages = [1,\n x', "toml", 3, 2, "not valid TOML: Invalid"),
        ('a = 1\nb = "open', "toml", 2, 10, "not valid TOML: Unterminated string"),
        ('{\n  "name": "a",\n}', "json", 3, 1, "not valid JSON: Expecting"),
        ("name: a\n  - b: [c\n", "yaml", 2, 6, "not valid YAML: "),
    ],
)
def test_unreadable_text_is_refused_at_its_position(text, form, line, column, words):
    """The parser's complaint keeps its file, line and column."""
    with pytest.raises(InvalidDefinition) as caught:
        parse(text, format=form, file="d")
    assert ("d", line, column) == (
        caught.value.file,
        caught.value.line,
        caught.value.column,
    )
    assert caught.value.reason.startswith(words)
    assert "(at line" not in caught.value.reason


def test_a_yaml_key_given_twice_is_refused_with_its_path():
    """PyYAML alone would keep the second value; crmkit refuses it."""
    with pytest.raises(InvalidDefinition) as caught:
        parse("stages:\n  - name: a\n    name: b\n", format="yaml")
    assert ("stages[0].name", 3, 5) == (
        caught.value.path,
        caught.value.line,
        caught.value.column,
    )


def test_a_validation_error_is_placed_in_the_file():
    """`build` gives the loader's error the file, line and column of its path."""

    def refuse(data):
        raise InvalidDefinition("stages[1].name", f"{data['stages'][1]['name']!r}?")

    with pytest.raises(InvalidDefinition) as caught:
        parse(TOML, format="toml", file="p.toml").build(refuse)
    assert "p.toml:15:8: stages[1].name: 'won'?" == str(caught.value)


def test_unknown_formats_and_suffixes_are_refused(tmp_path):
    """A format outside those a loader accepts is named with the ones it accepts."""
    with pytest.raises(
        InvalidDefinition, match=r"unknown format 'ini' \(toml or json\)"
    ):
        parse("", format="ini", formats=("toml", "json"))
    with pytest.raises(InvalidDefinition, match=r"unknown format 'yaml' \(toml\)"):
        parse("", format="yaml", formats=("toml",))
    with pytest.raises(InvalidDefinition) as caught:
        read(tmp_path / "rules.ini")
    assert str(tmp_path / "rules.ini") == caught.value.file
    assert "unknown file type '.ini' (.toml, .json, .yaml or .yml)" == (
        caught.value.reason
    )
    assert "yaml" == format_of(tmp_path / "RULES.YML")


def test_a_file_is_read_as_utf8_text(tmp_path):
    """A byte order mark is allowed; other encodings are refused, naming the file."""
    good = tmp_path / "a.toml"
    good.write_bytes(b'\xef\xbb\xbfname = "caf\xc3\xa9"\n')
    assert {"name": "café"} == read(good).data
    bad = tmp_path / "b.toml"
    bad.write_bytes('name = "café"\n'.encode("cp1252"))
    with pytest.raises(InvalidDefinition, match="not UTF-8 text") as caught:
        read(bad)
    assert str(bad) == caught.value.file


def test_yaml_is_imported_only_to_read_yaml(monkeypatch):
    """Without PyYAML, TOML and JSON still read; YAML names the extra to install."""
    monkeypatch.setitem(sys.modules, "yaml", None)
    assert {"a": 1} == parse("a = 1", format="toml").data
    with pytest.raises(ImportError, match=r"pip install 'crmkit\[yaml\]'"):
        parse("a: 1", format="yaml")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("stages[1].name", ("stages", 1, "name")),
        ('columns."Né le".field', ("columns", "Né le", "field")),
        ('columns."A.b[0]"', ("columns", "A.b[0]")),
        ("[2]", (2,)),
    ],
)
def test_paths_and_their_parts_convert_both_ways(path, key):
    """A path is read into parts and written back the same."""
    assert key == path_key(path)
    assert path == path_text(key)
