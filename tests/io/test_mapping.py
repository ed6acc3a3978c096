"""Import mappings: read from TOML, validated when built, round-tripped as data."""

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.errors import InvalidDefinition
from crmkit.io import (
    ColumnMapping,
    ExternalIdColumn,
    ImportMapping,
    ImportOptions,
    mapping_from_dict,
    mapping_to_dict,
    read_mapping,
)
from crmkit.model import CustomField, EntitySchema
from crmkit.serialization import from_dict, to_dict

EXAMPLE = """\
entity = "person"              # people now
[options]
delimiter = ";"
encoding = "cp1252"
phone_region = "FR"
date_format = "%d/%m/%Y"
batch_size = 1000
external_id = { system = "legacy_crm", column = "ID" }
[columns]
"Prénom" = "first_name"
"Nom" = "last_name"
"Nom complet" = { field = "name", transform = "split_full_name" }
"Email" = "emails"
"Téléphone" = "phones"
"Mobile" = "phones"
"Société" = "company"
"Adresse" = "address.lines"
"CP" = "address.postcode"
"Ville" = "address.city"
"Pays" = { field = "address.country", map = { "France" = "FR", "Belgique" = "BE" } }
"Naissance" = { field = "birth_date", format = "%d/%m/%Y" }
"Segment" = { field = "custom.segment", map = { "PME" = "smb" } }
"Tags" = { field = "tags", split = "," }
"""


def _refusal(data) -> InvalidDefinition:
    with pytest.raises(InvalidDefinition) as caught:
        mapping_from_dict(data)
    return caught.value


def _with_columns(columns, **options) -> dict:
    return {"entity": "person", "options": options, "columns": columns}


def test_the_documented_example_reads(tmp_path):
    """The example mapping of the docs reads into the definition it describes."""
    path = tmp_path / "map.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    mapping = read_mapping(path)
    assert "person" == mapping.entity
    assert ExternalIdColumn(system="legacy_crm", column="ID") == (
        mapping.options.external_id
    )
    assert ColumnMapping(field="first_name") == mapping.columns["Prénom"]
    assert {"France": "FR", "Belgique": "BE"} == dict(mapping.columns["Pays"].map)
    assert "split_full_name" == mapping.columns["Nom complet"].transform
    assert 14 == len(mapping.columns)


def test_round_trip_through_plain_data(tmp_path):
    """to plain data and back gives the same mapping, in both data forms."""
    path = tmp_path / "map.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    mapping = read_mapping(path)
    assert mapping == mapping_from_dict(mapping_to_dict(mapping))
    assert mapping == from_dict(ImportMapping, to_dict(mapping))


def test_short_form_and_defaults_are_written_back_compactly():
    """A column with only a field is written as that field; defaults are left out."""
    mapping = ImportMapping(columns={"Nom": "last_name"})
    assert {
        "entity": "person",
        "options": {},
        "columns": {"Nom": "last_name"},
    } == mapping_to_dict(mapping)


def test_unknown_field_names_its_path_file_and_line(tmp_path):
    """An unknown field is refused with the TOML path, the file, line and column."""
    path = tmp_path / "map.toml"
    path.write_text(
        '[columns]\n"Nom" = "last_name"\n"Téléphone" = "phone"\n', encoding="utf-8"
    )
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(path)
    assert 'columns."Téléphone".field' == caught.value.path
    assert "no field 'phone' (did you mean 'phones'?)" in caught.value.reason
    assert (str(path), 3, 15) == (
        caught.value.file,
        caught.value.line,
        caught.value.column,
    )
    assert str(caught.value).startswith(f'{path}:3:15: columns."Téléphone".field:')


def test_line_of_a_problem_inside_a_column_table(tmp_path):
    """A problem in a [columns."X"] table is located at its key's line."""
    path = tmp_path / "map.toml"
    path.write_text(
        '[columns]\n"Nom" = "last_name"\n\n[columns."Né le"]\n'
        'field = "birth_date"\nformat = "%d/%m"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(path)
    assert 'columns."Né le".format' == caught.value.path
    assert (6, 10) == (caught.value.line, caught.value.column)


def test_lines_are_found_for_quoted_and_escaped_keys(tmp_path):
    """Single-quoted keys and escaped keys are located too."""
    path = tmp_path / "map.toml"
    path.write_text(
        '# Nordlys\n\n[columns]\n\'Nom\' = "last_name"\n"\\U0001F4DE" = "phone"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(path)
    assert 5 == caught.value.line


def test_a_mapping_file_must_be_utf8(tmp_path):
    """TOML is UTF-8; a cp1252 mapping file is refused, naming the file and byte."""
    path = tmp_path / "map.toml"
    path.write_bytes('[columns]\n"Prénom" = "first_name"\n'.encode("cp1252"))
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(path)
    assert f"{path}: not UTF-8 text (invalid continuation byte at byte 13)" == str(
        caught.value
    )


def test_bad_toml_names_the_file(tmp_path):
    """A TOML syntax error is an InvalidDefinition naming the file and position."""
    path = tmp_path / "map.toml"
    path.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(path)
    assert str(caught.value).startswith(f"{path}:1:9: not valid TOML: ")


@pytest.mark.parametrize(
    ("columns", "path", "words"),
    [
        (
            {"Nom": {"field": "last_name", "transform": "uppercase"}},
            'columns."Nom".transform',
            "unknown transform 'uppercase'",
        ),
        (
            {"Né": {"field": "birth_date", "format": "%d/%m"}},
            'columns."Né".format',
            "cannot read a date back",
        ),
        (
            {"Né": {"field": "birth_date", "format": "%Q"}},
            'columns."Né".format',
            "not a usable date format",
        ),
        (
            {"Email": {"field": "emails", "map": {"x": "y"}}},
            'columns."Email".map',
            "does not hold picklist values",
        ),
        (
            {"Canal": {"field": "preferred_channel", "map": {"Mail": "mail"}}},
            'columns."Canal".map',
            "maps to 'mail', which is not one of",
        ),
        (
            {"Pays": {"field": "address.country", "map": {"France": "FRA"}}},
            'columns."Pays".map',
            "not an ISO 3166-1 country code",
        ),
        (
            {"Nom": {"field": "last_name", "split": ","}},
            'columns."Nom".split',
            "holds one value",
        ),
        (
            {"Nom": {"field": "last_name", "format": "%d/%m/%Y"}},
            'columns."Nom".format',
            "not a date field",
        ),
        (
            {"Nom": "last_name", "Nom de famille": "last_name"},
            'columns."Nom de famille".field',
            'already fed by column "Nom"',
        ),
        (
            {"Nom complet": "name"},
            'columns."Nom complet".transform',
            'add transform = "split_full_name"',
        ),
        (
            {"Nom": {"field": "last_name", "transform": "split_full_name"}},
            'columns."Nom".field',
            'use field = "name"',
        ),
        (
            {"Segment": "custom.Segment"},
            'columns."Segment".field',
            "custom field name",
        ),
        (
            {"Nom": {"field": "last_name", "fromat": "%d"}},
            'columns."Nom".fromat',
            "unknown key",
        ),
        ({}, "columns", "at least one column"),
        ({"Nom": {"field": ""}}, 'columns."Nom".field', "needs a target field"),
        (
            {"Tags": {"field": "tags", "split": ""}},
            'columns."Tags".split',
            "non-empty separator",
        ),
        ({"Nom": 3}, 'columns."Nom"', "expected a field name or a table"),
        ({" ": "last_name"}, 'columns." "', "a column needs a name"),
    ],
)
def test_definition_errors_name_their_path(columns, path, words):
    """Each kind of bad column is refused at its path, with a reason."""
    error = _refusal(_with_columns(columns))
    assert path == error.path
    assert words in error.reason


@pytest.mark.parametrize(
    ("options", "path", "words"),
    [
        ({"delimiter": ";;"}, "options.delimiter", "one character"),
        ({"encoding": "klingon"}, "options.encoding", "not an encoding"),
        ({"phone_region": "XX"}, "options.phone_region", "not a phone region"),
        ({"date_format": "%Y"}, "options.date_format", "cannot read a date back"),
        ({"batch_size": 0}, "options.batch_size", "from 1 to"),
        ({"batch_size": "10"}, "options.batch_size", "expected int"),
        ({"decimal_separator": ";"}, "options.decimal_separator", "'.' or ','"),
        ({"delimeter": ";"}, "options.delimeter", "unknown key"),
        (
            {"external_id": {"system": "", "column": "ID"}},
            "options.external_id.system",
            "needs the name",
        ),
        (
            {"external_id": {"system": "crmkit-import:x", "column": "ID"}},
            "options.external_id.system",
            "reserved",
        ),
        (
            {"external_id": {"system": "legacy", "column": " "}},
            "options.external_id.column",
            "needs the name of a column",
        ),
        (
            {"batch_size": "10", "delimiter": 5},
            "options.delimiter",
            "(and 1 more problem)",
        ),
        (
            {"company_external_id": {"system": "legacy", "column": "Société ID"}},
            "options.company_external_id",
            'mapped to "company"',
        ),
    ],
)
def test_option_errors_name_their_path(options, path, words):
    """Each bad option is refused at its path, with a reason."""
    error = _refusal(_with_columns({"Nom": "last_name"}, **options))
    assert path == error.path
    assert words in error.reason


def test_unknown_entity_and_top_level_key_are_refused():
    """The entity must be one crmkit imports; unknown top-level keys are refused."""
    assert "entity" == _refusal({"entity": "lead", "columns": {"a": "b"}}).path
    assert "entity" == _refusal({"entity": 3, "columns": {"a": "last_name"}}).path
    assert '"colums"' == _refusal({"colums": {}}).path
    assert "columns" == _refusal({"columns": "last_name"}).path
    assert "" == _refusal(["columns"]).path
    assert "options" == _refusal({"options": 3, "columns": {"a": "last_name"}}).path


def test_organization_mapping_has_its_own_fields():
    """An organization mapping knows name and employees, not first_name."""
    mapping = mapping_from_dict(
        {"entity": "organization", "columns": {"Raison sociale": "name"}}
    )
    assert "organization" == mapping.entity
    error = _refusal({"entity": "organization", "columns": {"P": "first_name"}})
    assert 'columns."P".field' == error.path


def test_mapping_built_in_python_is_validated_too():
    """Constructing the attrs classes directly runs the same checks."""
    with pytest.raises(InvalidDefinition) as not_text:
        ColumnMapping(field="tags", map={"a": 1})
    assert 'map."a"' == not_text.value.path
    with pytest.raises(InvalidDefinition) as not_a_column:
        ImportMapping(columns={"Nom": 3})
    assert 'columns."Nom"' == not_a_column.value.path
    with pytest.raises(InvalidDefinition) as no_columns:
        ImportMapping(columns=3)
    assert "columns" == no_columns.value.path
    with pytest.raises(InvalidDefinition) as not_options:
        ImportMapping(columns={"Nom": "last_name"}, options=3)
    assert "options" == not_options.value.path
    with pytest.raises(InvalidDefinition) as caught:
        ImportMapping(columns={"Tel": ColumnMapping(field="phone")})
    assert 'columns."Tel".field' == caught.value.path
    with pytest.raises(InvalidDefinition) as option:
        ImportOptions(batch_size=-1)
    assert "batch_size" == option.value.path


def test_custom_columns_are_checked_against_the_schema():
    """With a schema, a custom column must name one of its fields, fitting its type."""
    schema = EntitySchema(
        custom_fields=[
            CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
            CustomField(name="revenue", type="decimal"),
            CustomField(name="sector", type="text"),
        ]
    )
    good = ImportMapping(
        columns={
            "Segment": ColumnMapping(field="custom.segment", map={"PME": "smb"}),
            "Secteur": ColumnMapping(field="custom.sector", map={"Ind.": "Industrie"}),
        }
    )
    good.check_schema(schema)
    cases = [
        ({"S": "custom.sectors"}, 'columns."S".field', "no custom field 'sectors'"),
        (
            {"S": {"field": "custom.segment", "map": {"PME": "pme"}}},
            'columns."S".map',
            "maps to 'pme'",
        ),
        (
            {"R": {"field": "custom.revenue", "format": "%d/%m/%Y"}},
            'columns."R".format',
            "is a decimal field",
        ),
        (
            {"R": {"field": "custom.revenue", "split": ","}},
            'columns."R".split',
            "only multi_choice fields split",
        ),
        (
            {"R": {"field": "custom.revenue", "map": {"a": "b"}}},
            'columns."R".map',
            "maps are for text and choice fields",
        ),
    ]
    for columns, path, words in cases:
        with pytest.raises(InvalidDefinition) as caught:
            mapping_from_dict({"columns": columns}).check_schema(schema)
        assert (path, True) == (caught.value.path, words in caught.value.reason)


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1
).filter(str.strip)
_SIMPLE_FIELDS = ["first_name", "last_name", "job_title", "company", "birth_date"]


@st.composite
def _mappings(draw) -> ImportMapping:
    columns = {}
    for field in draw(st.lists(st.sampled_from(_SIMPLE_FIELDS), unique=True)):
        columns[draw(_TEXT)] = ColumnMapping(field=field)
    for _ in range(draw(st.integers(0, 3))):
        columns[draw(_TEXT)] = ColumnMapping(
            field="emails", split=draw(st.none() | st.sampled_from([",", ";", " "]))
        )
    if draw(st.booleans()):
        columns[draw(_TEXT)] = ColumnMapping(
            field="tags", map=draw(st.dictionaries(_TEXT, _TEXT, max_size=3))
        )
    if not columns:
        columns["Nom"] = ColumnMapping(field="last_name")
    options = ImportOptions(
        delimiter=draw(st.none() | st.sampled_from([",", ";", "\t", "|"])),
        phone_region=draw(st.none() | st.sampled_from(["FR", "BE", "CH"])),
        batch_size=draw(st.integers(1, 100_000)),
        external_id=draw(
            st.none() | st.builds(ExternalIdColumn, system=_TEXT, column=_TEXT)
        ),
    )
    return ImportMapping(columns=columns, options=options)


@given(_mappings())
def test_every_mapping_round_trips(mapping):
    """Any valid mapping survives plain data, in the compact and the generic form."""
    assert mapping == mapping_from_dict(mapping_to_dict(mapping))
    assert mapping == from_dict(ImportMapping, to_dict(mapping))


def test_the_reference_mapping_of_the_tutorial_is_valid():
    """Every TOML block of docs/import-export.md is a valid mapping."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "import-export.md"
    blocks = re.findall(
        r"```toml\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL
    )
    mappings = [mapping_from_dict(tomllib.loads(block)) for block in blocks]
    assert [14] == [len(mapping.columns) for mapping in mappings]
