"""The public surface: every module's __all__ is complete and importable.

Its order is ruff's (RUF022), checked by `ruff check`.
"""

import ast
import importlib
import inspect

import pytest

PUBLIC_MODULES = [
    "crmkit",
    "crmkit.clock",
    "crmkit.conditions",
    "crmkit.dedup",
    "crmkit.errors",
    "crmkit.ids",
    "crmkit.io",
    "crmkit.model",
    "crmkit.pipelines",
    "crmkit.repositories",
    "crmkit.routing",
    "crmkit.routing.sql",
    "crmkit.serialization",
    "crmkit.testing",
    "crmkit.testing.contract",
    "crmkit.testing.strategies",
    "crmkit.values",
]


def _public_names(module) -> set[str]:
    """Names a module defines, or re-exports from crmkit's private modules."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "crmkit."
        ):
            facade = module.__file__.endswith("__init__.py")
            if facade and (module.__name__ == "crmkit" or "._" in node.module):
                names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")} | (
        {"__version__"} if module.__name__ == "crmkit" else set()
    )


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_names_every_public_member(name):
    """__all__ lists exactly what the module defines or re-exports, once each."""
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)
    assert _public_names(module) == set(module.__all__)


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("crmkit.values", ["EmailAddress", "Money", "PhoneNumber", "PostalAddress"]),
        ("crmkit.model", ["Person", "Organization", "Deal", "EntitySchema"]),
        ("crmkit.testing", ["FixedClock", "ManualClock"]),
    ],
)
def test_reexported_classes_show_their_public_module(module, names):
    """Classes re-exported from private modules name their public home."""
    imported = importlib.import_module(module)
    assert [module] * len(names) == [getattr(imported, n).__module__ for n in names]


def test_every_error_is_a_crm_error():
    """One root for every exception crmkit raises; builtins where they help."""
    errors = importlib.import_module("crmkit.errors")
    classes = [
        getattr(errors, n)
        for n in errors.__all__
        if isinstance(getattr(errors, n), type)
    ]
    assert all(
        issubclass(cls, errors.CrmError)
        for cls in classes
        if issubclass(cls, Exception)
    )
    assert issubclass(errors.NotFound, LookupError)
    assert issubclass(errors.InvalidDefinition, ValueError)
    assert issubclass(errors.ValidationError, ValueError)


def test_version_is_set():
    """The installed version is readable."""
    crmkit = importlib.import_module("crmkit")
    assert crmkit.__version__
