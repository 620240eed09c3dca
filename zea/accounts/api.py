"""Auth tokens, the caller's own account (language preference) and coach accounts."""

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from zea.accounts import services
from zea.accounts.models import EMAIL_MAX_LENGTH
from zea.accounts.permissions import IsStaff
from zea.api.throttling import ScopedRateThrottle, SimpleRateThrottle
from zea.errors import DomainError


class LoginUsernameThrottle(SimpleRateThrottle):
    """Attempts per username, from any address: password guessing against one account
    is slowed even when spread over many clients."""

    scope = "login_user"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()  # no emails in cache keys
        return self.cache_format % {"scope": self.scope, "ident": digest}


class TokenView(APIView):
    """Exchange a username (the email) and password for an API token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle, LoginUsernameThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

        class Meta:
            ref_name = "TokenInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request, username=data.validated_data["username"].strip().lower(), password=data.validated_data["password"]
        )
        if user is None:
            raise DomainError(
                gettext_lazy("Unable to log in with the provided credentials."), code="invalid_credentials"
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    """The caller's own account; PATCH sets its language (emails and API messages)."""

    class InputSerializer(serializers.Serializer):
        language = serializers.ChoiceField(
            choices=["", *(code for code, _name in settings.LANGUAGES)],
            required=False,
            help_text='"en", "es", or "" to follow Accept-Language.',
        )

        class Meta:
            ref_name = "MeInput"

    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField(source="pk")
        email = serializers.EmailField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        language = serializers.CharField()

        class Meta:
            ref_name = "MeOutput"

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user
        if "language" in data.validated_data:
            user = services.set_language(user=user, language=data.validated_data["language"])
        return Response(self.OutputSerializer(user).data)


class CoachCreateView(APIView):
    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        first_name = serializers.CharField(max_length=150)
        last_name = serializers.CharField(max_length=150)
        hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)

        class Meta:
            ref_name = "CoachInput"

    class OutputSerializer(serializers.Serializer):
        coach_id = serializers.UUIDField(source="id")
        user_id = serializers.IntegerField()
        email = serializers.EmailField(source="user.email")
        first_name = serializers.CharField(source="user.first_name")
        last_name = serializers.CharField(source="user.last_name")
        hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coach = services.create_coach(**data.validated_data)
        return Response(self.OutputSerializer(coach).data, status=status.HTTP_201_CREATED)
