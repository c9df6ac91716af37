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
    # NFKD splits "é" into "e" + a combining accent; encoding to ASCII drops the accent.
    ascii_text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or f"author-{author_id}"


def upgrade() -> None:
    """Create author_slugs and fill it with one slug per author."""
    author_slugs = op.create_table(
        "author_slugs",
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("authors.id"), primary_key=True),
        sa.Column("slug", sa.Text(), nullable=False, unique=True),
    )
    authors = op.get_bind().execute(sa.text("SELECT id, name FROM authors ORDER BY id"))
    rows, taken = [], set()
    for author_id, name in authors:
        slug = slugify(author_id, name)
        # In id order, the first author keeps a slug; later ones get their id appended.
        if slug in taken:
            slug = f"{slug}-{author_id}"
        taken.add(slug)
        rows.append({"author_id": author_id, "slug": slug})
    op.bulk_insert(author_slugs, rows)


def downgrade() -> None:
    """Remove exactly what upgrade() added: the author_slugs table (its rows go with it)."""
    op.drop_table("author_slugs")
