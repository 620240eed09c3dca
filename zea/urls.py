from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from zea.accounts.api import CoachCreateView, MeView, TokenView
from zea.api.errors import api_not_found
from zea.api.health import healthz
from zea.workflows.api import WorkflowDetailView, WorkflowListView

api = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    path("coaches/", CoachCreateView.as_view(), name="coach-create"),
    path("workflows/", WorkflowListView.as_view(), name="workflow-list"),
    path("workflows/<uuid:execution_id>/", WorkflowDetailView.as_view(), name="workflow-detail"),
    path("", include("onboarding.urls")),
    path("", include("bookings.urls")),
    path("", include("sessions.urls")),
    path("", include("payroll.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path(settings.ZEA_ADMIN_PATH, admin.site.urls),
    path("api/", include(api)),
]
