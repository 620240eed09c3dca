from django.urls import path

from onboarding import api

urlpatterns = [
    path("onboarding/register/", api.RegisterView.as_view(), name="onboarding-register"),
    path("onboarding/me/", api.MyOnboardingView.as_view(), name="onboarding-me"),
    path("athletes/me/profile/", api.MyProfileView.as_view(), name="athlete-profile"),
]
