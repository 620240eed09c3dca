"""DRF permissions by role."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = _("Staff only.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsAthlete(BasePermission):
    message = _("Athletes only.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_athlete)


class IsCoach(BasePermission):
    message = _("Coaches only.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_coach)


class IsStaffOrCoach(BasePermission):
    message = _("Staff or coaches only.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.is_coach))
