"""Onboarding endpoints: register, where am I, fill in my profile."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from onboarding import serializers as s
from onboarding import services
from zea.accounts.permissions import IsAthlete
from zea.api.throttling import ScopedRateThrottle
from zea.workflows.status import deadline_of


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=s.RegisterInput, responses={201: s.RegisterOutput})
    def post(self, request):
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        onboarding, token = services.register(**data.validated_data)
        out = {
            "athlete": onboarding.athlete,
            "execution_id": onboarding.pk,
            "state": onboarding.state,
            "deadline": deadline_of(onboarding.pk),
            "token": token,
        }
        return Response(s.RegisterOutput(out).data, status=status.HTTP_201_CREATED)


class MyOnboardingView(APIView):
    permission_classes = [IsAthlete]

    @extend_schema(responses=s.OnboardingOutput)
    def get(self, request):
        athlete = request.user.athlete
        onboarding = athlete.onboarding
        out = {
            "execution_id": onboarding.pk,
            "state": onboarding.state,
            "deadline": deadline_of(onboarding.pk),
            "missing_fields": athlete.missing_fields,
        }
        return Response(s.OnboardingOutput(out).data)


class MyProfileView(APIView):
    permission_classes = [IsAthlete]

    @extend_schema(responses=s.ProfileOutput)
    def get(self, request):
        athlete = request.user.athlete
        return Response(s.ProfileOutput(athlete, context={"onboarding": athlete.onboarding}).data)

    @extend_schema(request=s.ProfileInput, responses=s.ProfileOutput)
    def put(self, request):
        data = s.ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        onboarding = services.update_profile(user=request.user, **data.validated_data)
        return Response(s.ProfileOutput(onboarding.athlete, context={"onboarding": onboarding}).data)
