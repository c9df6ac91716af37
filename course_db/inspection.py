"""Read a lesson database the way graders need to: schema objects, columns, data checksums."""

from __future__ import annotations

import psycopg


def connect(database_url: str) -> psycopg.Connection:
    """psycopg takes the same URL without SQLAlchemy's `+psycopg` driver name."""
    return psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://", 1))


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
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()[0]


def columns(conn: psycopg.Connection, table: str) -> dict[str, tuple[str, bool]]:
    """{column: (type, nullable)} of a table in `public`."""
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return {name: (kind, nullable) for name, kind, nullable in rows}


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
    row = conn.execute(
        f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order_by}), '')) FROM {table} t"
    ).fetchone()
    return row[0]
