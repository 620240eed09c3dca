import uuid

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.template.response import TemplateResponse

from bookings import services
from bookings.models import Booking, CreditAccount, CreditTransaction, IdempotencyKey, Slot
from zea.errors import DomainError
from zea.workflows.admin import WorkflowAdmin


class SlotForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = ["coach", "starts_at", "ends_at", "capacity", "price_credits"]

    def clean(self):
        # The same rules as the API, so the database constraints never surface as a 500 here.
        data = super().clean()
        coach, starts_at, ends_at = data.get("coach"), data.get("starts_at"), data.get("ends_at")
        if coach and starts_at and ends_at:
            if self.instance._state.adding or {"starts_at", "ends_at"} & set(self.changed_data):
                try:
                    services.check_slot_times(starts_at=starts_at, ends_at=ends_at)
                except DomainError as exc:
                    raise forms.ValidationError(exc.detail) from None
            elif ends_at <= starts_at:
                raise forms.ValidationError("A slot must end after it starts.")
            overlap = services.overlapping_slots(
                coach_id=coach.pk, starts_at=starts_at, ends_at=ends_at, exclude_id=self.instance.pk
            )
            if overlap.exists():
                raise forms.ValidationError("The coach already has a slot overlapping this time.")
        capacity = data.get("capacity")
        if capacity is not None and capacity < self.instance.booked_count:
            raise forms.ValidationError(f"{self.instance.booked_count} place(s) are booked; capacity cannot be lower.")
        return data


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    form = SlotForm
    list_display = ["starts_at", "ends_at", "coach", "capacity", "booked_count", "price_credits"]
    list_filter = ["coach"]
    date_hierarchy = "starts_at"
    search_fields = ["=id", "coach__user__email"]
    list_select_related = ["coach__user"]
    readonly_fields = ["booked_count", "created_at"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # Django runs a change form's POST in one transaction: reading the slot under its
        # lock there makes a booking committing meanwhile wait, so the save cannot put an
        # older booked_count back, nor the checks below miss a place just taken.
        match = request.resolver_match
        if request.method == "POST" and match is not None and match.url_name == "bookings_slot_change":
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def get_readonly_fields(self, request, obj=None):
        # Booked slots keep their coach and times: their sessions were scheduled from them.
        if obj is not None and obj.booked_count:
            return [*self.readonly_fields, "coach", "starts_at", "ends_at", "price_credits"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.bookings.exists()


@admin.register(Booking)
class BookingAdmin(WorkflowAdmin):
    list_display = ["execution_id", "athlete", "slot", "state", "credits_debited", "credits_refunded", "created_at"]
    search_fields = ["=execution_id", "athlete__user__email", "=slot__id"]
    fields = [
        "execution_id",
        "athlete",
        "slot",
        "state",
        "credits_debited",
        "credits_refunded",
        "version",
        "created_at",
        "updated_at",
        "timeline",
    ]
    readonly_fields = ["athlete", "slot", "credits_debited", "credits_refunded"]
    list_select_related = ["athlete__user", "slot__coach__user"]


class LedgerInline(admin.TabularInline):
    model = CreditTransaction
    fields = ["created_at", "kind", "amount", "reason", "booking", "created_by"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GrantForm(forms.Form):
    amount = forms.IntegerField(min_value=1, max_value=100000)
    reason = forms.CharField(max_length=200)
    # Drawn when the form is shown; a second submission of it (a double click, the
    # browser's resend) grants nothing more.
    once = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["athlete", "balance", "updated_at"]
    search_fields = ["athlete__user__email", "=athlete__id"]
    list_select_related = ["athlete__user"]
    readonly_fields = ["balance", "updated_at"]
    inlines = [LedgerInline]
    actions = ["grant_credits"]

    def get_readonly_fields(self, request, obj=None):
        # Adding an account (balance 0, empty ledger) picks the athlete; after that nothing is editable.
        return [*self.readonly_fields, "athlete"] if obj is not None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        # View-only once it exists: a save would write back the balance it read, over a
        # booking committed meanwhile. Credits move through the grant action and bookings.
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Grant credits to the selected athletes")
    def grant_credits(self, request, queryset):
        form = GrantForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            grant = {name: form.cleaned_data[name] for name in ("amount", "reason")}
            key = f"admin-grant:{form.cleaned_data['once']}"
            with transaction.atomic():
                try:
                    with transaction.atomic():  # a twin submission waits here, then finds the key
                        IdempotencyKey.objects.create(user=request.user, key=key, fingerprint="", status=200, body={})
                except IntegrityError:
                    self.message_user(
                        request, "These credits were already granted; nothing was added.", messages.WARNING
                    )
                    return None
                for account in queryset:
                    services.grant_credits(athlete_id=account.athlete_id, by=request.user, **grant)
            self.message_user(
                request,
                f"Granted {form.cleaned_data['amount']} credit(s) to {queryset.count()} athlete(s).",
                level=messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant credits",
            "form": form,
            "accounts": queryset.select_related("athlete__user"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/grant_credits.html", context)


@admin.register(CreditTransaction)
class CreditTransactionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "amount", "reason", "booking", "created_by"]
    list_filter = ["kind"]
    search_fields = ["account__athlete__user__email", "=booking__execution_id"]
    list_select_related = ["account__athlete__user", "created_by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
