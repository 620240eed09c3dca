"""API tokens: who holds one, read in a single query on every authenticated request."""

from functools import cache

from django.db import connection
from rest_framework.authtoken.models import Token

from zea import rows as sql_rows
from zea.accounts.models import Athlete, Coach, User

# The token, its user, and the user's role profiles (LEFT JOINs: most users have one).
MODELS = ((Token, "t"), (User, "u"), (Athlete, "a"), (Coach, "c"))


def holder(key: str) -> tuple[User, Token] | None:
    """The user holding token `key` (active or not) and the token, or None.

    Nearly every view checks `is_athlete`/`is_coach` or uses the profile, which would be
    one more round trip per request; here a profile comes with the user and a missing one
    is cached as absent. The query is written once: compiling this join with the ORM cost
    more than running it.
    """
    with connection.cursor() as cursor:
        cursor.execute(_query(), [key])
        row = cursor.fetchone()
    if row is None:
        return None
    (token, user, athlete, coach), _ = sql_rows.split(row, [model for model, _ in MODELS])
    token._state.fields_cache["user"] = user
    for name, profile in (("athlete", athlete), ("coach", coach)):
        user._state.fields_cache[name] = profile
        if profile is not None:
            profile._state.fields_cache["user"] = user
    return user, token


@cache
def _query() -> str:
    quote = connection.ops.quote_name
    table = {model: quote(model._meta.db_table) for model, _ in MODELS}
    selected = ", ".join(sql_rows.columns(model, alias) for model, alias in MODELS)
    return (
        f"SELECT {selected} FROM {table[Token]} t JOIN {table[User]} u ON u.id = t.user_id"
        f" LEFT JOIN {table[Athlete]} a ON a.user_id = u.id LEFT JOIN {table[Coach]} c ON c.user_id = u.id"
        " WHERE t.key = %s"
    )
