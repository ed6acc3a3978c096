"""Every value of a TOML, JSON or YAML definition is placed where it is written."""

import json

import tomli_w
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit._definitions import line_of, parse, path_text

NAMES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=8,
)
SCALARS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
DOCUMENTS = st.dictionaries(
    NAMES,
    st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4)
        ),
        max_leaves=12,
    ),
    max_size=5,
)


def leaves(data, key=()):
    """Each scalar of the document with the parts of its path."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from leaves(value, (*key, name))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from leaves(value, (*key, index))
    else:
        yield key, data


def written_at(text, position):
    line, column = position
    return line_of(text, line)[column - 1 :]


@given(DOCUMENTS)
def test_each_toml_scalar_is_placed_where_it_is_written(document):
    """tomli_w's tables, arrays of tables and inline arrays are all placed."""
    text = tomli_w.dumps(document)
    parsed = parse(text, format="toml")
    for key, value in leaves(document):
        written = tomli_w.dumps({"v": value})[len("v = ") :].rstrip("\n")
        assert written_at(text, parsed.position(path_text(key))).startswith(written)


@given(DOCUMENTS)
def test_each_json_scalar_is_placed_where_it_is_written(document):
    """Indented JSON, ASCII-escaped or not."""
    for indent, ascii_only in [(2, False), (None, True)]:
        text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
        parsed = parse(text, format="json")
        for key, value in leaves(document):
            written = json.dumps(value, ensure_ascii=ascii_only)
            at = written_at(text, parsed.position(path_text(key)))
            assert at.startswith(written)


@given(DOCUMENTS)
def test_each_yaml_number_is_placed_where_it_is_written(document):
    """PyYAML's marks place each scalar (it counts U+0085 and U+2028 as line breaks)."""
    text = yaml.safe_dump(document, allow_unicode=True, width=10**6)
    assume(not any(char in text for char in "\x85\u2028\u2029"))
    parsed = parse(text, format="yaml")
    assert document == parsed.data
    for key, value in leaves(document):
        position = parsed.position(path_text(key))
        if isinstance(value, int) and not isinstance(value, bool):
            assert written_at(text, position).startswith(str(value))
