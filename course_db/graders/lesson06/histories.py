"""Lesson 06's migration histories: the good one, an equivalent rewrite, and six broken ones.

Every history is a copy of the solved project's migrations and models (`solutions/06_...`, which
learners do not edit; a test keeps them identical to the exercise's) with a few exact edits; the
solution's own `tests/` and README stay out. Paths and revision ids never change, so the
learner's tests cannot tell the histories apart by name: only what the migrations do differs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from course_db.graders.mutation.harness import History
from course_db.paths import ROOT

BASE = ROOT / "solutions" / "06_testing_migrations"
NOT_HISTORY = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "README.md")
V = "migrations/versions/"
USERS, POSTS, INDEX, RENAME = (
    V + "0001_create_users.py",
    V + "0002_create_posts.py",
    V + "0003_index_posts_user_id.py",
    V + "0004_rename_name.py",
)
Edits = dict[str, list[tuple[str, str]]]
IMPORT_SA = ("from alembic import op\n", "import sqlalchemy as sa\nfrom alembic import op\n")

REFORMATTED: Edits = {
    USERS: [
        (
            """    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )""",
            '''    op.execute(
        """
        CREATE TABLE users (
            id serial CONSTRAINT pk_users PRIMARY KEY,
            email varchar(255) NOT NULL CONSTRAINT uq_users_email UNIQUE,
            name varchar(100)
        )
        """
    )''',
        ),
        ('op.drop_table("users")', 'op.execute("DROP TABLE users")'),
    ],
    INDEX: [
        (
            'op.create_index("ix_posts_user_id", "posts", ["user_id"])',
            'op.execute("CREATE INDEX ix_posts_user_id ON posts (user_id)")',
        ),
        (
            'op.drop_index("ix_posts_user_id", table_name="posts")',
            'op.execute("DROP INDEX ix_posts_user_id")',
        ),
    ],
    RENAME: [
        (
            'op.alter_column("users", "name", new_column_name="display_name")',
            'op.execute("ALTER TABLE users RENAME COLUMN name TO display_name")',
        ),
        (
            'op.alter_column("users", "display_name", new_column_name="name")',
            'op.execute("ALTER TABLE users RENAME COLUMN display_name TO name")',
        ),
    ],
}

# name shown to the learner -> (the README task whose tests catch it, edits); each breaks one
# thing and keeps everything else working.
BROKEN: dict[str, tuple[int, Edits]] = {
    "a downgrade that leaves a table behind (0002 drops only the foreign key, not posts)": (
        1,
        {
            POSTS: [
                (
                    'op.drop_table("posts")',
                    'op.drop_constraint("fk_posts_user_id_users", "posts", type_="foreignkey")',
                )
            ]
        },
    ),
    "an index that its downgrade does not drop (0003)": (
        2,
        {
            INDEX: [
                (
                    'op.drop_index("ix_posts_user_id", table_name="posts")',
                    'op.execute("SELECT 1")',
                )
            ]
        },
    ),
    "a downgrade that loses data (0004 drops display_name and adds an empty name)": (
        3,
        {
            RENAME: [
                IMPORT_SA,
                (
                    'op.alter_column("users", "display_name", new_column_name="name")',
                    'op.drop_column("users", "display_name")\n'
                    '    op.add_column("users", sa.Column("name", sa.String(100), nullable=True))',
                ),
            ]
        },
    ),
    "an upgrade that loses data (0004 adds an empty display_name and drops name)": (
        3,
        {
            RENAME: [
                IMPORT_SA,
                (
                    'op.alter_column("users", "name", new_column_name="display_name")',
                    'op.add_column("users", sa.Column("display_name", sa.String(100), '
                    'nullable=True))\n    op.drop_column("users", "name")',
                ),
            ]
        },
    ),
    "two heads (0004 revises 0002, like 0003 does)": (
        1,
        {
            RENAME: [
                (
                    'down_revision: str | Sequence[str] | None = "0003_index_posts_user_id"',
                    'down_revision: str | Sequence[str] | None = "0002_create_posts"',
                )
            ]
        },
    ),
    "models that drift from the migrations (User has an avatar_url no revision creates)": (
        1,
        {
            "app/models.py": [
                (
                    "    display_name: Mapped[str | None] = mapped_column(String(100))\n",
                    "    display_name: Mapped[str | None] = mapped_column(String(100))\n"
                    "    avatar_url: Mapped[str | None] = mapped_column(String(500))\n",
                )
            ]
        },
    ),
}


def build(folder: Path, edits: Edits) -> Path:
    """A copy of the good history in `folder`, with `edits` applied (each must match once)."""
    shutil.copytree(BASE, folder, ignore=NOT_HISTORY)
    for relative, pairs in edits.items():
        path = folder / relative
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            if text.count(old) != 1:
                raise ValueError(f"lesson 06 history edit does not match once in {relative}")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return folder


def histories(root: Path) -> list[History]:
    """The good history, its rewrite, then every broken one, built under `root`."""
    built = [
        History("the exercise's migration history", build(root / "good", {}), True),
        History(
            "the same history written with op.execute (same schema, other code)",
            build(root / "reformatted", REFORMATTED),
            True,
        ),
    ]
    for index, (name, (_, edits)) in enumerate(BROKEN.items(), start=1):
        built.append(History(name, build(root / f"broken{index}", edits), False))
    return built


def task_of(history: History) -> int:
    """The README task whose tests should catch this broken history."""
    return BROKEN[history.name][0]
