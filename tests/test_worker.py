"""The warm worker behind the notebook's `check()`: it answers like `course check` every time."""

from __future__ import annotations

from helpers import MODELS, REVISION, ProjectCopy, failure_text, replace

from course_db.worker import WorkerClient

DOWNGRADE_DOES_NOTHING = replace(REVISION, '    op.drop_table("author_slugs")', "    pass")


def test_worker_sees_edits_between_two_checks(project_copy: ProjectCopy) -> None:
    """The warm worker (the notebook's path) never caches learner code between checks."""
    folder = project_copy("solutions")
    revision = (folder / REVISION).read_text(encoding="utf-8")
    models = (folder / MODELS).read_text(encoding="utf-8")
    client = WorkerClient()
    try:
        DOWNGRADE_DOES_NOTHING(folder)
        report = client.check("01", folder)
        assert report.exit_code == 1 and "left behind" in failure_text(report), report.as_text()

        (folder / REVISION).write_text(revision, encoding="utf-8")  # the learner fixes it
        report = client.check("01", folder)
        assert report.passed, report.as_text()

        (folder / MODELS).write_text(
            models + '\nraise RuntimeError("models.py was read again")\n', encoding="utf-8"
        )
        report = client.check("01", folder)
        assert report.exit_code == 1, report.as_text()
        assert "models.py was read again" in failure_text(report)

        (folder / MODELS).write_text(models, encoding="utf-8")
        report = client.check("01", folder, timeout=20)
        assert report.passed, report.as_text()
    finally:
        client.close()
    assert not list(folder.rglob("__pycache__"))
