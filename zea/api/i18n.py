"""The language of a request: Accept-Language (or the language cookie), unless the
authenticated user chose one (`User.language`), which wins.

DRF authenticates inside the view, so a middleware never sees Token users; the user's
language is activated by the authentication classes instead, before permissions,
validation and the view run, so every message of the request is in that language.
"""

from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions

from zea.accounts import tokens


def preferred_language(user) -> str | None:
    """The user's own language if it is one we ship (e.g. "es"), else None (no preference)."""
    code = getattr(user, "language", "") or ""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


class UserLanguageMixin:
    """For a DRF authentication class: once the user is known, their language is the request's."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            language = preferred_language(result[0])
            if language:
                translation.activate(language)
                request._request.LANGUAGE_CODE = language
        return result


class TokenAuthentication(UserLanguageMixin, authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        """DRF's, with the user's role profiles in the same query (see `tokens.holder`)."""
        found = tokens.holder(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not found[0].is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return found


class SessionAuthentication(UserLanguageMixin, authentication.SessionAuthentication):
    pass


class SessionAuthenticationScheme(SessionScheme):
    """The OpenAPI schema documents it as DRF's session auth (the token one matches subclasses)."""

    target_class = SessionAuthentication


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except that the language ends with the request: the thread goes back to
    LANGUAGE_CODE, so nothing run after it (a test, a thread reused for other work)
    inherits one request's (or one user's) language."""

    def process_response(self, request, response):
        response = super().process_response(request, response)
        translation.deactivate()
        return response
