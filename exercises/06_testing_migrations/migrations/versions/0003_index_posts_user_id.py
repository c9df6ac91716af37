"""Index posts.user_id: the app lists a user's posts.

Revision ID: 0003_index_posts_user_id
Revises: 0002_create_posts
Create Date: 2026-01-14 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_index_posts_user_id"
down_revision: str | Sequence[str] | None = "0002_create_posts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index."""
    op.create_index("ix_posts_user_id", "posts", ["user_id"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_posts_user_id", table_name="posts")
