from django.contrib import admin

from onboarding.models import Onboarding
from zea.workflows.admin import WorkflowAdmin


@admin.register(Onboarding)
class OnboardingAdmin(WorkflowAdmin):
    list_display = ["execution_id", "athlete", "state", "deadline", "created_at"]
    search_fields = ["athlete__user__email", "=execution_id"]
    fields = [
        "execution_id",
        "athlete",
        "state",
        "version",
        "deadline",
        "created_at",
        "updated_at",
        "timeline",
        "timers",
    ]
    readonly_fields = ["athlete"]
    list_select_related = ["athlete__user"]
