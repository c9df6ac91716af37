"""The graders, one per lesson: `lessonNN` (a module, or a package for the larger lessons).

Each declares `TASKS`, its rows in the README's order, and
`grade(project: Path, databases: Databases) -> list[Result]`; the runner (`course_db.runner`)
gives every grader the same set-up (the project's copy as the working directory, the databases'
URLs in the environment) and lists every task of `TASKS` in the report. What several graders use
is in `kit/`; the mutation harness of lessons 06 and 10 in `mutation/`.
"""
