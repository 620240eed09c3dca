"""Telling which database constraint a write broke, to answer it as a domain outcome."""

from django.db import IntegrityError


def constraint_of(exc: IntegrityError) -> str | None:
    """The name of the database constraint an IntegrityError broke, if PostgreSQL said."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
