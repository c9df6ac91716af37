"""merge Ana's and Ben's branches

Revision ID: 0004_merge_heads
Revises: 0003_order_status, 0002_user_phone
"""

revision = "0004_merge_heads"
# Both heads: the graph has one head again, and `upgrade head` runs whichever side is missing.
down_revision = ("0003_order_status", "0002_user_phone")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
