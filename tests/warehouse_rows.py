"""Every row of a warehouse, for tests that compare two warehouses built in different ways."""

from __future__ import annotations


def rows_without_times_and_run_ids(con) -> dict[str, list]:
    """table -> its rows in a fixed order, without the columns that differ from run to run
    (timestamps, dates, run ids, generated ids)."""
    tables = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw', 'core', 'marts') AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    rows = {}
    for (table,) in tables:
        columns = [
            name
            for name, kind in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if kind not in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE")
            and not name.endswith("run_id")
            and name not in ("quarantine_id", "import_id")
        ]
        if columns:
            rows[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL"
            ).fetchall()
    return rows
