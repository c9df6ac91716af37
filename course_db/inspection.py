"""Read a lesson database the way graders need to: schema objects, columns, data checksums."""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg
from psycopg.abc import Params


def connect(database_url: str) -> psycopg.Connection:
    """psycopg takes the same URL without SQLAlchemy's `+psycopg` driver name."""
    return psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://", 1))


def scalar(conn: psycopg.Connection, query: str, params: Params | None = None) -> Any:
    """The first value of the one row `query` returns: a count, `... IS NOT NULL`, a RETURNING.

    For queries that always return a row; one that returns none is a course bug, said as such.
    """
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row from {query!r}")
    return row[0]


def schema_objects(conn: psycopg.Connection, ignore: tuple[str, ...] = ()) -> set[str]:
    """Every table, index, sequence, view and type in `public`, as `kind name` strings."""
    rows = conn.execute(
        """
        SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index'
                    WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                    WHEN 'm' THEN 'materialized view' ELSE c.relkind::text END, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'S', 'v', 'm', 'p')
        UNION ALL
        SELECT 'type', t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
        """
    ).fetchall()
    return {f"{kind} {name}" for kind, name in rows if name not in ignore}


def table_exists(conn: psycopg.Connection, table: str) -> bool:
    return bool(scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)))


class Column(NamedTuple):
    """A column as `table_columns` reads it from the catalog."""

    type: str  # with its length or precision: `character varying(100)`, exactly
    not_null: bool
    default: str | None  # the default's SQL, or None


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, Column]:
    """{column: Column} of a table in `public`, in the table's order ({} for no such table).

    From the catalog, not information_schema: the type keeps its length (`character varying(100)`,
    not `character varying`) and the default comes with it, which lessons 04 and 10 grade.
    """
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (f"public.{table}",),
    ).fetchall()
    return {column: Column(*info) for column, *info in rows}


def constraints(conn: psycopg.Connection, table: str) -> list[tuple[str, list[str], str | None]]:
    """[(kind, columns, referenced table)] with kind one of p, u, f, c."""
    rows = conn.execute(
        """
        SELECT con.contype,
               array(SELECT a.attname FROM unnest(con.conkey) k
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k
                     ORDER BY a.attname),
               con.confrelid::regclass::text
        FROM pg_constraint con WHERE con.conrelid = to_regclass(%s)
        """,
        (f"public.{table}",),
    ).fetchall()
    return [(kind, list(cols), None if ref == "-" else ref) for kind, cols, ref in rows]


def unique_indexes(conn: psycopg.Connection, table: str) -> list[list[str]]:
    """Column lists of unique indexes (covers UNIQUE constraints and unique=True indexes)."""
    rows = conn.execute(
        """
        SELECT array(SELECT a.attname FROM unnest(i.indkey) k
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k
                     ORDER BY a.attname)
        FROM pg_index i WHERE i.indrelid = to_regclass(%s) AND i.indisunique
        """,
        (f"public.{table}",),
    ).fetchall()
    return [list(row[0]) for row in rows]


def checksum(conn: psycopg.Connection, table: str, order_by: str = "1") -> str:
    """md5 over every row of a table in a fixed order: equal sums mean equal data."""
    query = f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order_by}), '')) FROM {table} t"
    return str(scalar(conn, query))


def schema_snapshot(conn: psycopg.Connection) -> dict[str, str]:
    """Everything in `public` a migration can change, as {"kind name": description}.

    Two snapshots are equal exactly when the schemas are: tables and their column order; each
    column's type, nullability, default, identity and generation; constraints (NOT NULL is part
    of the column) and indexes (one behind a constraint is part of the constraint) with their
    definitions; enum labels in order, domains; sequences and what owns them; views, triggers
    and functions with their definitions. Names are PostgreSQL's own (no OIDs), so a snapshot
    taken on one database compares with one taken on a copy of it.
    """
    snapshot: dict[str, str] = {}
    for table, names in conn.execute(
        """
        SELECT c.relname, array(SELECT a.attname FROM pg_attribute a
                                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                ORDER BY a.attnum)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    ):
        snapshot[f"table {table}"] = "columns " + ", ".join(names)
    for table, column, kind, not_null, default, identity, generated in conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
          AND NOT a.attisdropped
        """
    ):
        parts = [kind, "NOT NULL" if not_null else "NULL allowed"]
        parts.append(f"default {default}" if default and not generated else "no default")
        if identity:
            parts.append("identity " + {"a": "always", "d": "by default"}[identity])
        if generated:
            parts.append(f"generated as {default}")
        snapshot[f"column {table}.{column}"] = ", ".join(parts)
    for table, name, definition in conn.execute(
        """
        SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND con.contype <> 'n'
        """
    ):
        snapshot[f"constraint {name} on {table}"] = definition
    for name, definition in conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE n.nspname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)
        """
    ):
        snapshot[f"index {name}"] = definition
    for name, kind, labels, base in conn.execute(
        """
        SELECT t.typname, t.typtype,
               array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                     ORDER BY e.enumsortorder),
               format_type(t.typbasetype, t.typtypmod)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
        """
    ):
        snapshot[f"type {name}"] = (
            "enum (" + ", ".join(repr(label) for label in labels) + ")"
            if kind == "e"
            else f"domain over {base}"
        )
    for name, kind, owner in conn.execute(
        """
        SELECT s.relname, format_type(q.seqtypid, NULL),
               (SELECT t.relname || '.' || a.attname FROM pg_depend d
                JOIN pg_class t ON t.oid = d.refobjid
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.objid = s.oid AND d.classid = 'pg_class'::regclass
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
        FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid
        JOIN pg_namespace n ON n.oid = s.relnamespace WHERE n.nspname = 'public'
        """
    ):
        snapshot[f"sequence {name}"] = kind + (f", owned by {owner}" if owner else "")
    for name, definition in conn.execute(
        """
        SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
        """
    ):
        snapshot[f"view {name}"] = definition
    for table, name, definition in conn.execute(
        """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal
        """
    ):
        snapshot[f"trigger {name} on {table}"] = definition
    for signature, definition in conn.execute(
        """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        """
    ):
        snapshot[f"function {signature}"] = definition
    return snapshot


def snapshot_differences(
    before: dict[str, str], after: dict[str, str]
) -> list[tuple[str, str | None, str | None]]:
    """[(object, what it was or None, what it is now or None)] for every object that differs."""
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def table_checksums(conn: psycopg.Connection) -> dict[str, str]:
    """{table: md5 over its rows} for every table in `public`.

    Each row is read with its columns in name order and the rows are sorted by their text, so
    the sum depends on the data only: not on column order, physical order or a primary key.
    """
    sums: dict[str, str] = {}
    for table, names in conn.execute(
        """
        SELECT c.relname, array(SELECT quote_ident(a.attname) FROM pg_attribute a
                                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                ORDER BY a.attname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    ).fetchall():
        row = f"row({', '.join(names)})::text"
        sums[table] = scalar(
            conn,
            f"SELECT md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) "
            f"FROM public.{quote_ident(table)}",
        )
    return sums


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
