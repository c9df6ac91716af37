"""Alembic Migrations - a hands-on course: the course library."""
