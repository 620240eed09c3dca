"""Creating users with a role."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from zea.accounts.models import Coach
from zea.errors import Conflict, Invalid

User = get_user_model()


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def check_password(password: str, *, email: str, first_name: str = "", last_name: str = "") -> None:
    probe = User(username=email, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=probe)
    except DjangoValidationError as exc:
        raise Invalid(" ".join(exc.messages), code="invalid", errors={"password": exc.messages}) from None


def create_user(*, email: str, password: str, first_name: str, last_name: str, **extra) -> User:
    """A login user whose username is its (normalized) email; 409 `email_taken`."""
    email = User.objects.normalize_email(email).strip()
    if email_taken(email):
        raise Conflict(_("An account with this email already exists."), code="email_taken")
    check_password(password, email=email, first_name=first_name, last_name=last_name)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=email.lower(),
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                **extra,
            )
    except IntegrityError:
        # Lost a race with another registration of the same email.
        raise Conflict(_("An account with this email already exists."), code="email_taken") from None


@transaction.atomic
def create_coach(*, email: str, password: str, first_name: str, last_name: str, hourly_rate: Decimal) -> Coach:
    user = create_user(email=email, password=password, first_name=first_name, last_name=last_name)
    return Coach.objects.create(user=user, hourly_rate=hourly_rate)


def set_language(*, user: User, language: str) -> User:
    """The user's language for emails and API messages; "" follows the client's Accept-Language."""
    user.language = language
    user.save(update_fields=["language"])
    return user
