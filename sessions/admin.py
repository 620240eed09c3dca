from django.contrib import admin

from sessions.models import TrainingSession
from zea.workflows.admin import WorkflowAdmin


@admin.register(TrainingSession)
class TrainingSessionAdmin(WorkflowAdmin):
    list_display = ["execution_id", "coach", "athlete", "scheduled_start", "state", "created_at"]
    list_filter = ["state", "coach"]
    search_fields = ["=execution_id", "=booking__execution_id", "athlete__user__email", "coach__user__email"]
    fields = [
        "execution_id",
        "booking",
        "coach",
        "athlete",
        "scheduled_start",
        "scheduled_end",
        "state",
        "version",
        "deadline",
        "created_at",
        "updated_at",
        "timeline",
        "timers",
    ]
    readonly_fields = ["booking", "coach", "athlete", "scheduled_start", "scheduled_end"]
    list_select_related = ["coach__user", "athlete__user"]
