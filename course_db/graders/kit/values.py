"""Database values in a message, written the way the learner would write them in SQL or Python."""

from __future__ import annotations


def show_value(value: object) -> str:
    """NULL, 'Ana', or a tuple of those: `('Ana', NULL)`; never Python's `None`."""
    if isinstance(value, tuple):
        return "(" + ", ".join(map(show_value, value)) + ")"
    return "NULL" if value is None else repr(value)
