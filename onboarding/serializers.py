import re
from datetime import date

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from zea.accounts.models import EMAIL_MAX_LENGTH

_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,22}$")


def validate_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if not _PHONE.match(value.strip()) or not 7 <= len(digits) <= 15:
        raise serializers.ValidationError(_("Enter a phone number of 7 to 15 digits, e.g. +34 600 123 456."))
    return value.strip()


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    language = serializers.ChoiceField(choices=["", "en", "es"], required=False, default="")


class RegisterOutput(serializers.Serializer):
    athlete_id = serializers.UUIDField(source="athlete.id")
    execution_id = serializers.UUIDField()
    state = serializers.CharField()
    deadline = serializers.DateTimeField()
    token = serializers.CharField()


class OnboardingOutput(serializers.Serializer):
    execution_id = serializers.UUIDField()
    state = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    missing_fields = serializers.ListField(child=serializers.CharField())


class ProfileInput(serializers.Serializer):
    date_of_birth = serializers.DateField()
    phone = serializers.CharField(max_length=32, validators=[validate_phone])
    sport = serializers.CharField(max_length=64)
    emergency_contact_name = serializers.CharField(max_length=128)
    emergency_contact_phone = serializers.CharField(max_length=32, validators=[validate_phone])

    def validate_date_of_birth(self, value: date) -> date:
        today = date.today()
        if value >= today:
            raise serializers.ValidationError(_("The date of birth must be in the past."))
        if value.year < today.year - 120:
            raise serializers.ValidationError(_("Enter a real date of birth."))
        return value


class ProfileOutput(serializers.Serializer):
    athlete_id = serializers.UUIDField(source="id")
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    date_of_birth = serializers.DateField(allow_null=True)
    phone = serializers.CharField()
    sport = serializers.CharField()
    emergency_contact_name = serializers.CharField()
    emergency_contact_phone = serializers.CharField()
    missing_fields = serializers.ListField(child=serializers.CharField())
    onboarding = serializers.SerializerMethodField()

    def get_onboarding(self, athlete) -> dict:
        onboarding = self.context["onboarding"]
        return {"execution_id": str(onboarding.pk), "state": onboarding.state}
