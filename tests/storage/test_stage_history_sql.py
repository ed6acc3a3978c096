"""Stage history in SQL: the migration that adds its table, and bulk reads."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, inspect, select

from crmkit.model import Deal
from crmkit.pipelines import DealPipeline, Stage, store_moves
from crmkit.repositories.sql import CURRENT_VERSION, SqlDatabase, _migrations
from crmkit.repositories.sql._tables import METADATA, SCHEMA_VERSIONS, STAGE_HISTORY

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = AT + timedelta(days=30)
STEP = next(
    m.version
    for m in _migrations.MIGRATIONS
    if m.description.startswith("stage history")
)
SALES = DealPipeline(
    "sales",
    [
        Stage("qualify", 0.1),
        Stage("demo", 0.4),
        Stage("won", 1.0, "closed", outcome="won"),
        Stage("lost", 0.0, "omitted", outcome="lost"),
    ],
    lost_reasons=["price"],
)


def test_a_database_before_stage_history_is_upgraded_and_keeps_its_deals(tmp_path):
    """A database at the version before stage history gains the table, deals kept."""
    database = SqlDatabase.sqlite(tmp_path / "crm.db")
    try:
        deal = Deal.create(at=AT, name="Renewal", pipeline="sales", stage="qualify")
        with database.engine.begin() as connection:
            tables = [t for t in METADATA.sorted_tables if t is not STAGE_HISTORY]
            METADATA.create_all(connection, tables=tables)
            for version in range(1, STEP):
                connection.execute(
                    insert(SCHEMA_VERSIONS).values(
                        version=version, description=f"v{version}", applied_at=AT
                    )
                )
            connection.execute(
                insert(METADATA.tables["deal"]).values(
                    id=deal.id,
                    version=1,
                    created_at=AT,
                    updated_at=AT,
                    name="Renewal",
                    pipeline="sales",
                    stage="qualify",
                    data={},
                )
            )
        with database.engine.connect() as connection:
            before = set(inspect(connection).get_table_names())
        reached = database.upgrade(at=LATER)
        with database.engine.connect() as connection:
            after = set(inspect(connection).get_table_names())
            stamps = connection.execute(select(SCHEMA_VERSIONS.c.version)).scalars()
            stamped = sorted(stamps)
        moved = SALES.open(at=LATER, name="New")
        with database.unit_of_work() as uow:
            store_moves(uow, [moved])
            uow.commit()
        with database.unit_of_work() as uow:
            stays = uow.stage_history.visits(moved.entity.id)
            count = uow.deals.count(include_archived=True)
    finally:
        database.dispose()
    assert (False, True, CURRENT_VERSION, list(range(1, CURRENT_VERSION + 1))) == (
        "stage_history" in before,
        "stage_history" in after,
        reached,
        stamped,
    )
    assert (["qualify"], 2) == ([s.stage for s in stays], count)


def test_bulk_reads_take_one_query_for_many_deals():
    """visits_of reads the stays of hundreds of deals in one SELECT, not one each."""
    database = SqlDatabase.sqlite(":memory:")
    database.upgrade(at=AT)
    moves = [SALES.open(at=AT, name=f"Deal {n}") for n in range(300)]
    moves += [SALES.move(m.entity, "demo", at=LATER) for m in moves]
    statements = []

    def count(*args):  # SQLAlchemy passes (conn, cursor, statement, ...)
        statement = args[2]
        statements.append(statement)

    with database.unit_of_work() as uow:
        store_moves(uow, moves)
        uow.commit()
    event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.unit_of_work(readonly=True) as uow:
            found = uow.stage_history.visits_of(m.entity.id for m in moves[:300])
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
        database.dispose()
    selects = [s for s in statements if "stage_history" in s]
    assert (1, 300, {("qualify", "demo")}) == (
        len(selects),
        len(found),
        {tuple(s.stage for s in stays) for stays in found.values()},
    )
