"""The mutation harness: a learner's migration tests must pass on good histories and fail on
broken ones (lessons 06 and 10).

- `harness`: runs pytest on the learner's tests once per history, in parallel, and turns the runs
  into results (its docstring is the harness's API).
- `plugin`: the course's pytest plugin inside each run (a fresh database per test).
- `output`: pytest's output, trimmed for the learner.
"""
