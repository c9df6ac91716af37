"""Lesson 02's grader: the solution and equivalent ones pass, the starter and every mutant fail with
a message that names the problem and the fix, bad input is a clear failure, and a check never
writes to the learner's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GradeMutant, Mutation, append, replace

from course_db.graders.lesson02 import DECOY_DB, MIGRATED, plant_decoy
from course_db.lessons import get_lesson

LESSON = get_lesson("02")

ENV = Path("migrations/env.py")


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 3, 4]
STARTER_FAILS = [1, 1, 2, 3]  # offline mode already works: task 4
STARTER_SAYS = [
    "env.py connected to the URL in alembic.ini",
    "fell back to the URL in alembic.ini",
    "synchronous engine (PGDialect_psycopg)",
    "Fix task 1 first",
]


ASYNC_FROM_INI = (
    "    engine = create_async_engine(database_url(), poolclass=pool.NullPool)\n",
    "    engine = async_engine_from_config(\n"
    "        config.get_section(config.config_ini_section, {}),\n"
    '        prefix="sqlalchemy.",\n'
    "        poolclass=pool.NullPool,\n"
    "    )\n",
    "from sqlalchemy.ext.asyncio import create_async_engine",
    "from sqlalchemy.ext.asyncio import async_engine_from_config, create_async_engine",
)

SYNC_ONLINE = (
    "    asyncio.run(run_async_migrations())",
    "    from sqlalchemy import create_engine\n\n"
    "    engine = create_engine(database_url(), poolclass=pool.NullPool)\n"
    "    with engine.connect() as connection:\n"
    "        do_run_migrations(connection)\n"
    "    engine.dispose()",
)

# mutation, the task of the first failure, phrases the failures must contain
MUTANTS: dict[str, tuple[Mutation, int, list[str]]] = {
    "online_url_from_alembic_ini": (
        replace(ENV, *ASYNC_FROM_INI),
        1,
        ["env.py connected to the URL in alembic.ini", repr(DECOY_DB)],
    ),
    "falls_back_to_alembic_ini": (
        replace(
            ENV,
            '    url = os.environ.get("DATABASE_URL")\n',
            '    url = os.environ.get("DATABASE_URL")'
            ' or config.get_main_option("sqlalchemy.url")\n',
        ),
        1,
        ["With DATABASE_URL unset", "fell back to the URL in alembic.ini"],
    ),
    "offline_reads_alembic_ini": (
        replace(
            ENV,
            "        url=database_url(),\n",
            '        url=config.get_main_option("sqlalchemy.url"),\n',
        ),
        1,
        ["`alembic upgrade head --sql` still wrote SQL", "run_migrations_offline()"],
    ),
    "unset_url_error_names_nothing": (
        replace(
            ENV,
            '        raise SystemExit("DATABASE_URL is not set: export it, or run `course alembic '
            '02 -- ...`.")\n',
            '        raise SystemExit("no URL")\n',
        ),
        1,
        ["its error does not say that DATABASE_URL is missing", "SystemExit: no URL"],
    ),
    "sync_engine_kept": (
        replace(ENV, *SYNC_ONLINE),
        2,
        ["synchronous engine (PGDialect_psycopg)", "create_async_engine()"],
    ),
    "asyncio_run_missing": (
        replace(ENV, "    asyncio.run(run_async_migrations())", "    run_async_migrations()"),
        1,
        ["env.py migrated nothing there", "was never awaited", "asyncio.run(run_async_migrations"],
    ),
    "target_metadata_none": (
        replace(ENV, "target_metadata = Base.metadata", "target_metadata = None"),
        3,
        ["target_metadata is None", "Base.metadata"],
    ),
    "target_metadata_empty": (
        replace(
            ENV,
            "target_metadata = Base.metadata",
            "from sqlalchemy import MetaData\n\ntarget_metadata = MetaData()",
        ),
        3,
        ["drop table posts", "drop table users", "describes none of these tables"],
    ),
    "offline_connects": (
        replace(
            ENV,
            "    context.configure(\n        url=database_url(),",
            "    run_migrations_online()\n    return\n    context.configure(\n"
            "        url=database_url(),",
        ),
        4,
        ["Offline mode opened a connection"],
    ),
}


# other ways to do what the README asks: each must pass
EQUIVALENT: dict[str, Mutation] = {
    # The seed's way: the ini's section as a dict, its URL replaced before the engine is built.
    "seed_style_async_engine_from_config": replace(
        ENV,
        *ASYNC_FROM_INI[:2],
        "    engine = async_engine_from_config(\n"
        "        config.get_section(config.config_ini_section, {}),\n",
        "    section = config.get_section(config.config_ini_section, {})\n"
        '    section["sqlalchemy.url"] = database_url()\n'
        "    engine = async_engine_from_config(\n"
        "        section,\n",
        *ASYNC_FROM_INI[2:],
    ),
    "os_environ_keyerror": replace(
        ENV,
        '    url = os.environ.get("DATABASE_URL")\n    if not url:\n'
        '        raise SystemExit("DATABASE_URL is not set: export it, or run `course alembic '
        '02 -- ...`.")\n    return url\n',
        '    return os.environ["DATABASE_URL"]\n',
    ),
}


BAD_INPUT: dict[str, tuple[Mutation, list[str]]] = {
    "syntax_error": (
        append(ENV, "\n\ndef broken(:\n    pass\n"),
        ["env.py does not load", "SyntaxError", 'File "migrations/env.py", line'],
    ),
    "wrong_models_import": (
        replace(ENV, "from app.models import Base", "from models import Base"),
        ["env.py does not load", "No module named 'models'", "(at migrations/env.py, line"],
    ),
}


NOT_CHECKED = f"Not checked: task 1 must pass first ({MIGRATED})."


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_check_bad_input_is_one_clear_failure(grade_mutant: GradeMutant, case: str) -> None:
    mutate, phrases = BAD_INPUT[case]
    report = grade_mutant(mutate)
    first, *others = report.results
    assert [result.message for result in others] == [NOT_CHECKED] * 4, report.as_text()
    for phrase in phrases:
        assert phrase in first.message, report.as_text()


@pytest.mark.parametrize(
    ("ini", "expected"),
    [
        ("[alembic]\nscript_location = x\n", "[alembic]\nsqlalchemy.url = {url}\nscript_location"),
        ("[alembic]\nsqlalchemy.url = driver://u:p@h/db\n", "[alembic]\nsqlalchemy.url = {url}\n"),
        ("[alembic]\nsqlalchemy.url=\n[loggers]\n", "[alembic]\nsqlalchemy.url = {url}\n[loggers]"),
    ],
)
def test_plant_decoy_sets_one_url_and_escapes_percent(
    tmp_path: Path, ini: str, expected: str
) -> None:
    path = tmp_path / "alembic.ini"
    path.write_text(ini, encoding="utf-8")
    plant_decoy(path, "postgresql+psycopg://app:p%40ss@db.example:5432/app")
    url = f"postgresql+psycopg://app:p%%40ss@db.example:5432/{DECOY_DB}"
    text = path.read_text(encoding="utf-8")
    assert expected.format(url=url) in text
    assert text.count("sqlalchemy.url") == 1
