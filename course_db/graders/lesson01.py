"""Lesson 01's grader: a revision that creates `author_slugs` and fills it with slugs computed in
Python, and a downgrade that removes exactly that.

Runs in the isolated child, with the learner's project copied to `root` (its working
directory) and `databases.url` a fresh copy of the lesson's template, already in `DATABASE_URL`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import psycopg

from course_db.inprocess import alembic
from course_db.inspection import (
    checksum,
    connect,
    constraints,
    schema_objects,
    table_columns,
    table_exists,
    unique_indexes,
)
from course_db.lesson_databases import Databases
from course_db.report import Result

TABLE = "author_slugs"
EXAMPLES = 3
SHAPE = f"upgrade creates `{TABLE}` (author_id primary key -> authors.id, slug unique, not null)"
SLUGS = "every author has exactly the slug the README describes"
DOWNGRADE = "downgrade removes exactly what upgrade added"
AGAIN = "upgrade works again after the downgrade, with the same slugs"
TASKS = [(1, SHAPE), (2, SLUGS), (3, DOWNGRADE), (3, AGAIN)]


def reference_slug(author_id: int, name: str | None) -> str:
    """The README's rule: NFKD, drop what has no ASCII form, lowercase, runs of the rest -> '-'."""
    ascii_text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or f"author-{author_id}"


def expected_slugs(authors: list[tuple[int, str | None]]) -> dict[int, str]:
    """Slugs in id order; a slug already taken gets `-<id>` appended."""
    taken: set[str] = set()
    result: dict[int, str] = {}
    for author_id, name in sorted(authors, key=lambda row: row[0]):
        slug = reference_slug(author_id, name)
        if slug in taken:
            slug = f"{slug}-{author_id}"
        taken.add(slug)
        result[author_id] = slug
    return result


def grade(root: Path, databases: Databases) -> list[Result]:
    database_url = databases.url
    with connect(database_url) as conn:
        conn.autocommit = True
        before = schema_objects(conn)
        authors_sum = checksum(conn, "authors")
        authors = conn.execute("SELECT id, name FROM authors").fetchall()
    expected = expected_slugs(authors)

    results: list[Result] = []
    step = alembic(root, "upgrade", "head")
    if not step.ok:
        return [Result(1, SHAPE, False, step.explain())]
    with connect(database_url) as conn:
        results.append(_table_shape(conn))
        results.append(_slug_values(conn, expected, authors))
        first = _slugs(conn)
    results.extend(_round_trip(root, database_url, before, authors_sum, first))
    return results


def _table_shape(conn: psycopg.Connection) -> Result:
    name = SHAPE
    if not table_exists(conn, TABLE):
        return Result(1, name, False, f"After `alembic upgrade head` there is no table {TABLE}.")
    cols = table_columns(conn, TABLE)
    problems = []
    if set(cols) != {"author_id", "slug"}:
        problems.append(f"its columns are {sorted(cols)}; expected exactly author_id and slug")
    if "slug" in cols and not cols["slug"].not_null:
        problems.append("slug allows NULL: add nullable=False")
    cons = constraints(conn, TABLE)
    if ("p", ["author_id"], None) not in cons:
        problems.append("author_id is not the primary key")
    if not any(
        kind == "f" and cols_ == ["author_id"] and ref == "authors" for kind, cols_, ref in cons
    ):
        problems.append("author_id has no foreign key to authors.id")
    if ["slug"] not in unique_indexes(conn, TABLE):
        problems.append("slug is not unique: add unique=True (or a UniqueConstraint)")
    return Result(1, name, not problems, "; ".join(problems))


def _slug_values(
    conn: psycopg.Connection, expected: dict[int, str], authors: list[tuple[int, str | None]]
) -> Result:
    name = SLUGS
    if not table_exists(conn, TABLE) or {"author_id", "slug"} - set(table_columns(conn, TABLE)):
        return Result(2, name, False, f"Cannot read {TABLE}(author_id, slug): fix task 1 first.")
    got: dict[int, str] = dict(conn.execute(f"SELECT author_id, slug FROM {TABLE}").fetchall())
    if not got:
        return Result(
            2,
            name,
            False,
            f"{TABLE} is empty after the upgrade: read the authors with op.get_bind(), compute "
            "each slug in Python and insert the rows (op.bulk_insert).",
        )
    names = dict(authors)
    missing = [author_id for author_id in expected if author_id not in got]
    wrong = [
        author_id
        for author_id in expected
        if author_id in got and got[author_id] != expected[author_id]
    ]
    if not missing and not wrong:
        return Result(2, name, True)
    lines = []
    if missing:
        lines.append(
            f"{len(missing)} of {len(expected)} authors have no row, e.g. ids {missing[:5]}."
        )
    if wrong:
        lines.append(f"{len(wrong)} of {len(expected)} authors have a wrong slug, e.g.:")
        lines.extend(
            f"  author {author_id} {names[author_id]!r}: expected {expected[author_id]!r}, "
            f"got {got[author_id]!r}"
            for author_id in _diverse(wrong, expected)
        )
    return Result(2, name, False, "\n".join(lines))


def _diverse(ids: list[int], expected: dict[int, str]) -> list[int]:
    """A few examples that show different mistakes: a fallback, a duplicate, a plain one."""
    picks: list[int] = []
    kinds: list[Callable[[int], bool]] = [
        lambda i: expected[i].startswith("author-"),
        lambda i: expected[i].endswith(f"-{i}") and not expected[i].startswith("author-"),
        lambda i: True,
    ]
    for kind in kinds:
        found = next((i for i in ids if kind(i) and i not in picks), None)
        if found is not None:
            picks.append(found)
    return picks[:EXAMPLES]


def _slugs(conn: psycopg.Connection) -> dict[int, str]:
    """{author_id: slug} from the table, or {} if it (or a column) is missing: task 1 says why."""
    if not table_exists(conn, TABLE) or {"author_id", "slug"} - set(table_columns(conn, TABLE)):
        return {}
    return dict(conn.execute(f"SELECT author_id, slug FROM {TABLE}").fetchall())


def _round_trip(
    root: Path, database_url: str, before: set[str], authors_sum: str, first: dict[int, str]
) -> list[Result]:
    name = DOWNGRADE
    step = alembic(root, "downgrade", "base")
    if not step.ok:
        return [Result(3, name, False, step.explain())]
    with connect(database_url) as conn:
        after = schema_objects(conn, ignore=("alembic_version", "alembic_version_pkc"))
        problems = []
        if after - before:
            problems.append("left behind: " + ", ".join(sorted(after - before)))
        if before - after:
            problems.append("removed what it did not create: " + ", ".join(sorted(before - after)))
        if not problems and checksum(conn, "authors") != authors_sum:
            problems.append("the authors table's data changed; the migration must only read it")
    results = [Result(3, name, not problems, "; ".join(problems) + ("." if problems else ""))]
    if problems:
        return results
    again = AGAIN
    step = alembic(root, "upgrade", "head")
    if not step.ok:
        return [*results, Result(3, again, False, step.explain())]
    with connect(database_url) as conn:
        got = _slugs(conn)
    same = got == first  # the same as the first upgrade gave, right or wrong (task 2 grades those)
    return [
        *results,
        Result(3, again, same, "" if same else "The second upgrade gave other slugs."),
    ]
