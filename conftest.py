"""Collect the documentation as tests with Sybil.

* Markdown: every ```python block in ``docs/**/*.md`` and ``README.md`` runs,
  top to bottom, in one namespace per file. ``<!-- skip: next -->`` (Sybil's
  SkipParser) skips a block; blocks in other languages (bash, toml) are ignored.
* Docstrings: every ``>>>`` example in ``src/**/*.py`` runs as a doctest with
  ELLIPSIS and NORMALIZE_WHITESPACE, in the namespace of its module.
"""

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser
from sybil.sybil import SybilCollection


def _markdown_parsers() -> list[PythonCodeBlockParser | SkipParser]:
    return [PythonCodeBlockParser(), SkipParser()]


# Sybil matches with pathlib's Path.match relative to `path`, where "**" is not
# recursive (Python 3.11), so "*.md" under `path` is what matches at any depth.
markdown_docs = Sybil(
    parsers=_markdown_parsers(),
    path="docs",
    patterns=["*.md"],
    name="docs",
)
# Only the top-level README.md: "*/README.md" excludes any nested one.
readme = Sybil(
    parsers=_markdown_parsers(),
    path=".",
    patterns=["README.md"],
    excludes=["*/README.md"],
    name="readme",
)
docstrings = Sybil(
    parsers=[DocTestParser(optionflags=ELLIPSIS | NORMALIZE_WHITESPACE)],
    path="src",
    patterns=["*.py"],
    name="docstrings",
)

# `Sybil + Sybil` makes a SybilCollection; a third one is added by building it.
pytest_collect_file = SybilCollection((markdown_docs, readme, docstrings)).pytest()
