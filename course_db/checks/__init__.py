"""One grader per lesson: `lessonNN.grade(project, database_url) -> list of results`."""
