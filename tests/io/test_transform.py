"""Tracing a field error back to the column that fed the field (pure)."""

from crmkit.errors import FieldError
from crmkit.io._transform import PlannedRow, Source


def _plan(**sources: Source) -> PlannedRow:
    plan = PlannedRow(row=4, line=5)
    for path, source in sources.items():
        plan.note(path.replace("__", "."), source)
    return plan


def _column(plan: PlannedRow, path: str) -> tuple[str, str]:
    reject = plan.translate(FieldError(path, "x", "code", "bad"))
    return reject.column, reject.value


def test_an_exact_path_names_its_column():
    """emails[0] fed by column Email is reported against Email and its text."""
    plan = _plan(**{"emails[0]": Source("Email", "a@@b.fr")})
    assert ("Email", "a@@b.fr") == _column(plan, "emails[0]")


def test_a_path_fed_by_two_columns_names_the_path():
    """Tags from two columns: an error on tags names the field path."""
    plan = PlannedRow(row=1, line=2)
    plan.note("tags", Source("Tags", "a"))
    plan.note("tags", Source("Labels", "b"))
    plan.note("tags", Source("Tags", "c"))
    assert ("tags", "x") == _column(plan, "tags")


def test_children_of_one_column_name_it():
    """An error on a whole address fed only by Adresse names Adresse."""
    plan = PlannedRow(row=1, line=2)
    plan.note("addresses[0].lines[0]", Source("Adresse", "12 rue"))
    plan.note("addresses[0].lines[1]", Source("Adresse", "Bât. B"))
    assert ("Adresse", "12 rue; Bât. B") == _column(plan, "addresses[0]")
    plan.note("addresses[0].city", Source("Ville", "Paris"))
    assert ("addresses[0]", "x") == _column(plan, "addresses[0]")


def test_a_deeper_path_finds_its_parent():
    """An error inside a value (custom.budget.amount) names the value's column."""
    plan = PlannedRow(row=1, line=2)
    plan.note("custom.budget", Source("Budget", "12 EUR"))
    assert ("Budget", "12 EUR") == _column(plan, "custom.budget.amount")
    assert ("Budget", "12 EUR") == _column(plan, "custom.budget.amount.units")
    assert ("last_name", "x") == _column(plan, "last_name")
