"""Users and their roles: an athlete profile, a coach profile, or staff."""

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class LoginManager(UserManager):
    def get_by_natural_key(self, username):
        # Logins send the email lowercased; a username typed with capitals (createsuperuser,
        # the admin's add form) must still log in. Exact first: it is the usual case.
        try:
            return super().get_by_natural_key(username)
        except self.model.DoesNotExist:
            return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    """Logs in with its email as username; roles come from the profiles it has."""

    email = models.EmailField("email address")
    language = models.CharField(max_length=8, blank=True, help_text="Preferred language for emails.")

    objects = LoginManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique", condition=~models.Q(email="")),
        ]

    def save(self, *args, **kwargs):
        password_changed = self._password is not None  # set_password() since the last save
        super().save(*args, **kwargs)
        if password_changed:
            # A new password ends the API tokens issued under the old one, as Django ends
            # the sessions (a reset after a compromise must lock the holder out).
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()

    @property
    def is_athlete(self) -> bool:
        return hasattr(self, "athlete")

    @property
    def is_coach(self) -> bool:
        return hasattr(self, "coach")


# The email is the login's username, whose column holds 150 characters (AbstractUser's).
EMAIL_MAX_LENGTH = User._meta.get_field("username").max_length


class Athlete(models.Model):
    PROFILE_FIELDS = ("date_of_birth", "phone", "sport", "emergency_contact_name", "emergency_contact_phone")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="athlete")
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    sport = models.CharField(max_length=64, blank=True)
    emergency_contact_name = models.CharField(max_length=128, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.user.get_full_name() or self.user.email

    @property
    def missing_fields(self) -> list[str]:
        return [name for name in self.PROFILE_FIELDS if getattr(self, name) in (None, "")]


class Coach(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="coach")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "coaches"
        constraints = [
            models.CheckConstraint(condition=models.Q(hourly_rate__gte=0), name="coach_hourly_rate_non_negative"),
        ]

    def __str__(self):
        return self.user.get_full_name() or self.user.email

    @property
    def name(self) -> str:
        return str(self)
