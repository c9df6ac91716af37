"""The IPython magics' argument handling (the magics themselves run in the notebooks)."""

from __future__ import annotations

import pytest

from course_db.magics import redirect

pytestmark = pytest.mark.server_agnostic


def test_alembic_magic_redirect_splits_the_file_from_the_arguments() -> None:
    sql = ["upgrade", "head", "--sql"]
    assert redirect([*sql, ">", "migration.sql"]) == (sql, "migration.sql")
    assert redirect([*sql, ">migration.sql"]) == (sql, "migration.sql")
    assert redirect(sql) == (sql, None)
