from django.contrib import admin

from sessions.models import Review, TrainingSession
from zea.workflows.admin import WorkflowAdmin


class ReviewInline(admin.TabularInline):
    model = Review
    fields = ["kind", "state", "deadline", "rating", "submitted_at", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TrainingSession)
class TrainingSessionAdmin(WorkflowAdmin):
    list_display = ["execution_id", "coach", "athlete", "scheduled_start", "state", "payable_minutes", "created_at"]
    list_filter = ["state", "coach"]
    search_fields = ["=execution_id", "=booking__execution_id", "athlete__user__email", "coach__user__email"]
    fields = [
        "execution_id",
        "booking",
        "coach",
        "athlete",
        "scheduled_start",
        "scheduled_end",
        "actual_start",
        "actual_end",
        "payable_minutes",
        "time_recorded_at",
        "state",
        "version",
        "deadline",
        "created_at",
        "updated_at",
        "timeline",
        "timers",
    ]
    readonly_fields = [
        "booking",
        "coach",
        "athlete",
        "scheduled_start",
        "scheduled_end",
        "actual_start",
        "actual_end",
        "payable_minutes",
        "time_recorded_at",
    ]
    list_select_related = ["coach__user", "athlete__user"]
    inlines = [ReviewInline]


@admin.register(Review)
class ReviewAdmin(WorkflowAdmin):
    list_display = ["execution_id", "session", "kind", "state", "deadline", "rating"]
    list_filter = ["kind", "state"]
    fields = [
        "execution_id",
        "session",
        "kind",
        "state",
        "deadline",
        "rating",
        "submitted_at",
        "text",
        "timeline",
        "timers",
    ]
    readonly_fields = ["session", "kind", "deadline", "rating", "submitted_at", "text"]
