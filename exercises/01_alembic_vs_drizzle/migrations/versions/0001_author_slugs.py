"""Create author_slugs: one URL slug per author, computed in Python.

Revision ID: 0001_author_slugs
Revises:
Create Date: 2026-01-12 09:00:00.000000

"""
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_author_slugs"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def slugify(author_id: int, name: str | None) -> str:
    """The README's rule for one author's slug."""
    # TODO: task 2. Normalize with unicodedata, keep ASCII letters and digits, join with "-".
    return f"author-{author_id}"


def upgrade() -> None:
    """Create author_slugs and fill it with one slug per author."""
    author_slugs = op.create_table(
        "author_slugs",
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("authors.id"), primary_key=True),
        sa.Column("slug", sa.Text(), nullable=False, unique=True),
    )
    # TODO: task 2. Read every author (op.get_bind()), compute the slugs, insert them.
    op.bulk_insert(author_slugs, [])


def downgrade() -> None:
    """Remove exactly what upgrade() added."""
    # TODO: task 3. Undo upgrade().
    pass
