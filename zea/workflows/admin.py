"""Admin for the engine's tables, and the base every workflow's admin builds on."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed
from django_fsm.admin import FSMAdminMixin

from zea.errors import DomainError
from zea.workflows import dashboard, diagrams, engine
from zea.workflows.models import AuditEvent, OutboxMessage, Timer, Workflow
from zea.workflows.registry import workflow_types
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
    change_form_template = "admin/workflows/change_form.html"
    # Drawn by the change form's execution panel (a template), not as form rows.
    panel_fields = ("timeline", "timers")

    def get_readonly_fields(self, request, obj=None):
        return [*self.base_readonly, *super().get_readonly_fields(request, obj)]

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name not in self.panel_fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context = {**(extra_context or {}), **self.execution_context(obj)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def execution_context(self, obj) -> dict:
        """The execution panel: timeline (who, when, from → to), pending timers, related objects."""
        now = timezone.now()
        events = list(AuditEvent.objects.filter(execution_id=obj.pk).order_by("seq"))
        timers = list(Timer.objects.filter(execution_id=obj.pk).order_by("due_at", "pk"))
        who = _actors(self.admin_site, [event.actor for event in events])
        return {
            "zea_now": now,
            "zea_time_zone": settings.ZEA_TIME_ZONE,
            "zea_events": [
                {"event": event, "who": who.get(event.actor), "local_at": _local(event.at)} for event in events
            ],
            "zea_pending_timers": [
                {"timer": t, "local_due": _local(t.due_at), "overdue": t.due_at < now} for t in timers if t.is_pending
            ],
            "zea_past_timers": [{"timer": t, "status": _timer_status(t)} for t in timers if not t.is_pending],
            "zea_related": related_objects(self.admin_site, obj),
        }

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
        extra_context = {
            **(extra_context or {}),
            "state_counts": sorted(counts.items()),
            "zea_diagram": mark_safe(diagrams.render(self.model)),  # our generator escapes its labels
        }
        return super().changelist_view(request, extra_context=extra_context)

    def _offered(self, obj, transition_name: str) -> bool:
        """A step this admin shows a button for. Any other name posted (a hand-made request)
        is refused: steps without a button are the timers' and the services' own, and run
        alone they would skip what goes with them (a refund, a deactivated user)."""
        transitions = getattr(obj, f"get_all_{self.fsm_fields[0]}_transitions")()
        return any(t.name == transition_name and self.is_fsm_transition_visible(t) for t in transitions)

    def response_change(self, request, obj):
        name = request.POST.get(self.fsm_post_param)
        if name and not self._offered(obj, name):
            self.message_user(request, f"{name}: not a step offered here.", level=messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        if not self._offered(obj, transition_name):
            self.message_user(request, f"{transition_name}: not a step offered here.", level=messages.ERROR)
            return False
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


def _local(moment):
    return timezone.localtime(moment, ZoneInfo(settings.ZEA_TIME_ZONE)) if moment else None


def _change_url(site, obj) -> str | None:
    model = type(obj)
    if not site.is_registered(model):
        return None
    return reverse(f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])


def _actors(site, actors) -> dict:
    """`user:<id>` -> {name, url}; the audit keeps ids only, the admin may show who they are."""
    ids = {actor.split(":", 1)[1] for actor in actors if actor.startswith("user:")}
    users = get_user_model().objects.filter(pk__in=[i for i in ids if i.isdigit()])
    return {f"user:{u.pk}": {"name": u.get_full_name() or u.get_username(), "url": _change_url(site, u)} for u in users}


def related_objects(site, obj) -> list[dict]:
    """What this execution is about and what hangs off it: its foreign keys, the workflows
    pointing back at it, the athlete's onboarding, and payroll's month of sessions."""
    found = []

    def add(label, target=None, url=None, text=None):
        if target is not None or url:
            found.append({"label": label, "text": text or str(target), "url": url or _change_url(site, target)})

    for field in obj._meta.get_fields():
        if not field.is_relation:
            continue
        if field.concrete and (field.many_to_one or field.one_to_one):
            add(field.verbose_name, getattr(obj, field.name, None))
        elif field.auto_created and field.one_to_one:
            try:
                add(field.related_model._meta.verbose_name, getattr(obj, field.get_accessor_name()))
            except ObjectDoesNotExist:
                pass
        elif field.auto_created and field.one_to_many and issubclass(field.related_model, Workflow):
            for target in getattr(obj, field.get_accessor_name()).all()[:20]:
                add(field.related_model._meta.verbose_name, target, text=f"{target} ({target.state})")
    athlete = getattr(obj, "athlete", None)
    onboarding_model = workflow_types().get("onboarding")
    if athlete is not None and onboarding_model is not None and not isinstance(obj, onboarding_model):
        add("onboarding", onboarding_model.objects.filter(athlete=athlete).first())
    _payroll_links(obj, add)
    return found


def _payroll_links(obj, add) -> None:
    payroll = workflow_types().get("payroll")
    session = workflow_types().get("session")
    if payroll is None or session is None:
        return
    if isinstance(obj, session) and obj.actual_start:
        local = _local(obj.actual_start)
        add("payroll report", payroll.objects.filter(month=local.date().replace(day=1)).first())
    if isinstance(obj, payroll):
        tz = ZoneInfo(obj.time_zone or settings.ZEA_TIME_ZONE)
        start, end = dashboard.month_bounds(datetime(obj.month.year, obj.month.month, 15, tzinfo=tz))
        url = dashboard.changelist(session, actual_start__gte=start.isoformat(), actual_start__lt=end.isoformat())
        add("sessions", url=url, text=f"sessions recorded in {obj.month:%Y-%m}")


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
