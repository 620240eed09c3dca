"""Admin for the engine's tables, and the base every workflow's admin builds on."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed
from django_fsm.admin import FSMAdminMixin

from zea.errors import DomainError
from zea.workflows import engine
from zea.workflows.models import AuditEvent, OutboxMessage, Timer
from zea.workflows.status import deadline_of, overdue_deadline


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_deadline())
        if self.value() == "no":
            return queryset.exclude(overdue_deadline())
        return queryset


class WorkflowAdmin(FSMAdminMixin, admin.ModelAdmin):
    """Lists with state counts, the timeline on each execution, and transition buttons
    that go through the engine (or the workflow's own service) like every other caller."""

    fsm_fields = ["state"]
    list_filter = ["state", OverdueFilter]
    date_hierarchy = "created_at"
    base_readonly = ["execution_id", "state", "version", "created_at", "updated_at", "deadline", "timeline", "timers"]
    change_list_template = "admin/workflows/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [*self.base_readonly, *super().get_readonly_fields(request, obj)]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="deadline")
    def deadline(self, obj):
        return deadline_of(obj.pk) or "—"

    @admin.display(description="timeline")
    def timeline(self, obj):
        events = AuditEvent.objects.filter(execution_id=obj.pk).order_by("seq")
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{} → <b>{}</b></td><td>{}</td></tr>",
            (
                (e.seq, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.transition, e.source or "∅", e.target, e.actor)
                for e in events
            ),
        )
        return format_html("<table class='zea-timeline'>{}</table>", rows)

    @admin.display(description="timers")
    def timers(self, obj):
        timers = Timer.objects.filter(execution_id=obj.pk).order_by("due_at")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((t.name, t.due_at.strftime("%Y-%m-%d %H:%M:%S"), _timer_status(t)) for t in timers),
        )
        return format_html("<table>{}</table>", rows)

    def changelist_view(self, request, extra_context=None):
        counts = dict(self.model.objects.values_list("state").annotate(n=Count("pk")).order_by())
        extra_context = {**(extra_context or {}), "state_counts": sorted(counts.items())}
        return super().changelist_view(request, extra_context=extra_context)

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        actor = engine.actor_of(request.user)
        service = getattr(self.model, "admin_transitions", {}).get(transition_name)
        try:
            if service:
                import_string(service)(obj, actor=actor)
            else:
                engine.transition(obj, transition_name, actor=actor)
        except (DomainError, FSMTransitionNotAllowed) as exc:
            self.message_user(request, f"{transition_name}: {exc}", level=messages.ERROR)
            return False
        self.message_user(request, f"{transition_name}: done.", level=messages.SUCCESS)
        return True

    def save_model(self, request, obj, form, change):
        # The state only moves through transitions; other fields are read-only here.
        if not change:
            super().save_model(request, obj, form, change)


def _timer_status(timer) -> str:
    if timer.fired_at:
        return f"fired {timer.fired_at:%Y-%m-%d %H:%M:%S} ({timer.outcome})"
    if timer.cancelled_at:
        return f"cancelled {timer.cancelled_at:%Y-%m-%d %H:%M:%S}"
    return "overdue" if timer.due_at < timezone.now() else "pending"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "workflow_type", "execution_id", "seq", "transition", "source", "target", "actor"]
    list_filter = ["workflow_type", "transition", "target"]
    search_fields = ["=execution_id"]
    date_hierarchy = "at"


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "workflow_type",
        "execution_id",
        "due_at",
        "is_deadline",
        "fired_at",
        "cancelled_at",
        "outcome",
    ]
    list_filter = [
        "workflow_type",
        "is_deadline",
        ("fired_at", admin.EmptyFieldListFilter),
        ("cancelled_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=execution_id"]
    date_hierarchy = "due_at"
    actions = ["fire_now"]

    @admin.action(description="Fire selected timers now (if due)")
    def fire_now(self, request, queryset):
        from zea.workflows import timers

        fired = sum(1 for pk in queryset.values_list("pk", flat=True) if timers.fire(pk))
        self.message_user(request, f"{fired} timer(s) fired.")

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and obj is None


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["pk", "template", "workflow_type", "created_at", "attempts", "status", "sent_at", "last_error"]
    list_filter = ["template", ("sent_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=execution_id"]
    actions = ["retry_now"]

    @admin.action(description="Retry delivery now")
    def retry_now(self, request, queryset):
        from zea.workflows import dispatch

        ids = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        queryset.filter(pk__in=ids).update(failed_at=None, attempts=0, next_attempt_at=timezone.now())
        dispatch.send_outbox(ids)
        self.message_user(request, f"{len(ids)} message(s) queued.")

    def has_change_permission(self, request, obj=None):
        return obj is None
