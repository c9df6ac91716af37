"""Broken variants of the learner's own chain, for lesson 06's mutation harness.

Each variant is a copy of the learner's project whose revision files get a few lines appended:
the learner's `upgrade`/`downgrade` are kept and wrapped, so the variant differs from their chain
by exactly one bug, whatever their code looks like. The file names and revision ids stay the
same, so their tests cannot tell a variant from their chain by name, only by what it does.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from course_db.graders.mutation.harness import History

VERSIONS = Path("migrations/versions")
EXPAND, BACKFILL, CONTRACT = "0001_expand", "0002_backfill", "0003_contract"

HEADER = """

# --- added by the course's check: a broken variant of this chain (never in your folder) ---
from alembic import op as _course_op

_course_upgrade, _course_downgrade = upgrade, downgrade
"""

LOSES_PHONES = """
def downgrade():
    _course_op.execute("DELETE FROM customer_phones WHERE customer_id % 3 = 0")
    _course_downgrade()
"""

LEAVES_NULLS = """
def upgrade():
    _course_upgrade()
    _course_op.execute("UPDATE customers SET display_name = NULL WHERE id % 4 = 0")
"""

# The contract moves into 0002_backfill (while v2 still writes name and phone); 0003_contract then
# finds the columns already gone, so it gets empty ones back first and drops them again.
EARLY_CONTRACT_BACKFILL = """
def upgrade():
    _course_upgrade()
    _course_op.execute("ALTER TABLE customers DROP COLUMN name, DROP COLUMN phone")


def downgrade():
    _course_op.execute("ALTER TABLE customers ADD COLUMN name text, ADD COLUMN phone text")
    _course_op.execute("UPDATE customers SET name = display_name")
    _course_op.execute(
        "UPDATE customers AS c SET phone = p.phone FROM customer_phones AS p "
        "WHERE p.customer_id = c.id"
    )
    _course_downgrade()
"""
EARLY_CONTRACT_CONTRACT = """
def upgrade():
    _course_op.execute("ALTER TABLE customers ADD COLUMN name text, ADD COLUMN phone text")
    _course_upgrade()


def downgrade():
    _course_downgrade()
    _course_op.execute("ALTER TABLE customers DROP COLUMN name, DROP COLUMN phone")
"""


@dataclass(frozen=True)
class Variant:
    name: str  # what the learner reads when their tests miss it
    patches: tuple[tuple[str, str], ...]  # (revision, code appended to its file)


VARIANTS = (
    Variant(
        "a 0003_contract downgrade that loses the phone of every third customer",
        ((CONTRACT, LOSES_PHONES),),
    ),
    Variant(
        "a 0002_backfill that leaves display_name NULL for every fourth customer",
        ((BACKFILL, LEAVES_NULLS),),
    ),
    Variant(
        "a contract too early: 0002_backfill drops name and phone while v2 still uses them",
        ((BACKFILL, EARLY_CONTRACT_BACKFILL), (CONTRACT, EARLY_CONTRACT_CONTRACT)),
    ),
)


def histories(project: Path, workdir: Path) -> list[History]:
    """The learner's chain (must pass their tests) and one copy per variant (must fail them)."""
    found = [History("your own chain", project, should_pass=True)]
    for number, variant in enumerate(VARIANTS, 1):
        copy = workdir / f"variant{number}"
        shutil.copytree(
            project, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
        )
        for revision, code in variant.patches:
            path = copy / VERSIONS / f"{revision}.py"
            path.write_text(path.read_text(encoding="utf-8") + HEADER + code, encoding="utf-8")
        found.append(History(variant.name, copy, should_pass=False))
    return found
