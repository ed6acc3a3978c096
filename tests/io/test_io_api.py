"""crmkit.io's public surface: a sorted, complete __all__ and public module names."""

import crmkit.io


def test_all_is_sorted_and_complete():
    """__all__ names every public member once, in ruff's order."""
    public = {name for name in vars(crmkit.io) if not name.startswith("_")}
    assert sorted(public) == sorted(crmkit.io.__all__)
    assert len(set(crmkit.io.__all__)) == len(crmkit.io.__all__)


def test_classes_show_their_public_module():
    """Classes re-exported from private modules name crmkit.io as their home."""
    classes = [
        getattr(crmkit.io, name)
        for name in crmkit.io.__all__
        if isinstance(getattr(crmkit.io, name), type)
    ]
    assert ["crmkit.io"] * len(classes) == [cls.__module__ for cls in classes]
