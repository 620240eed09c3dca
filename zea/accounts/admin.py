from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from zea.accounts.models import Athlete, Coach, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [*BaseUserAdmin.fieldsets, ("Preferences", {"fields": ["language"]})]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]


@admin.register(Athlete)
class AthleteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "sport", "created_at"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request):
        # An athlete comes from registering, with its onboarding workflow; one added here
        # would have none, and every onboarding and profile endpoint would fail for it.
        return False


class CoachForm(forms.ModelForm):
    class Meta:
        model = Coach
        fields = ["user", "hourly_rate"]

    def clean_user(self):
        # One role per login, as the API makes them: an athlete who also coached could
        # book, rate and be paid for their own sessions.
        user = self.cleaned_data["user"]
        if Athlete.objects.filter(user=user).exists():
            raise forms.ValidationError("This user is an athlete; a coach needs a login of its own.")
        return user


@admin.register(Coach)
class CoachAdmin(admin.ModelAdmin):
    form = CoachForm
    list_display = ["__str__", "user", "hourly_rate", "created_at"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]
